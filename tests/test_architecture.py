"""The house rules of docs/architecture.md, checked against the imports of every module under src/verwerkingenlog.

Imports are read with `ast` (module level and inside functions alike), so a rule cannot be dodged by a late import.
Where today's code still breaks a rule, the module is named in that rule's *debt* list in docs/architecture.md's
terms: the test fails when a new module breaks the rule, and also when a listed module no longer does (so the list
only shrinks and never names a module that was already mended).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "verwerkingenlog"
ROOT_NAME = "verwerkingenlog"


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path) -> Iterator[str]:
    """Every module `path` imports, absolute (relative imports resolved against the module's package)."""
    tree = ast.parse(path.read_text(), str(path))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                prefix = ".".join(base)
                yield f"{prefix}.{node.module}" if node.module else prefix
            elif node.module:
                yield node.module


def modules() -> dict[str, set[str]]:
    """module name → the modules it imports, for every module except the frozen migration scripts."""
    out: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = module_name(path)
        if ".store.migrations." in f"{name}.":
            continue  # migrations are frozen snapshots of the schema: they use SQLAlchemy/Alembic by nature
        out[name] = set(imported_modules(path))
    return out


def room(name: str) -> str:
    """The room a module lives in: `domain`, `store`, `api`, … or the top-level module's own name (`cli`)."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else ""


def top(imported: str) -> str:
    return imported.split(".")[0]


@dataclass(frozen=True)
class Rule:
    """Modules in `rooms` must not import anything matching `forbidden` (a top-level package, or a room of ours
    written `verwerkingenlog.<room>`); `debt` names the modules that still do (docs/architecture.md)."""

    name: str
    rooms: frozenset[str]
    forbidden: frozenset[str]
    debt: frozenset[str] = frozenset()

    def breaks(self, imported: str) -> bool:
        if top(imported) in self.forbidden:
            return True
        if top(imported) == ROOT_NAME:
            parts = imported.split(".")
            return len(parts) > 1 and f"{ROOT_NAME}.{parts[1]}" in self.forbidden
        return False


IO_AND_FRAMEWORKS = frozenset(
    {
        "sqlalchemy",
        "alembic",
        "asyncpg",
        "aiosqlite",
        "sqlite3",
        "fastapi",
        "starlette",
        "uvicorn",
        "pydantic",
        "pydantic_settings",
        "httpx",
        "requests",
        "grpc",
        "socket",
        "subprocess",
        "asyncio",
        "jinja2",
        "typer",
        "rich",
        "logging",
        "pathlib",
        "shutil",
        "tempfile",
    }
)
OUR_OUTER_ROOMS = frozenset(
    f"{ROOT_NAME}.{r}"
    for r in (
        "api",
        "admin",
        "portal",
        "services",
        "store",
        "client",
        "cli",
        "settings",
        "observability",
        "oidc",
        "verifier",
    )
)

RULES = [
    Rule(
        "the domain is pure: no I/O, no framework, nothing of ours outside domain/",
        frozenset({"domain"}),
        IO_AND_FRAMEWORKS | OUR_OUTER_ROOMS | {f"{ROOT_NAME}.integrity"},
    ),
    Rule(
        "integrity is pure computation over the domain: no I/O, no framework, no outer room",
        frozenset({"integrity"}),
        IO_AND_FRAMEWORKS | OUR_OUTER_ROOMS,
    ),
    Rule(
        "SQL lives in store/: no SQLAlchemy or database driver anywhere else",
        frozenset({"api", "admin", "portal", "services", "cli"}),
        frozenset({"sqlalchemy", "alembic", "asyncpg", "aiosqlite", "sqlite3"}),
        debt=frozenset(
            {
                "verwerkingenlog.api.ops",
                "verwerkingenlog.cli.demo",
                "verwerkingenlog.services.backup",
                "verwerkingenlog.services.client_cache",
                "verwerkingenlog.services.clients",
                "verwerkingenlog.services.integrity",
                "verwerkingenlog.services.otlp",
                "verwerkingenlog.services.var",
            }
        ),
    ),
    Rule(
        "the store knows no caller: no services, HTTP, web pages or CLI",
        frozenset({"store"}),
        frozenset({f"{ROOT_NAME}.{r}" for r in ("services", "api", "admin", "portal", "cli", "client")}),
    ),
    Rule(
        "services know no front end: no HTTP, web pages or CLI",
        frozenset({"services"}),
        frozenset({f"{ROOT_NAME}.{r}" for r in ("api", "admin", "portal", "cli")}) | {"fastapi", "starlette"},
    ),
    Rule(
        "nothing but the CLI imports the CLI",
        frozenset({"api", "admin", "portal", "services", "store", "integrity", "domain", "client", "verifier"}),
        frozenset({f"{ROOT_NAME}.cli"}),
    ),
    Rule(
        "the CLI calls services, not the HTTP layer",
        frozenset({"cli"}),
        frozenset({f"{ROOT_NAME}.api", f"{ROOT_NAME}.admin", f"{ROOT_NAME}.portal"}),
        debt=frozenset(
            {
                "verwerkingenlog.cli.console",
                "verwerkingenlog.cli.demo",
                "verwerkingenlog.cli.fg",
                "verwerkingenlog.cli.integrity",
                "verwerkingenlog.cli.serve",
                "verwerkingenlog.cli.var",
            }
        ),
    ),
    Rule(
        "the client library stands alone (pip install verwerkingenlog[client]): nothing of the server",
        frozenset({"client"}),
        frozenset(
            {f"{ROOT_NAME}.{r}" for r in ("api", "admin", "portal", "services", "store", "settings", "integrity")}
        )
        | {"fastapi", "sqlalchemy", "pydantic", "asyncpg", "aiosqlite", "jinja2"},
    ),
    Rule(
        "the standalone verifier needs only domain/ and integrity/ (the verifier extra)",
        frozenset({"verifier"}),
        frozenset({f"{ROOT_NAME}.{r}" for r in ("api", "admin", "portal", "services", "store", "settings", "client")})
        | {"fastapi", "sqlalchemy", "pydantic", "asyncpg", "aiosqlite"},
    ),
    Rule(
        "the two web UIs do not import each other",
        frozenset({"admin"}),
        frozenset({f"{ROOT_NAME}.portal"}),
        debt=frozenset({"verwerkingenlog.admin.i18n", "verwerkingenlog.admin.web"}),
    ),
    Rule(
        "the portal does not import the admin pages",
        frozenset({"portal"}),
        frozenset({f"{ROOT_NAME}.admin"}),
    ),
]


@pytest.mark.parametrize("rule", RULES, ids=[r.name for r in RULES])
def test_house_rule(rule: Rule) -> None:
    breaking: dict[str, list[str]] = {}
    for name, imports in modules().items():
        if room(name) not in rule.rooms:
            continue
        bad = sorted(i for i in imports if rule.breaks(i))
        if bad:
            breaking[name] = bad
    new = {m: i for m, i in breaking.items() if m not in rule.debt}
    mended = sorted(rule.debt - breaking.keys())
    assert not new, f"{rule.name}: {new} (docs/architecture.md says where this code belongs)"
    assert not mended, f"{rule.name}: {mended} no longer break the rule; take them off the debt list"


def test_every_room_is_named_in_the_house_rules() -> None:
    """A new top-level module or package must be given its place in docs/architecture.md."""
    doc = (PACKAGE.parents[1] / "docs" / "architecture.md").read_text()
    rooms = {room(name) for name in modules() if room(name)}
    missing = sorted(r for r in rooms if f"`{r}" not in doc)
    assert not missing, f"docs/architecture.md does not name these rooms: {missing}"


def test_the_rules_see_imports() -> None:
    """The reader itself: a function-level and a relative import are both seen (no rule is vacuous)."""
    found = modules()
    assert "verwerkingenlog.api.app" in found["verwerkingenlog.cli.console"]  # a late import inside a function
    assert any(i.startswith("sqlalchemy") for i in found["verwerkingenlog.store.db"])
