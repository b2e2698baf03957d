"""Admin roles and what each may do (docs/admin.md, 'Roles'), from a group or role claim of the employee's ID token.

Pure rules, no I/O: the claim's values are mapped to roles by ADMIN_ROLE_MAP; a value the map does not name
gives nothing, so an employee without a mapped group gets no access at all (403).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any


class Role(StrEnum):
    BEHEERDER = "beheerder"  # the register's administrator: everything
    FG = "fg"  # the privacy officer (functionaris gegevensbescherming): reads the report, integrity and audit


class Permission(StrEnum):
    CLIENTS = "clients"  # list, create, rotate, revoke API clients
    VAR = "var"  # list, create, change, retire, import processing activities
    REPORT = "report"  # read the doelbinding report
    INTEGRITY = "integrity"  # read the checkpoint status and the last verify result
    VERIFY = "verify"  # run verify now
    AUDIT = "audit"  # read the audit trail
    CONTROLE = "controle"  # the FG's tools: who processed whom, signals of misuse (docs/fg.md)


PERMISSIONS: Mapping[Role, frozenset[Permission]] = {
    Role.BEHEERDER: frozenset(Permission),
    Role.FG: frozenset({Permission.REPORT, Permission.INTEGRITY, Permission.AUDIT, Permission.CONTROLE}),
}


class RoleMapError(ValueError):
    """ADMIN_ROLE_MAP names a role that does not exist: refused at start-up."""


def check_role_map(mapping: Mapping[str, str]) -> dict[str, Role]:
    known = ", ".join(r.value for r in Role)
    out = {}
    for value, role in mapping.items():
        try:
            out[value] = Role(role)
        except ValueError:
            raise RoleMapError(
                f"ADMIN_ROLE_MAP maps {value!r} to {role!r}, which is not a role; use one of: {known}."
            ) from None
    return out


def claim_values(claims: Mapping[str, Any], path: str) -> list[str]:
    """The strings at a claim: a string, a list of strings, or (dotted path) inside objects, as Keycloak's
    `realm_access.roles`. A claim named with a dot is found as such first."""
    found: Any = claims.get(path)
    if found is None and "." in path:
        found = claims
        for part in path.split("."):
            found = found.get(part) if isinstance(found, Mapping) else None
    if isinstance(found, str):
        return [found]
    if isinstance(found, list | tuple):
        return [v for v in found if isinstance(v, str)]
    return []


def roles_from_claims(claims: Mapping[str, Any], claim: str, mapping: Mapping[str, Role]) -> tuple[Role, ...]:
    """The roles the claim's values map to, in a stable order (may be empty: no access)."""
    wanted = {mapping[v] for v in claim_values(claims, claim) if v in mapping}
    return tuple(r for r in Role if r in wanted)


def allowed(roles: Iterable[str], permission: Permission) -> bool:
    """Whether any of the roles (as kept in the session) grants the permission; unknown names grant nothing."""
    known = {r.value: r for r in Role}
    return any(permission in PERMISSIONS[known[r]] for r in roles if r in known)
