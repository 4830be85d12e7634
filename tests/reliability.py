"""Shared by the reliability tests: how hard to try, and a tally for ``make reliability``.

The counts scale with the environment: ``make test`` (and CI) runs each case a few
times; ``make reliability`` sets ``STANCELABEL_KILLS`` and ``STANCELABEL_FUZZ_EXAMPLES``
high and ``STANCELABEL_RELIABILITY_LOG`` to a file that every test appends its figures
to, one JSON object per line, which ``scripts/reliability_report.py`` sums into a table.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

#: SIGKILLs of a labelling process (at least 10 in CI, at least 100 in ``make reliability``).
KILLS = int(os.environ.get("STANCELABEL_KILLS", "10"))
#: Examples per property-based (hypothesis) test.
FUZZ_EXAMPLES = int(os.environ.get("STANCELABEL_FUZZ_EXAMPLES", "40"))
REPO = Path(__file__).resolve().parents[1]


def tally(test: str, **figures: int) -> None:
    """Add figures (kills, labels_checked, faults, fuzz_cases, lost) for the report, when one is being made."""
    log = os.environ.get("STANCELABEL_RELIABILITY_LOG")
    if not log:
        return
    with open(log, "a", encoding="utf-8") as out:
        out.write(json.dumps({"test": test, **figures}) + "\n")


def child_env() -> dict[str, str]:
    """The environment of a child process: this checkout first on the path, Qt offscreen."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(REPO))
    env.pop("STANCELABEL_RELIABILITY_LOG", None)
    return env


PYTHON = sys.executable


LABELS = ("asserts", "denies", "qualifies")


def change(n: int, ids: list[int]) -> tuple[int, str, object]:
    """The n-th change of the endless labelling sequence: (attribution, kind, value)."""
    attribution = ids[n % len(ids)]
    kind = ("label", "note", "flag")[(n // len(ids)) % 3]
    # Each pass over the attributions gives a value the last one did not: every change is a real write.
    value = {"label": LABELS[(n // (3 * len(ids))) % 3], "note": f"note {n} \u2014 \U0001F4DD",
             "flag": (n // (3 * len(ids))) % 2 == 0}[kind]
    return attribution, kind, value


def operation(n: int, ids: list[int], annotator: str = "crash"):
    """The n-th change as the function of a Project the window's saver runs."""
    attribution, kind, value = change(n, ids)
    method = {"label": "set_label", "note": "set_note", "flag": "set_flag"}[kind]
    return lambda project: getattr(project, method)(attribution, annotator, value)


def expected_state(last: int, ids: list[int]) -> dict[int, tuple]:
    """(label, note, flagged) of each attribution once changes 0..last are applied."""
    state = {a: [None, "", False] for a in ids}
    for n in range(last + 1):
        attribution, kind, value = change(n, ids)
        state[attribution][("label", "note", "flag").index(kind)] = value
    return {a: tuple(v) for a, v in state.items()}


def stored_state(project, ids: list[int], annotator: str = "crash") -> dict[int, tuple]:
    out = {}
    for a in ids:
        annotation = project.annotation(a, annotator)
        out[a] = (annotation.label, annotation.note, annotation.flagged) if annotation else (None, "", False)
    return out
