"""The witness file: an external, append-only copy of every checkpoint the register signed.

Format (docs/integrity.md §10): the signed notes one after another, each followed by one empty line. A signed
note itself is its text (no empty lines), one empty line, and its signature lines (no empty lines), so the
blocks between empty lines alternate text and signatures.
"""

from __future__ import annotations

__all__ = ["parse_witness_file", "witness_entry"]


def witness_entry(note: str) -> str:
    """What the register appends for one signed note: the note and an empty line."""
    return note if note.endswith("\n\n") else note + "\n"


def parse_witness_file(text: str) -> list[str]:
    """The signed notes of a witness file, in order."""
    blocks = [block for block in text.split("\n\n") if block.strip()]
    if len(blocks) % 2:
        raise ValueError("a witness file holds signed notes: text, empty line, signature lines, empty line, …")
    return [f"{blocks[i].strip(chr(10))}\n\n{blocks[i + 1].strip(chr(10))}\n" for i in range(0, len(blocks), 2)]
