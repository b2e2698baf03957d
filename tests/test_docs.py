"""Documentation that must match the code."""

from __future__ import annotations

from pathlib import Path

from verwerkingenlog.settings import reference_markdown

ROOT = Path(__file__).resolve().parents[1]


def test_configuration_reference_is_generated_from_the_settings() -> None:
    """docs/configuration.md is exactly what `verwerkingenlog config-reference` prints."""
    assert (ROOT / "docs" / "configuration.md").read_text() == reference_markdown()
