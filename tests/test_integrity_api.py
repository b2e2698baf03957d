"""The integrity API over HTTP (docs/integrity.md §8), on SQLite and PostgreSQL: the Leaf-Index header of every
write, checkpoints signed with the published key, and inclusion and consistency proofs checked with the
independent RFC 9162 verifier of tests/integrity_support.py (not the register's own code)."""

from __future__ import annotations

import base64
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import Api, actie, editable, new_bsn
from tests.integrity_support import (
    b64,
    note_root,
    rfc_leaf_hash,
    rfc_verify_consistency,
    rfc_verify_inclusion,
    sha256,
)
from tests.var_support import activiteit, new_oin
from verwerkingenlog.integrity.canonical import leaf_bytes

INTEGRITEIT = "/api/v1/integriteit"


@pytest.fixture(scope="session")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("integrity") / "checkpoint.key"


@pytest.fixture
def settings_overrides(key_file: Path) -> dict[str, Any]:
    return {"checkpoint_key_file": key_file, "checkpoint_interval_seconds": 0}


def sign(api: Api) -> dict[str, Any]:
    """Sign a checkpoint now (what the background job does every CHECKPOINT_INTERVAL_SECONDS)."""
    integrity = api.tc.app.state.integrity  # type: ignore[attr-defined]
    api.tc.portal.call(integrity.sign_checkpoint, True)  # type: ignore[union-attr]
    r = api.tc.get(f"{INTEGRITEIT}/checkpoint")
    assert r.status_code == 200, r.text
    size, root = note_root(r.text)
    return {"note": r.text, "size": size, "root": root}


def leaf_indexes(response: Any) -> list[int]:
    assert response.status_code < 300, response.text
    return [int(i) for i in response.headers["Leaf-Index"].split(",")]


def test_every_write_names_its_leaves_and_reads_name_none(api: Api) -> None:
    """Leaf-Index (extension): POST, PUT, DELETE one leaf each, PATCH one per version it wrote, in commit
    order; GET (whose self-log entry is a write of the register itself) carries no header."""
    bsn = new_bsn()
    created = api.post(actie(bsn))
    (first,) = leaf_indexes(created)
    body = created.json()
    second = actie(bsn, verwerkingId=body["verwerkingId"])
    (other,) = leaf_indexes(api.post(second))
    assert other > first
    put = api.put(body["actieId"], editable(body) | {"actieNaam": "Gecorrigeerd"})
    (corrected,) = leaf_indexes(put)
    patched = leaf_indexes(api.patch(body["verwerkingId"], {"bewaartermijn": "P20Y"}))
    assert len(patched) == 2 and patched == sorted(patched) and patched[0] > corrected > other
    (deleted,) = leaf_indexes(api.delete(body["actieId"]))
    assert deleted > patched[-1]
    read = api.get(put.json()["actieId"])
    assert "Leaf-Index" not in read.headers


def test_var_writes_are_leaves_too(api: Api) -> None:
    """Every VAR version is a leaf of the same log (issue: 'every VAR version')."""
    created = api.request("POST", "/api/v1/verwerkingsactiviteiten", "var-write", json=activiteit(new_oin()))
    (leaf,) = leaf_indexes(created)
    cp = sign(api)
    proof = api.tc.get(f"{INTEGRITEIT}/bewijs/inclusie", params={"leafIndex": leaf}).json()
    assert proof["type"] == "verwerkingsactiviteit"
    assert rfc_verify_inclusion(leaf, cp["size"], b64(proof["leafHash"]), [b64(p) for p in proof["proof"]], cp["root"])


def test_checkpoint_is_signed_by_the_published_key(api: Api) -> None:
    """C2SP signed-note: the Ed25519 signature over the note text verifies with the key published at
    /integriteit/sleutels (checked here with `cryptography` directly, by the signed-note rules)."""
    api.post(actie(new_bsn()))
    cp = sign(api)
    keys = api.tc.get(f"{INTEGRITEIT}/sleutels").json()
    (current,) = [k for k in keys["sleutels"] if k["status"] == "actief"]
    name, key_id_hex, material = current["vkey"].split("+", 2)
    public = base64.b64decode(material)
    assert public[0] == 0x01 and name == keys["origin"]
    assert sha256(name.encode() + b"\n" + public)[:4].hex() == key_id_hex == current["keyId"]
    text, signatures = cp["note"].split("\n\n", 1)
    assert text.split("\n")[0] == name
    (line,) = signatures.strip("\n").split("\n")
    signer, sig = line.removeprefix("\u2014 ").split(" ")
    raw = base64.b64decode(sig)
    assert signer == name and raw[:4].hex() == key_id_hex
    Ed25519PublicKey.from_public_bytes(public[1:]).verify(raw[4:], (text + "\n").encode())  # raises if forged
    plain = api.tc.get(f"{INTEGRITEIT}/sleutels", headers={"Accept": "text/plain"})
    assert plain.text.splitlines()[0] == current["vkey"]


def test_inclusion_proof_by_actie_id_matches_the_record(api: Api) -> None:
    """An inclusion proof by actieId: the leaf hash is SHA-256(0x00 || JCS(record)) of exactly that version
    (docs/integrity.md §2), and the proof leads to the signed root (RFC 9162 §2.1.3.2)."""
    created = api.post(actie(new_bsn(), new_bsn()))
    (leaf,) = leaf_indexes(created)
    cp = sign(api)
    r = api.request("GET", f"{INTEGRITEIT}/bewijs/inclusie", "normaal", params={"actieId": created.json()["actieId"]})
    assert r.status_code == 200, r.text
    proof = r.json()
    assert proof["leafIndex"] == leaf and proof["treeSize"] == cp["size"] and proof["checkpoint"] == cp["note"]
    (version,) = api.versies(created.json()["actieId"]).json()["results"]
    # Everything but the client comes from the API itself: others can recompute the leaf (docs/integrity.md §2).
    record = {k: v for k, v in version.items() if k != "url"} | {
        "type": "verwerkingsactie",
        "formaat": 1,
        "lineageId": version["actieId"],
        "clientId": "alles",
        "verwerkteObjecten": [{k: v for k, v in o.items() if k != "url"} for o in version["verwerkteObjecten"]],
    }
    assert b64(proof["leafHash"]) == rfc_leaf_hash(leaf_bytes(record))
    assert rfc_verify_inclusion(leaf, cp["size"], b64(proof["leafHash"]), [b64(p) for p in proof["proof"]], cp["root"])


def test_proof_scopes_and_errors(api: Api) -> None:
    """By actieId a registered client is needed (it reveals that the id exists; for a hidden action see
    below); by leaf index, checkpoints,
    keys and consistency are public. A leaf newer than the latest checkpoint is 409 with Retry-After
    absent (no background job in this test) and a clear detail; bad parameters are 400 problem+json."""
    created = api.post(actie(new_bsn()))
    actie_id = created.json()["actieId"]
    anonymous = api.tc.get(f"{INTEGRITEIT}/bewijs/inclusie", params={"actieId": actie_id})
    assert anonymous.status_code == 401
    (leaf,) = leaf_indexes(created)
    too_new = api.tc.get(f"{INTEGRITEIT}/bewijs/inclusie", params={"leafIndex": leaf})
    assert too_new.status_code == 409 and too_new.json()["code"] == "not_yet_checkpointed"
    sign(api)
    assert api.tc.get(f"{INTEGRITEIT}/bewijs/inclusie", params={"leafIndex": leaf}).status_code == 200
    unknown = api.request("GET", f"{INTEGRITEIT}/bewijs/inclusie", "geen", params={"actieId": str(uuid.uuid4())})
    assert unknown.status_code == 404
    both = api.request("GET", f"{INTEGRITEIT}/bewijs/inclusie", params={"actieId": actie_id, "leafIndex": "1"})
    assert both.status_code == 400 and {p["name"] for p in both.json()["invalidParams"]} == {"leafIndex"}
    neither = api.tc.get(f"{INTEGRITEIT}/bewijs/inclusie", params={"treeSize": "x", "foo": "1"})
    assert {p["name"] for p in neither.json()["invalidParams"]} == {"actieId", "treeSize", "foo"}
    backwards = api.tc.get(f"{INTEGRITEIT}/bewijs/consistentie", params={"van": "2", "tot": "1"})
    assert backwards.status_code == 400 and backwards.json()["invalidParams"][0]["name"] == "van"
    beyond = api.tc.get(f"{INTEGRITEIT}/bewijs/consistentie", params={"van": "1", "tot": str(10**12)})
    assert beyond.status_code == 400 and beyond.json()["invalidParams"][0]["name"] == "tot"
    assert api.tc.get(f"{INTEGRITEIT}/bewijs/consistentie").json()["invalidParams"][0]["name"] == "van"


def test_a_hidden_action_is_proved_only_to_who_may_read_it(api: Api) -> None:
    """Issue 19.2 (R-GETS-4): an inclusion proof by actieId of a version whose action is not `normaal` is for
    read:confidential; for a read:normal client (or one without read scope) it answers exactly like an unknown
    actieId — the same status and body, byte for byte once the ids are masked — before a checkpoint exists
    (no 409 that tells it exists) and after. By leaf index the same leaf stays public (hashes only)."""
    hidden = api.post(actie(new_bsn(), vertrouwelijkheid="vertrouwelijk"))
    (leaf,) = leaf_indexes(hidden)
    hidden_id = hidden.json()["actieId"]
    lifted = api.post(actie(new_bsn()))
    lifted_id = lifted.json()["actieId"]
    assert api.patch(lifted.json()["verwerkingId"], {"vertrouwelijkheid": "opgeheven"}).status_code < 300

    def ask(actie_id: str, who: str) -> Any:
        return api.request("GET", f"{INTEGRITEIT}/bewijs/inclusie", who, params={"actieId": actie_id})

    def masked(response: Any, actie_id: str) -> tuple[int, str, bytes]:
        """Status, media type and body with the asked id and the problem's own `instance` id masked."""
        body = response.content.replace(actie_id.encode(), b"ID")
        body = re.sub(rb'"instance":"urn:uuid:[0-9a-f-]{36}"', b'"instance":"ID"', body)
        return response.status_code, response.headers["content-type"], body

    for signed in (False, True):
        if signed:
            sign(api)
        for who in ("read-normal", "normaal", "geen"):
            unknown_id = str(uuid.uuid4())
            unknown = masked(ask(unknown_id, who), unknown_id)
            assert unknown[0] == 404, unknown
            for actie_id in (hidden_id, lifted_id):
                assert masked(ask(actie_id, who), actie_id) == unknown, (who, signed)
        seen = ask(hidden_id, "alles")
        assert seen.status_code == (200 if signed else 409), seen.text
    assert ask(lifted_id, "alles").status_code == 200
    assert api.tc.get(f"{INTEGRITEIT}/bewijs/inclusie", params={"leafIndex": leaf}).json()["leafIndex"] == leaf
    normal = api.post(actie(new_bsn()))
    sign(api)
    assert ask(normal.json()["actieId"], "read-normal").status_code == 200


def test_every_checkpoint_is_kept_and_consistent_with_the_latest(api: Api) -> None:
    """The register keeps every checkpoint; each one's tree is a prefix of the latest (RFC 9162 §2.1.4.2)."""
    for _ in range(3):
        api.post(actie(new_bsn()))
        sign(api)
    listed = api.tc.get(f"{INTEGRITEIT}/checkpoints", params={"pageSize": "1000"}).json()
    checkpoints = listed["results"]
    assert listed["count"] >= 3 and [c["id"] for c in checkpoints] == sorted(c["id"] for c in checkpoints)
    latest = checkpoints[-1]
    assert latest["checkpoint"] == api.tc.get(f"{INTEGRITEIT}/checkpoint").text
    for old in checkpoints:
        proof = api.tc.get(
            f"{INTEGRITEIT}/bewijs/consistentie", params={"van": old["treeSize"], "tot": latest["treeSize"]}
        ).json()["proof"]
        if old["treeSize"]:
            assert rfc_verify_consistency(
                old["treeSize"],
                latest["treeSize"],
                b64(old["rootHash"]),
                b64(latest["rootHash"]),
                [b64(p) for p in proof],
            ), old


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(appends=st.integers(1, 8), data=st.data())
def test_proofs_over_randomly_sized_trees(api: Api, appends: int, data: st.DataObject) -> None:
    """Hypothesis: grow the tree by a random number of leaves, signing after each; every inclusion proof the
    API serves for random leaves, and every consistency proof from each of those signed sizes to the last,
    checks out with the independent RFC 9162 verifier, and a wrong leaf does not."""
    signed = []
    for _ in range(appends):
        api.post(actie(new_bsn()))
        signed.append(sign(api))
    size, root = signed[-1]["size"], signed[-1]["root"]
    for drawn in data.draw(st.lists(st.integers(0, 2**32), min_size=1, max_size=4), label="leaves"):
        index = drawn % size  # the shared log's size differs per run: draw independently of it
        proof = api.tc.get(f"{INTEGRITEIT}/bewijs/inclusie", params={"leafIndex": index}).json()
        path = [b64(p) for p in proof["proof"]]
        assert proof["treeSize"] == size
        assert rfc_verify_inclusion(index, size, b64(proof["leafHash"]), path, root)
        assert not rfc_verify_inclusion(index, size, sha256(b"another record"), path, root)
    for old in signed:
        proof = api.tc.get(f"{INTEGRITEIT}/bewijs/consistentie", params={"van": old["size"], "tot": size}).json()
        assert rfc_verify_consistency(old["size"], size, old["root"], root, [b64(p) for p in proof["proof"]])
