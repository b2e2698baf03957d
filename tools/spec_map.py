"""Generate docs/spec-to-tests.md: every rule of the spec digest → the code that implements it and the
tests that check it.

A test "checks" a rule when the rule id appears in its name's docstring (or its module's/class's
docstring); ranges such as `R-POST-1..8` count for every id in the range. A rule "lives" in the source
files whose docstrings or comments cite it. Usage:

    python tools/spec_map.py [--spec PATH] [--check]

`--check` exits non-zero when the file on disk is stale or a rule has neither a test nor a recorded
reason (see NOT_TESTABLE / LATER below).
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SPEC = ROOT.parent / "shared" / "spec" / "verwerkingenlogging.md"
OUTPUT = ROOT / "docs" / "spec-to-tests.md"

RULE = re.compile(r"\*\*(R-[A-Z]+-\d+)\b([^*]*)\*\*")
ID = re.compile(r"\b(R-[A-Z]+|AMB)-(\d+)(?:\s*(?:\.\.|–|-|…)\s*(\d+))?")

# Rules that state what a *client* must do or are advice: the register has no behaviour to test.
NOT_TESTABLE = {
    "R-PATCH-6": "Advice to consumers (send a verwerkingId when retention or confidentiality may change later).",
    "R-POST-8": "Consumer obligation (log before acting); the register's part is durability, see R-TX-2.",
    "R-PRIV-2": "`gebruiker` must be a meaningless key: a client obligation the register cannot verify; "
    "it is never shown through the Inzage API (R-INZ-6).",
    "R-PRIV-4": "The register adds no linking information: it stores exactly what the client sent.",
}

# Rules whose implementation belongs to a later issue (kept visible here until then).
LATER = {
    "R-RET-3": "Purge job: issue 4 (retention without breaking proofs).",
    "R-RET-4": "Purge job: issue 4 (retention without breaking proofs).",
}


def ids_in(text: str) -> set[str]:
    found: set[str] = set()
    for prefix, first, last in ID.findall(text):
        start = int(first)
        end = int(last) if last and int(last) >= start and int(last) - start < 50 else start
        found.update(f"{prefix}-{n}" for n in range(start, end + 1))
    return found


def spec_rules(spec: Path) -> list[tuple[str, str, str]]:
    """(rule id, section heading, short summary) in document order, from each rule's defining line."""
    section = ""
    rules: list[tuple[str, str, str]] = []
    seen: set[str] = set()
    for line in spec.read_text().splitlines():
        if line.startswith("#"):
            section = line.lstrip("#").strip()
            continue
        body = line.strip().removeprefix("- ").strip()
        if body.startswith("Rule identifiers like"):
            continue  # the digest's explanation of the numbering, not a rule
        for match in RULE.finditer(line):
            rid = match.group(1)
            if rid in seen:
                continue
            seen.add(rid)
            if body.startswith(match.group(0)):
                label = match.group(2).strip(" .()")
                rest = body[len(match.group(0)) :].strip().lstrip(":").strip()
                summary = f"{label}: {rest}" if label else rest
            else:  # the id closes a sentence, e.g. "… → 401 (**R-AUTH-1**)."
                summary = body.replace(match.group(0), "").replace("()", "")
            summary = re.sub(r"\s+", " ", summary.replace("|", "/").replace("*", "")).strip()
            rules.append((rid, section, summary[:110] + ("…" if len(summary) > 110 else "")))
    return rules


def tests_by_rule() -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for path in sorted((ROOT / "tests").glob("test_*.py")):
        tree = ast.parse(path.read_text())
        module_ids = ids_in(ast.get_docstring(tree) or "")
        rel = path.relative_to(ROOT).as_posix()

        def visit(body: list[ast.stmt], inherited: set[str], prefix: str, rel: str = rel) -> None:
            for node in body:
                if isinstance(node, ast.ClassDef):
                    visit(node.body, inherited | ids_in(ast.get_docstring(node) or ""), f"{prefix}{node.name}::", rel)
                elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test"):
                    ids = inherited | ids_in(ast.get_docstring(node) or "")
                    for rid in ids:
                        out[rid].append(f"`{rel}::{prefix}{node.name}`")

        visit(tree.body, module_ids, "")
    return out


def code_by_rule() -> dict[str, list[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for path in sorted((ROOT / "src").rglob("*.py")):
        rel = path.relative_to(ROOT / "src").as_posix()
        for rid in ids_in(path.read_text()):
            out[rid].add(f"`{rel}`")
    return {k: sorted(v) for k, v in out.items()}


def render(spec: Path) -> tuple[str, list[str]]:
    rules = spec_rules(spec)
    tests = tests_by_rule()
    code = code_by_rule()
    missing: list[str] = []
    lines = [
        "# Specification → tests",
        "",
        "Generated by `python tools/spec_map.py` from `shared/spec/verwerkingenlogging.md`, the docstrings of",
        "`tests/` and the rule ids cited in `src/`; `tests/test_spec_map.py` fails when this file is stale or",
        "a rule has no test and no recorded reason. Each rule id is the digest's stable identifier.",
        "",
        f"{len(rules)} rules.",
        "",
        "| Rule | Section | Summary | Lives in | Tested by |",
        "|---|---|---|---|---|",
    ]
    for rid, section, summary in rules:
        tested = sorted(set(tests.get(rid, [])))
        if tested:
            shown = "<br>".join(tested[:6]) + (f"<br>… and {len(tested) - 6} more" if len(tested) > 6 else "")
        elif rid in NOT_TESTABLE:
            shown = f"not testable: {NOT_TESTABLE[rid]}"
        elif rid in LATER:
            shown = f"later: {LATER[rid]}"
        else:
            shown = "**NO TEST**"
            missing.append(rid)
        lives = "<br>".join(code.get(rid, [])) or "—"
        lines.append(f"| {rid} | {section} | {summary} | {lives} | {shown} |")
    amb = sorted({rid for rid in tests if rid.startswith("AMB-")}, key=lambda r: int(r.split("-")[1]))
    lines += ["", "## Adopted resolutions of ambiguities (AMB-n) cited by tests", ""]
    lines += [f"- {rid}: " + ", ".join(sorted(set(tests[rid]))[:4]) for rid in amb]
    return "\n".join(lines) + "\n", missing


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--spec", type=Path, default=DEFAULT_SPEC)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    text, missing = render(args.spec)
    if args.check:
        stale = not OUTPUT.exists() or OUTPUT.read_text() != text
        if stale:
            print("docs/spec-to-tests.md is stale: run python tools/spec_map.py", file=sys.stderr)
        if missing:
            print("rules without a test: " + ", ".join(missing), file=sys.stderr)
        return 1 if stale or missing else 0
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT.relative_to(ROOT)}; rules without a test: {', '.join(missing) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
