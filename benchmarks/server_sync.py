"""Shared projects on a real PostgreSQL: many annotators syncing through server restarts, and pull speed.

Part 1, a team: ``--annotators`` processes each join a shared project (not blind, so every
file can hold everyone's labels) and label ``--items`` attributions one by one, syncing every
``--every`` seconds, while the server is stopped and started again twice (once politely, once
killed). Afterwards every process syncs once more, and the check is row by row: the server's
event log and every local file hold exactly the union of the events the annotators made (by
merge's identity), none twice. Figures: the time from a label to its arrival on the server
(the server's commit time minus the event's time), and the time of one ``set_label`` during
the run against the baseline of the same labelling without any sync, measured first in the
same run.

Part 2, pull speed: ``--pull-files`` annotator files of ``--pull-labels`` labels each
(benchmarks/team_speed.py builds and caches them) are merged into one file (the baseline:
``merge`` of the same events from files), that file is published, and a fresh local copy
pulls every event (``join``). Goal: the pull within 2x of the merge.

    .venv/bin/python benchmarks/server_sync.py                 # quick: 8 x 500, 4 x 25,000
    .venv/bin/python benchmarks/server_sync.py --annotators 50 --items 2000 --pull-files 10 --pull-labels 100000

It starts its own PostgreSQL (tests/pg.py: the installed server, a temporary folder, a random
loopback port) and removes it afterwards.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
for folder in (REPO, REPO / "benchmarks", REPO / "tests"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

LABELS = ("asserts", "denies", "qualifies")
GOAL_PULL = 2.0


def _start_server(folder: Path):
    import pg

    user = pg._os_user()
    if user is not None:
        os.chown(folder, user.pw_uid, user.pw_gid)
    server = pg.PostgresServer(pg._bindir(), folder, pg._free_port(), user)
    server.init()
    server.start()
    server.execute("CREATE ROLE lead LOGIN CREATEROLE")
    server.execute("CREATE DATABASE team OWNER lead")
    return server


def _percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))] if values else float("nan")


# -- part 1: a team ----------------------------------------------------------------------------------


def _label_all(project, name: str, ids: list[int], pace: float, every: float | None, seed: int) -> dict:
    """Label every id once (a random label), syncing every ``every`` seconds; the timings."""
    from stancelabel.core.errors import StanceLabelError
    from stancelabel.server.sync import sync

    rng = random.Random(seed)
    times, syncs, failed = [], 0, 0
    last = time.monotonic()
    for attribution_id in ids:
        start = time.perf_counter()
        project.set_label(attribution_id, name, rng.choice(LABELS))
        times.append(time.perf_counter() - start)
        if every is not None and time.monotonic() - last >= every:
            last = time.monotonic()
            try:
                sync(project)
                syncs += 1
            except StanceLabelError:
                failed += 1  # the server is away: labelling goes on, the next sync sends it
        time.sleep(pace)
    return {"times": times, "syncs": syncs, "failed": failed}


def _sync_until_done(project) -> int:
    from stancelabel.core.errors import StanceLabelError
    from stancelabel.server.sync import sync

    for attempt in range(600):
        try:
            sync(project)
            return attempt
        except StanceLabelError:
            time.sleep(0.5)
    raise RuntimeError("the server did not come back within five minutes")


def _annotator(index: int, url: str, folder: str, items: int, pace: float, every: float, barrier, results) -> None:
    from stancelabel.server.sync import join
    from stancelabel.store.project import Project

    name = f"annotator{index:02}"
    path = Path(folder) / f"{name}.stance"
    for _ in range(120):
        try:
            join(url, path, name)
            break
        except Exception:  # noqa: BLE001 - the server restarting while we join: try again
            for leftover in Path(folder).glob(f"{name}.stance*"):
                leftover.unlink()
            time.sleep(0.5)
    with Project.open(path) as project:
        ids = [x.id for d in project.document_ids() for x in project.attributions(d)][:items]
        random.Random(index).shuffle(ids)
        run = _label_all(project, name, ids, pace, every, seed=index)
        _sync_until_done(project)  # everything of mine is on the server
    barrier.wait()
    with Project.open(path) as project:
        _sync_until_done(project)  # and everyone's is here
    results.put((name, run["times"], run["syncs"], run["failed"]))


def _identities(path: Path) -> list[str]:
    """Every event of a file, as the server names it (merge's identity), in the file's order."""
    from stancelabel.server import local
    from stancelabel.store.project import Project

    out, after = [], 0
    with Project.open(path, readonly=True) as project:
        while True:
            batch, last = local.local_events(project, after, skip_source=None, limit=50_000)
            if last == after:
                return out
            out.extend(e.ident for e in batch)
            after = last


def team_run(args, server, folder: Path) -> int:
    import psycopg
    from synthetic import cached_synthetic_project

    from stancelabel.server.sync import add_annotator, publish
    from stancelabel.store.project import Project

    lead_url = server.conninfo("lead", "team")
    lead_path = folder / "lead.stance"
    shutil.copyfile(cached_synthetic_project(args.items, per_document=20), lead_path)

    # the baseline: the same labelling on a file of its own, no server
    shutil.copyfile(lead_path, folder / "baseline.stance")
    with Project.open(folder / "baseline.stance") as project:
        ids = [x.id for d in project.document_ids() for x in project.attributions(d)]
        baseline = _label_all(project, "baseline", ids, args.pace, None, seed=0)["times"]

    with Project.open(lead_path) as lead:
        publish(lead, lead_url, schema="bench", blind=False, lead="lead")
    roles = [add_annotator(lead_url, f"annotator{i:02}")[0] for i in range(args.annotators)]
    expected = args.items * (args.pace + 0.004)  # labelling time of one annotator, roughly
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(args.annotators), context.Queue()
    workers = [context.Process(target=_annotator, args=(i, server.conninfo(role, "team"), str(folder), args.items,
                                                          args.pace, args.every, barrier, results))
               for i, role in enumerate(roles)]
    start = time.monotonic()
    for worker in workers:
        worker.start()
    outages = []
    for fraction, how in ((0.3, "stopped"), (0.6, "killed")):
        time.sleep(max(0.0, start + 5 + fraction * expected - time.monotonic()))
        (server.stop if how == "stopped" else server.kill)()
        down = time.monotonic()
        time.sleep(args.outage)
        server.start()
        outages.append((how, time.monotonic() - down))
    runs = [results.get(timeout=3600) for _ in workers]
    for worker in workers:
        worker.join()
    elapsed = time.monotonic() - start

    with psycopg.connect(lead_url) as conn:
        on_server = [r[0] for r in conn.execute("SELECT ident FROM bench.event ORDER BY seq")]
        delays = [r[0] for r in conn.execute(
            "SELECT extract(epoch FROM pushed_at - at::timestamptz) FROM bench.event WHERE annotator <> 'lead'")]
    made: set[str] = set()
    for i in range(args.annotators):  # each annotator's own events, from their file
        name = f"annotator{i:02}"
        from stancelabel.server import local

        with Project.open(folder / f"{name}.stance", readonly=True) as project:
            batch, _ = local.local_events(project, 0, skip_source=None, annotator=name, limit=10**9)
        made.update(e.ident for e in batch)
    problems = []
    if len(on_server) != len(set(on_server)) or set(on_server) != made:
        problems.append(f"server: {len(on_server)} events, {len(set(on_server))} distinct, {len(made)} made")
    for i in range(args.annotators):
        held = _identities(folder / f"annotator{i:02}.stance")
        if len(held) != len(set(held)) or set(held) != set(on_server):
            problems.append(f"annotator{i:02}: {len(held)} events, {len(set(held))} distinct, "
                            f"{len(set(held) ^ set(on_server))} differ from the server's")
    during = [t for _, times, _, _ in runs for t in times]
    delays = [float(d) for d in delays]
    print(f"team: {args.annotators} annotators x {args.items:,} items = {len(made):,} labels in {elapsed:.1f} s, "
          f"syncing every {args.every:g} s; server " + ", ".join(f"{how} for {s:.1f} s" for how, s in outages))
    print(f"  syncs: {sum(r[2] for r in runs):,} done, {sum(r[3] for r in runs):,} failed while the server was away")
    print(f"  label -> server: median {statistics.median(delays):.2f} s, p95 {_percentile(delays, 95):.2f} s, "
          f"max {max(delays):.2f} s")
    b50, b99, d50, d99 = (_percentile(baseline, 50), _percentile(baseline, 99), _percentile(during, 50),
                          _percentile(during, 99))
    print(f"  set_label: baseline (no server, alone) median {b50 * 1000:.1f} ms, p99 {b99 * 1000:.1f} ms; "
          f"during the run median {d50 * 1000:.1f} ms ({d50 / b50:.1f}x), p99 {d99 * 1000:.1f} ms ({d99 / b99:.1f}x)")
    print(f"  union check, row by row: server and {args.annotators} files each hold {len(set(on_server)):,} events: "
          + ("OK, nothing lost or doubled" if not problems else "FAILED"))
    for problem in problems:
        print(f"    {problem}")
    return 1 if problems else 0


# -- part 2: pull speed ----------------------------------------------------------------------------------


def pull_run(args, server, folder: Path) -> int:
    from team_speed import annotator_file

    from stancelabel.server.sync import join, publish
    from stancelabel.store.project import Project
    from stancelabel.team.merge import merge

    url = server.conninfo("lead", "team")
    inputs = [annotator_file(i, args.pull_labels) for i in range(args.pull_files)]
    os.sync()
    start = time.perf_counter()
    merge(folder / "merged.stance", inputs)
    merging = time.perf_counter() - start
    with Project.open(folder / "merged.stance") as merged:
        events = merged.event_count()
        start = time.perf_counter()
        publish(merged, url, schema="pull")
        publishing = time.perf_counter() - start
    os.sync()
    start = time.perf_counter()
    report = join(url, folder / "pulled.stance", None, schema="pull", whole=True)
    pulling = time.perf_counter() - start
    ok = report.sync.pulled.events == events
    ratio = pulling / merging
    print(f"pull: {args.pull_files} files x {args.pull_labels:,} labels = {events:,} events")
    print(f"  baseline: merge of the files          {merging:7.2f} s")
    print(f"  publish of the merged file            {publishing:7.2f} s ({publishing / merging:.1f}x)")
    print(f"  pull into a fresh copy (join)         {pulling:7.2f} s ({ratio:.1f}x; goal within {GOAL_PULL:g}x) "
          f"{'PASS' if ratio <= GOAL_PULL else 'MISS'}; {report.sync.pulled.events:,} events "
          + ("all there" if ok else "MISSING SOME"))
    return 0 if ok else 1


# -- part 3: key presses while the window syncs ------------------------------------------------------


def _presses(window, count: int, while_syncing: bool) -> list[float]:
    """Milliseconds from a label key press to the label saved and the next item shown, for up to
    ``count`` presses (while the window's sync runs, when asked: presses after it ended do not count)."""
    from PySide6.QtCore import QCoreApplication, Qt
    from PySide6.QtTest import QTest

    keys = [Qt.Key.Key_D, Qt.Key.Key_Q]
    times = []
    for i in range(count):
        if while_syncing and not window.syncing.running:
            break
        row = window.current_row
        start = time.perf_counter()
        QTest.keyClick(window.pane, keys[i % 2])
        while window.current_row == row or not window.saver.idle:
            QCoreApplication.processEvents()
        times.append((time.perf_counter() - start) * 1000)
    return times


def keys_run(args, server, folder: Path) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QCoreApplication, QSettings
    from synthetic import cached_synthetic_project

    from stancelabel.gui.app import create_application
    from stancelabel.gui.main_window import MainWindow
    from stancelabel.gui.settings import Settings
    from stancelabel.server.sync import join, publish, sync
    from stancelabel.store.project import Project

    url = server.conninfo("lead", "team")
    lead = folder / "keys-lead.stance"
    shutil.copyfile(cached_synthetic_project(args.key_items, per_document=20), lead)
    with Project.open(lead) as project:
        publish(project, url, schema="keys", blind=False, lead="lead")
    join(url, folder / "keys-others.stance", None, schema="keys", whole=True)
    with Project.open(folder / "keys-others.stance") as others:  # others' labels, waiting on the server
        ids = [x.id for d in others.document_ids() for x in others.attributions(d)]
        with others.transaction():
            for k in range(args.key_others):
                for i, attribution_id in enumerate(ids):
                    others.set_label(attribution_id, f"other{k}", LABELS[(i + k) % 3])
        waiting = sync(others).pushed_events
    shutil.copyfile(lead, folder / "keys-baseline.stance")
    with Project.open(folder / "keys-baseline.stance") as project:
        project.set_setting("server", "")  # the same file, on no server: the window does not sync it

    app = create_application()  # noqa: F841 (kept alive for the whole run)
    results = {}
    for name in ("keys-baseline", "keys-lead"):
        settings = Settings(QSettings(str(folder / f"{name}.ini"), QSettings.Format.IniFormat))
        window = MainWindow(Project.open(folder / f"{name}.stance"), annotator="lead", settings=settings)
        window.resize(1280, 800)
        window.show()
        window.activateWindow()
        window.pane.setFocus()
        QCoreApplication.processEvents()
        syncing = name == "keys-lead"
        start = time.perf_counter()
        results[name] = _presses(window, args.key_presses, while_syncing=syncing)
        if syncing:
            while window.syncing.running:
                QCoreApplication.processEvents()
            pulled = window.project.event_count() - len(results[name])
            sync_s = time.perf_counter() - start
        window.close()
    base, during = results["keys-baseline"], results["keys-lead"]
    b50, b99, d50, d99 = (statistics.median(base), _percentile(base, 99), statistics.median(during),
                          _percentile(during, 99))
    print(f"keys: a window on {args.key_items:,} attributions pulling {waiting:,} events in the background "
          f"({pulled:,} in the file after {sync_s:.1f} s); {len(during)} presses while the sync ran")
    print(f"  key -> saved + next shown: baseline (no sync) median {b50:.1f} ms, p99 {b99:.1f} ms; "
          f"while syncing median {d50:.1f} ms ({d50 / b50:.1f}x), p99 {d99:.1f} ms ({d99 / b99:.1f}x; goal <= 50 ms) "
          f"{'PASS' if d99 <= 50 else 'MISS'}")
    return 0 if pulled >= waiting else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--annotators", type=int, default=8)
    parser.add_argument("--items", type=int, default=500, help="items each annotator labels")
    parser.add_argument("--every", type=float, default=3.0, help="seconds between an annotator's syncs")
    parser.add_argument("--pace", type=float, default=0.01, help="seconds between an annotator's labels")
    parser.add_argument("--outage", type=float, default=3.0, help="seconds the server stays away each time")
    parser.add_argument("--pull-files", type=int, default=4)
    parser.add_argument("--pull-labels", type=int, default=25_000)
    parser.add_argument("--key-items", type=int, default=20_000, help="attributions in the window's project")
    parser.add_argument("--key-others", type=int, default=5, help="annotators whose labels the window pulls")
    parser.add_argument("--key-presses", type=int, default=300)
    parser.add_argument("--skip", choices=("team", "pull", "keys"), action="append", default=[])
    args = parser.parse_args(argv)
    print(f"# {platform.platform()} · Python {platform.python_version()} · {os.cpu_count()} CPUs", flush=True)
    folder = Path(tempfile.mkdtemp(prefix="server-sync-"))
    server = _start_server(Path(tempfile.mkdtemp(prefix="server-sync-pg-")))
    status = 0
    try:
        if "team" not in args.skip:
            status |= team_run(args, server, folder)
        if "pull" not in args.skip:
            status |= pull_run(args, server, folder)
        if "keys" not in args.skip:
            status |= keys_run(args, server, folder)
    finally:
        server.stop("immediate")
        shutil.rmtree(server.folder, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
