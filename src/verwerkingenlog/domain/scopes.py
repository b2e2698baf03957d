"""Scopes and the authorisation matrix (§5). Each function is one row group of §5.2.

Functions raise `PermissionDenied` (403) or return the set of visible confidentiality values.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from verwerkingenlog.domain.errors import PermissionDenied
from verwerkingenlog.domain.values import Vertrouwelijkheid

N, V, OPG = Vertrouwelijkheid.NORMAAL, Vertrouwelijkheid.VERTROUWELIJK, Vertrouwelijkheid.OPGEHEVEN

CREATE_NORMAL: Final = "create:normal"
CREATE_CONFIDENTIAL: Final = "create:confidential"
READ_NORMAL: Final = "read:normal"
READ_CONFIDENTIAL: Final = "read:confidential"
UPDATE_NORMAL: Final = "update:normal"
UPDATE_CONFIDENTIAL: Final = "update:confidential"
DELETE_NORMAL: Final = "delete:normal"
DELETE_CONFIDENTIAL: Final = "delete:confidential"

ALL_SCOPES: Final[tuple[str, ...]] = (
    CREATE_NORMAL,
    CREATE_CONFIDENTIAL,
    READ_NORMAL,
    READ_CONFIDENTIAL,
    UPDATE_NORMAL,
    UPDATE_CONFIDENTIAL,
    DELETE_NORMAL,
    DELETE_CONFIDENTIAL,
)
NORMAL_SCOPES: Final[tuple[str, ...]] = tuple(s for s in ALL_SCOPES if s.endswith(":normal"))

# §17.2/§17.4 (AMB-47): scopes the VAR OAS names that the log APIs do not know. `read:restricted` was
# abolished for the log; `zaken.lezen` is copied from ZGW. They grant reading the VAR and nothing else.
READ_RESTRICTED: Final = "read:restricted"
ZAKEN_LEZEN: Final = "zaken.lezen"
VAR_READ_SCOPES: Final[tuple[str, ...]] = (READ_NORMAL, READ_CONFIDENTIAL, READ_RESTRICTED, ZAKEN_LEZEN)
# Extension scopes (decisions.md 5): managing the VAR, and the privacy officer's (FG) doelbinding report.
VAR_WRITE: Final = "var:write"
FG_READ: Final = "fg:read"
EXTENSION_SCOPES: Final[tuple[str, ...]] = (READ_RESTRICTED, ZAKEN_LEZEN, VAR_WRITE, FG_READ)
# Every scope a client registration may hold.
KNOWN_SCOPES: Final[tuple[str, ...]] = ALL_SCOPES + EXTENSION_SCOPES


def _has(scopes: Iterable[str], name: str) -> bool:
    return name in scopes


def require_family(scopes: frozenset[str], family: str) -> None:
    """§4.9 step 2 / R-SCOPE-2: the caller needs at least one scope of the operation's family.

    Only the log's own scopes (§5.1) count: `read:restricted` (VAR only, §17.4) opens nothing here.
    """
    if not any(s.startswith(family + ":") and s in ALL_SCOPES for s in scopes):
        raise PermissionDenied(f"This operation requires a '{family}:normal' or '{family}:confidential' scope.")


def check_create(scopes: frozenset[str], body: Vertrouwelijkheid) -> None:
    """R-POST-1..3, R-SCOPE-3: normaal for every registered client, vertrouwelijk with
    create:confidential, opgeheven never (AMB-25)."""
    if body is OPG:
        raise PermissionDenied("An action cannot be created with vertrouwelijkheid 'opgeheven'.")
    if body is V and not _has(scopes, CREATE_CONFIDENTIAL):
        raise PermissionDenied("Creating a 'vertrouwelijk' action requires the scope create:confidential.")


def check_list(scopes: frozenset[str], filter_values: frozenset[Vertrouwelijkheid] | None) -> None:
    """R-GETL-6 (AMB-05): read:normal only with a vertrouwelijkheid filter of exactly {normaal}."""
    if _has(scopes, READ_CONFIDENTIAL):
        return
    if filter_values != frozenset({N}):
        raise PermissionDenied(
            "With the scope read:normal the query must contain vertrouwelijkheid=normaal (and no other value)."
        )


def check_read(scopes: frozenset[str], current: Vertrouwelijkheid) -> None:
    """R-GETS-4: read:normal only sees an action whose current value is normaal."""
    if current is not N and not _has(scopes, READ_CONFIDENTIAL):
        raise PermissionDenied("Reading a confidential action requires the scope read:confidential.")


def may_see(scopes: frozenset[str], current: Vertrouwelijkheid) -> bool:
    """R-GETS-4 as a visibility test, for lookups where a hidden action must look exactly like an unknown one
    (issue 19.2: an inclusion proof by actieId): normaal for every registered client, the rest only for
    read:confidential."""
    return current is N or _has(scopes, READ_CONFIDENTIAL)


def check_history(scopes: frozenset[str]) -> None:
    """decisions.md 3: the version history is for read:confidential only."""
    if not _has(scopes, READ_CONFIDENTIAL):
        raise PermissionDenied("The version history requires the scope read:confidential.")


def check_put(scopes: frozenset[str], current: Vertrouwelijkheid, body: Vertrouwelijkheid) -> None:
    """R-PUT-3 (F8316, F3835, AMB-24)."""
    if _has(scopes, UPDATE_CONFIDENTIAL):
        if body is OPG and current is not OPG:
            raise PermissionDenied(
                "A correction (PUT) cannot set vertrouwelijkheid to 'opgeheven'; use PATCH on the verwerking."
            )
        return
    if current is not N:
        raise PermissionDenied("Correcting a confidential action requires the scope update:confidential.")
    if body is not N:
        raise PermissionDenied("Setting vertrouwelijkheid other than 'normaal' requires update:confidential.")


def check_patch(scopes: frozenset[str], sets_vertrouwelijkheid: bool, currents: Iterable[Vertrouwelijkheid]) -> None:
    """R-PATCH-4 (F4415, F2969, AMB-28): update:normal may only change bewaartermijn, and only when
    every addressed action is normaal; otherwise the whole request is refused."""
    if _has(scopes, UPDATE_CONFIDENTIAL):
        return
    if sets_vertrouwelijkheid:
        raise PermissionDenied("Changing vertrouwelijkheid requires the scope update:confidential.")
    if any(c is not N for c in currents):
        raise PermissionDenied(
            "This verwerking has confidential actions; changing it requires the scope update:confidential."
        )


def check_delete(scopes: frozenset[str], current: Vertrouwelijkheid) -> None:
    """R-DEL-3 (F9906, F2265)."""
    if current is not N and not _has(scopes, DELETE_CONFIDENTIAL):
        raise PermissionDenied("Deleting a confidential action requires the scope delete:confidential.")


def inzage_visible(scopes: frozenset[str]) -> frozenset[Vertrouwelijkheid]:
    """R-INZ-5 (AMB-06): read:normal sees normaal; read:confidential also opgeheven; vertrouwelijk never."""
    if _has(scopes, READ_CONFIDENTIAL):
        return frozenset({N, OPG})
    return frozenset({N})


def check_var_read(scopes: frozenset[str]) -> None:
    """§17.4 [Adopted]: both VAR read operations accept read:normal, read:confidential, read:restricted
    and zaken.lezen (the OAS lists the first three on the list and only zaken.lezen on the single GET)."""
    if not scopes & set(VAR_READ_SCOPES):
        raise PermissionDenied(f"Reading the VAR requires one of the scopes {', '.join(VAR_READ_SCOPES)}.")


def check_var_write(scopes: frozenset[str]) -> None:
    """Extension: creating, changing and retiring processing activities needs var:write."""
    if VAR_WRITE not in scopes:
        raise PermissionDenied(f"Managing the VAR requires the extension scope {VAR_WRITE}.")


def check_var_history(scopes: frozenset[str]) -> None:
    """Extension: the version history of an activity is for those who manage the VAR or audit it."""
    if not scopes & {VAR_WRITE, FG_READ}:
        raise PermissionDenied(f"The version history of an activity requires the scope {VAR_WRITE} or {FG_READ}.")


def check_fg(scopes: frozenset[str]) -> None:
    """Extension: the doelbinding report lists log entries of every system, so it is for the FG only."""
    if FG_READ not in scopes:
        raise PermissionDenied(f"The doelbinding report requires the extension scope {FG_READ}.")
