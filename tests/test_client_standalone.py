"""`pip install verwerkingenlog[client]`: the client library imports without the register's dependencies."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVER_ONLY = ("fastapi", "sqlalchemy", "starlette", "pydantic", "pydantic_settings", "uvicorn", "alembic", "typer")


def test_client_imports_without_server_dependencies() -> None:
    """A meta-path finder refuses the server's packages; every client module must still import and work."""
    script = textwrap.dedent(
        f"""
        import sys
        BLOCKED = {SERVER_ONLY!r}

        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in BLOCKED:
                    raise ImportError("blocked server dependency: " + name)
                return None

        sys.meta_path.insert(0, Block())
        import importlib, pkgutil
        import verwerkingenlog.client as c
        for module in pkgutil.walk_packages(c.__path__, "verwerkingenlog.client."):
            importlib.import_module(module.name)
        with c.verwerking("5f0bef4c-f66f-4311-84a5-19e8bf359eaf") as v:
            assert c.outgoing_headers()["VerwerkingId"] == v.verwerking_id
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
        assert not loaded, loaded
        print("ok")
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_client_extra_declares_only_what_the_client_needs() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["dependencies"] == []
    client = {d.split(">")[0].split("[")[0].lower() for d in project["optional-dependencies"]["client"]}
    assert client == {"httpx", "pyjwt"}
    server = {d.split(">")[0].split("[")[0].lower() for d in project["optional-dependencies"]["server"]}
    assert {"fastapi", "sqlalchemy", "uvicorn"} <= server


def _private_client_imports(path: Path) -> list[str]:
    """`verwerkingenlog.client._x` modules and `_x` names taken from the client package, in one file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules = [a.name for a in node.names]
            names: list[str] = []
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules, names = [node.module], [a.name for a in node.names]
        else:
            continue
        for module in modules:
            if module.startswith("verwerkingenlog.client"):
                parts = module.split(".")[2:] + names
                found += [f"{path.name}:{node.lineno} {module} {name}" for name in parts if name.startswith("_")]
    return found


def test_the_register_uses_only_the_client_librarys_public_api() -> None:
    """The portal (and anything else outside the client package) reads registers through the client's
    public names, so the client's internals can change without breaking them."""
    src = ROOT / "src" / "verwerkingenlog"
    outside = [p for p in src.rglob("*.py") if (src / "client") not in p.parents]
    assert [hit for p in outside for hit in _private_client_imports(p)] == []
