"""The fuzz targets' corpora as a standing test (issue 19.8): every committed seed and every crash the fuzzer
once found (tests/fuzz/crashes/<target>/) goes through its target in the normal suite, without atheris. A
crash file stays after its fix, so the finding cannot come back unnoticed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fuzz.targets import TARGETS

HERE = Path(__file__).parent / "fuzz"
CASES = [
    pytest.param(name, path, id=f"{path.parent.parent.name}-{name}-{path.name[:22]}")
    for kind in ("corpus", "crashes")
    for name in sorted(TARGETS)
    for path in sorted((HERE / kind / name).glob("*"))
    if path.is_file()
]


def test_every_target_has_seeds() -> None:
    assert {name for name in TARGETS if any((HERE / "corpus" / name).glob("*"))} == set(TARGETS)


@pytest.mark.parametrize(("name", "path"), CASES)
def test_the_target_keeps_its_contract_on(name: str, path: Path) -> None:
    TARGETS[name](path.read_bytes())  # raises only when a parser lets an undocumented error escape
