"""Sum the figures the reliability tests wrote (``make reliability``) into one table.

    python scripts/reliability_report.py .reliability.log

Each line of the log is a JSON object: the test's case, and any of kills,
labels_checked, faults, fuzz_cases, lost. Exits 1 when anything was lost, or
a case of the suite recorded nothing.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

COLUMNS = ("kills", "labels_checked", "faults", "fuzz_cases", "lost")

#: Every case the suite reports; one that is missing (skipped, deselected, renamed) fails the report.
EXPECTED = (
    "labelling killed (SIGKILL) at random moments", "window opens a file left by a killed labeller",
    "merge killed (SIGKILL) at random moments", "schema upgrade killed (SIGKILL) at random moments",
    "jsonl export killed (SIGKILL) at random moments", "csv export killed (SIGKILL) at random moments",
    "import killed (SIGKILL) part-way, then resumed",
    "disk full", "read-only file or folder", "file locked past the busy timeout", "file moved while open",
    "file deleted while open", "WAL left by a killed writer", "window: file moved away while open",
    "fuzz: txt import", "fuzz: jsonl import", "fuzz: csv import", "fuzz: ann import",
    "fuzz: opening damaged project files", "fuzz: merging damaged project files", "hostile merge input",
    "two processes writing one project", "temporary folders of killed merges removed",
    # the edges: every writer against every kind of target, names through every door, the window on damage
    *(f"output policy: {kind}" for kind in (
        "new", "regular file", "existing project", "the project", "an input", "symlink", "FIFO", "folder",
        "missing parent", "read-only parent", "overlong name", "stray -wal", "companion of the project")),
    "names and texts survive every export and a merge", "fuzz: the window on damaged project files",
)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[2].strip())
        return 2
    log = Path(argv[0])
    if not log.is_file():
        print(f"{log}: no figures recorded (run the suite with STANCELABEL_RELIABILITY_LOG set)")
        return 1
    rows: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COLUMNS, 0))
    for number, line in enumerate(log.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            print(f"{log}:{number}: not a JSON object")
            return 1
        for column in COLUMNS:
            rows[entry["test"]][column] += int(entry.get(column, 0))
    if not rows:
        print(f"{log}: no figures recorded")
        return 1
    total = {column: sum(row[column] for row in rows.values()) for column in COLUMNS}
    width = max(len(name) for name in [*rows, "total"])
    header = f"{'case':<{width}}  " + "  ".join(f"{c.replace('_', ' '):>14}" for c in COLUMNS)
    print(header)
    print("-" * len(header))
    for name in sorted(rows):
        print(f"{name:<{width}}  " + "  ".join(f"{rows[name][c]:>14,}" for c in COLUMNS))
    print("-" * len(header))
    print(f"{'total':<{width}}  " + "  ".join(f"{total[c]:>14,}" for c in COLUMNS))
    print()
    print(f"kills: {total['kills']:,}   labels checked: {total['labels_checked']:,}   "
          f"faults injected: {total['faults']:,}   fuzz cases run: {total['fuzz_cases']:,}   lost: {total['lost']}")
    missing = [name for name in EXPECTED if name not in rows]
    for name in missing:
        print(f"missing: no figures from '{name}' (skipped or failed?)")
    return 0 if total["lost"] == 0 and not missing else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
