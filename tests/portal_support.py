"""Helpers for the portal tests: a register app with the portal on, and a citizen's browser-like session."""

from __future__ import annotations

import re
from typing import Any

import httpx
from fastapi.testclient import TestClient

PORTAL_OIN = "00000001001172773000"
SECRET = "portal-test-session-secret-0123456789abcdef"


def portal_settings(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "portal_oin": PORTAL_OIN,
        "portal_session_secret": SECRET,
        "portal_demo_login": True,
    }
    values.update(overrides)
    return values


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def login(tc: TestClient, bsn: str) -> httpx.Response:
    """Log in through the demo login form, as a citizen's browser does."""
    page = tc.get("/portaal/login")
    r = tc.post("/portaal/login/demo", data={"csrf": csrf_of(page.text), "burger": bsn})
    assert r.status_code == 200 and r.url.path == "/portaal/", r.text
    return r


def group_links(html: str) -> list[str]:
    return sorted(set(re.findall(r'href="(/portaal/verwerking/[0-9a-f]+)', html)))


def text_of(html: str) -> str:
    """The visible text of a page, whitespace collapsed (what a screen reader would read)."""
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)).replace("&amp;", "&").strip()
