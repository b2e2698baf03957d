"""`python -m examples.demo` — the whole story in one command.

Starts a register (a temporary SQLite file, or --database-url), registers the two applications as
clients, starts the person registry (provider), applies for a parking permit (consumer), and shows the
two log entries in the register, linked by the headers: the provider's `verwerkingIdAfnemer` is the
consumer's `verwerkingId`, its `afnemerId` the consumer's OIN.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from examples.parkeervergunning.app import ACTIVITEIT_ID as PARKEER_ACTIVITEIT
from examples.parkeervergunning.app import OIN as GEMEENTE_OIN
from examples.personen_register.app import ACTIVITEIT_ID as PERSONEN_ACTIVITEIT
from verwerkingenlog.client import Client, Verwerkingsactie

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[1]
BSN = "999990019"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.1)


def _up(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code < 500
    except httpx.HTTPError:
        return False


def _client(env: dict[str, str], name: str, *scopes: str) -> dict[str, Any]:
    args = [str(BIN / "verwerkingenlog"), "clients", "add", name, "--json"]
    for s in scopes:
        args += ["--scope", s]
    result = subprocess.run(args, env=env, capture_output=True, text=True, check=True)
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def _show(title: str, a: Verwerkingsactie) -> str:
    keys = (
        "actie_naam",
        "verwerking_id",
        "verwerkingsactiviteit_id",
        "systeem",
        "vertrouwelijkheid",
        "bewaartermijn",
        "soort_afnemer_id",
        "afnemer_id",
        "verwerkingsactiviteit_id_afnemer",
        "verwerking_id_afnemer",
    )
    return "\n".join([title] + [f"  {k:34} {getattr(a, k)}" for k in keys])


def run(database_url: str | None, work: Path) -> dict[str, Any]:
    suffix = uuid.uuid4().hex[:6]
    env = {
        **os.environ,
        "DATABASE_URL": database_url or f"sqlite:///{work / 'register.db'}",
        "PSEUDONYMISATION_KEY": os.environ.get("PSEUDONYMISATION_KEY") or secrets.token_urlsafe(32),
    }
    parkeer = _client(env, f"parkeervergunning-{suffix}")
    personen = _client(env, f"personen-register-{suffix}")
    lezer = _client(env, f"privacy-officer-{suffix}", "read:normal")

    register_port, personen_port = _port(), _port()
    register_url = f"http://127.0.0.1:{register_port}"
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs.append(
            subprocess.Popen(
                [str(BIN / "verwerkingenlog"), "serve", "--port", str(register_port)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        _wait(lambda: _up(f"{register_url}/api/v1/docs"), "the register")

        def app_env(c: dict[str, Any], name: str) -> dict[str, str]:
            return {
                **os.environ,
                "VERWERKINGENLOG_URL": register_url,
                "VERWERKINGENLOG_CLIENT_ID": c["clientId"],
                "VERWERKINGENLOG_SECRET": c["secret"],
                "VERWERKINGENLOG_SPOOL": str(work / f"{name}.spool"),
                "PORT": str(personen_port),
                "PERSONEN_URL": f"http://127.0.0.1:{personen_port}",
            }

        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "examples.personen_register"],
                env=app_env(personen, "personen"),
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
            )
        )
        _wait(lambda: _up(f"http://127.0.0.1:{personen_port}/personen/0"), "the person registry")

        consumer = subprocess.run(
            [sys.executable, "-m", "examples.parkeervergunning", BSN, "AB-123-C"],
            env=app_env(parkeer, "parkeer"),
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        aanvraag: dict[str, Any] = json.loads(consumer.stdout.strip().splitlines()[-1])

        reader_headers = {"OIN": GEMEENTE_OIN}
        with Client(register_url, lezer["clientId"], lezer["secret"]) as client:

            def entries(activity: str) -> list[Verwerkingsactie]:
                page = client.list(
                    BSN,
                    vertrouwelijkheid="normaal",
                    verwerkingsactiviteit_id=activity,
                    page_size=1000,
                    consumer=reader_headers,
                )
                return page.results

            mine = [a for a in entries(PARKEER_ACTIVITEIT) if a.verwerking_id == aanvraag["verwerkingId"]]
            linked: list[Verwerkingsactie] = []

            def provider_logged() -> bool:
                linked[:] = [
                    a for a in entries(PERSONEN_ACTIVITEIT) if a.verwerking_id_afnemer == aanvraag["verwerkingId"]
                ]
                return bool(linked)

            _wait(provider_logged, "the person registry's log entry")
    finally:
        for p in reversed(procs):
            p.terminate()
            p.wait(15)

    opvragen = next(a for a in mine if a.actie_naam == "Opvragen persoonsgegevens")
    print(_show("Consumer (parkeervergunning) logged:", opvragen))
    print(_show("Provider (personen-register) logged:", linked[0]))
    print(f"Linked: provider.verwerkingIdAfnemer == consumer.verwerkingId == {aanvraag['verwerkingId']}")
    return {
        "aanvraag": aanvraag,
        "consumer": [a.actie_naam for a in sorted(mine, key=lambda a: a.tijdstip or "")],
        "provider": {
            "actieNaam": linked[0].actie_naam,
            "verwerkingId": linked[0].verwerking_id,
            "verwerkingIdAfnemer": linked[0].verwerking_id_afnemer,
            "afnemerId": linked[0].afnemer_id,
            "soortAfnemerId": linked[0].soort_afnemer_id,
            "verwerkingsactiviteitIdAfnemer": linked[0].verwerkingsactiviteit_id_afnemer,
            "vertrouwelijkheid": linked[0].vertrouwelijkheid,
            "bewaartermijn": linked[0].bewaartermijn,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="register database (default: a temporary SQLite file)")
    parser.add_argument("--json", action="store_true", help="end with a JSON summary line (for tests)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="verwerkingenlog-demo-") as tmp:
        summary = run(args.database_url, Path(tmp))
    if args.json:
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
