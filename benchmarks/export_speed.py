"""Export speed and memory: ``stancelabel export`` against a bare loop over the same rows.

Goal (the export issue): exporting 1,000,000 labels runs at >= 0.8x a bare loop
that reads the same rows from SQLite and writes them with the same serialiser,
and the export's peak memory stays flat in the number of rows.

Baseline, measured in the same run on the same file: ``Project.label_rows`` (the
export's own query) streamed to a file, each row written with the same JSON
encoder. The export adds what makes a record useful: the sentence, texts of the
spans, Prodigy's fields, hashes. Memory: the peak resident size of an export
process for 10% of the rows and for all of them.

    .venv/bin/python benchmarks/export_speed.py [--labels 1000000] [--format jsonl]

The labelled project (the synthetic project of benchmarks/synthetic.py with
every attribution labelled by one annotator) is built once into benchmarks/.cache/.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from synthetic import CACHE_DIR, cached_synthetic_project  # noqa: E402

from stancelabel.io.export import JSON_DUMPS, ExportOptions, export  # noqa: E402
from stancelabel.store import schema  # noqa: E402
from stancelabel.store.project import Project  # noqa: E402

RATIO_GOAL = 0.8
LABELS = ("asserts", "denies", "qualifies")


def labelled_project(labels: int) -> Path:
    """The synthetic project with every attribution labelled once, cached."""
    path = CACHE_DIR / f"labelled-a{labels}-v{len(schema.MIGRATIONS)}.stance"
    if path.exists():
        return path
    partial = path.with_name(path.name + f".partial-{os.getpid()}")
    shutil.copyfile(cached_synthetic_project(labels), partial)
    with Project.open(partial) as project, project.transaction():
        for i, attribution_id in enumerate(project.queue_ids("bench")):
            project.set_label(attribution_id, "bench", LABELS[i % 3])
            if i % 7 == 0:
                project.set_note(attribution_id, "bench", "=check this one — ✓")
    os.replace(partial, path)
    return path


def bare(project: Project, out_path: Path, limit: int | None) -> int:
    """The same rows, the same serialiser, nothing added."""
    n = 0
    with open(out_path, "wb") as out:
        for row in project.label_rows():
            out.write(JSON_DUMPS(tuple(row)))  # a LabelRow is a named tuple, which orjson leaves to its caller
            out.write(b"\n")
            n += 1
            if limit is not None and n >= limit:
                break
    return n


def peak_rss_mb(project_path: Path, out_path: Path, fmt: str, limit: int | None) -> float:
    """Peak resident memory of a fresh process exporting (the first ``limit`` records)."""
    script = (
        "import resource, sys, itertools\n"
        f"sys.path.insert(0, {str(REPO)!r})\n"
        "from stancelabel.io import export as e\n"
        "from stancelabel.store.project import Project\n"
        f"limit = {limit!r}\n"
        "original = e.iter_records\n"
        "if limit is not None:\n"
        "    e.iter_records = lambda *a, **k: itertools.islice(original(*a, **k), limit)\n"
        f"with Project.open({str(project_path)!r}, readonly=True) as p:\n"
        f"    e.export(p, {str(out_path)!r}, e.ExportOptions(format={fmt!r}))\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return int(result.stdout.strip().splitlines()[-1]) / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labels", type=int, default=1_000_000)
    parser.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    parser.add_argument("--repeat", type=int, default=2, help="timed runs of each; the best counts (default 2)")
    args = parser.parse_args(argv)
    print(f"# {platform.platform()} · Python {platform.python_version()} · {os.cpu_count()} CPUs")
    source = labelled_project(args.labels)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        bare_times, export_times = [], []
        with Project.open(source, readonly=True) as project:
            for _ in range(args.repeat):
                start = time.perf_counter()
                rows = bare(project, folder / "bare.jsonl", None)
                bare_times.append(time.perf_counter() - start)
                start = time.perf_counter()
                report = export(project, folder / f"out.{args.format}", ExportOptions(format=args.format))
                export_times.append(time.perf_counter() - start)
        small = peak_rss_mb(source, folder / "small.out", args.format, args.labels // 10)
        full = peak_rss_mb(source, folder / "full.out", args.format, None)
    best_bare, best_export = min(bare_times), min(export_times)
    ratio = best_bare / best_export
    print(f"labels: {rows:,} rows, {report.records:,} records exported ({args.format})")
    print(f"bare loop     {best_bare:7.2f} s  {rows / best_bare:12,.0f} rows/s")
    print(f"export        {best_export:7.2f} s  {report.records / best_export:12,.0f} records/s")
    print(f"ratio export/bare speed: {ratio:.2f}  (goal >= {RATIO_GOAL}) {'PASS' if ratio >= RATIO_GOAL else 'MISS'}")
    print(f"peak memory: {small:.0f} MB for {args.labels // 10:,} records, {full:.0f} MB for {args.labels:,} "
          f"(x{full / small:.2f})")
    return 0 if ratio >= RATIO_GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
