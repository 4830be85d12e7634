"""A synthetic but realistic project file with many attributions, for GUI scale benchmarks.

Every document is ``per_document`` sentences of the form

    <Speaker name>, <role phrase>, <cue verb> that <content clause>.

and every sentence holds exactly one automatic attribution whose source, cue
and content spans are the document-level ``str`` offsets of the speaker, the
cue verb and the content clause. Names and clauses are drawn with
``random.Random(seed)`` from the small word lists below; some names and
places are not ASCII (``Zoë Ångström``), so character offsets differ from byte
offsets. The same arguments always build the same project.

The file is filled through the store's public API (``Project.add_document``
inside ``Project.transaction`` blocks), so it is what an import would write.

    .venv/bin/python benchmarks/synthetic.py OUT.stance [--attributions N] [--per-document K] [--seed S]

From a benchmark, ``cached_synthetic_project(N)`` builds the file once into
``benchmarks/.cache/`` and returns its path on later calls.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO))

from stancelabel.core.model import ImportedAttribution, SourceDocument  # noqa: E402
from stancelabel.store import schema  # noqa: E402
from stancelabel.store.project import Project  # noqa: E402

CACHE_DIR = Path(__file__).resolve().parent / ".cache"

#: documents stored per transaction; each add_document inside it is a savepoint
DOCUMENTS_PER_TRANSACTION = 500

SPEAKERS = (
    "Anna Berg", "Tom Hale", "Maria Lopez", "Zoë Ångström", "José Núñez", "Łukasz Wróbel",
    "Chloé Dubois-Lefèvre", "Nguyễn Thị Lan", "Søren Kjær", "Ömer Çelik", "Li Wei", "Aoife Ní Bhriain",
    "Dr. Hans-Jürgen Müller", "Priya Raghunathan", "Kwame Mensah", "Sir Reginald Pemberton-Smythe",
    "Ana Lúcia Gonçalves", "Olaf", "Marek Dvořák", "Ingrid Størmer", "Fatima Al-Zahra", "Jean Dupont",
    "Elżbieta Kowalczyk", "Rui Patrício", "Mette-Marit Halvorsen", "Giorgos Papadopoulos",
    "The spokeswoman", "A senior official", "Ben", "Émilie Côté",
)

ROLES = (
    "the finance minister", "a spokesperson for the ministry", "mayor of Málaga",
    "chief executive of Nordlys Energi", "an economist at the central bank",
    "leader of the opposition", "a professor of public health at the University of Göteborg",
    "the union's general secretary", "head of the regional police", "a local shopkeeper",
    "who chairs the parliamentary budget committee", "the company's founder", "a nurse in Kraków",
    "EU commissioner for trade", "the coach", "a climate scientist who advises the government",
    "director of the Société Générale des Eaux", "a resident of Ærøskøbing",
    "the deputy prime minister", "an analyst",
)

#: cue verbs, each with the stance a suggestion would propose for it (or None)
CUES = (
    ("said", None), ("argued", "asserts"), ("claimed", "asserts"), ("insisted", "asserts"),
    ("warned", "asserts"), ("stressed", "asserts"), ("denied", "denies"), ("rejected claims", "denies"),
    ("disputed", "denies"), ("admitted", "qualifies"), ("conceded", "qualifies"),
    ("suggested", "qualifies"), ("acknowledged", "qualifies"), ("noted", None), ("pointed out", None),
    ("told reporters", None), ("made clear", "asserts"), ("announced", None), ("maintained", "asserts"),
    ("hinted", "qualifies"),
)
CUE_WORDS = frozenset(cue for cue, _ in CUES)

SUBJECTS = (
    "the government", "the council", "the new budget", "the plan", "the company", "inflation",
    "the strike", "the bridge over the Øresund", "prices at the café on Große Straße", "the reform",
    "the hospital in Łódź", "unemployment", "the ceasefire", "the merger", "the election",
    "the water utility", "tourism", "the central bank", "the pension fund", "the tram line to Zürich",
    "the school", "nobody", "the negotiations", "exports",
)

PREDICATES = (
    "would raise taxes", "had acted lawfully", "was on track", "could collapse within weeks",
    "would not survive another winter", "had been misled about the costs", "is fully funded",
    "will cut {n} jobs", "rose by {n} percent", "fell for the {o} month in a row",
    "had broken its promises", "must be delayed", "would create {n} new homes",
    "was never discussed in cabinet", "posed no risk to residents", "had doubled since {y}",
    "remained the biggest challenge", "would be decided by the courts",
    "is a matter for the regulator", "had cost taxpayers {n} million euros", "was a mistake",
    "will open in {y}", "has the support of most members", "could not be ruled out",
)

TAILS = (
    "", "", "", "", " despite the protests", " after months of talks", " according to the latest figures",
    " unless the coalition changes course", " by the end of the year", " in the northern districts",
    " before the summit in Genève", " as long as interest rates stay high",
    ", a claim the opposition called absurd", " while the investigation continues",
    " if nothing changes", " because of rising energy costs in Österreich and beyond",
)

ORDINALS = ("second", "third", "fourth", "fifth", "sixth", "seventh")


def _content(rng: random.Random) -> str:
    predicate = rng.choice(PREDICATES).format(
        n=rng.choice((3, 12, 40, 250, 1200, 4500)) if rng.random() < 0.5 else rng.randint(2, 999),
        o=rng.choice(ORDINALS), y=rng.randint(1995, 2024),
    )
    return f"{rng.choice(SUBJECTS)} {predicate}{rng.choice(TAILS)}"


def _document(rng: random.Random, sentences: int) -> tuple[str, list[tuple[int, int]], list[ImportedAttribution]]:
    """One document's text, sentence offsets and attributions (one per sentence)."""
    parts: list[str] = []
    offsets: list[tuple[int, int]] = []
    found: list[ImportedAttribution] = []
    at = 0
    for i in range(sentences):
        if i:
            separator = "\n" if rng.random() < 0.2 else " "
            parts.append(separator)
            at += len(separator)
        speaker = rng.choice(SPEAKERS)
        cue, stance = rng.choice(CUES)
        content = _content(rng)
        head = f"{speaker}, {rng.choice(ROLES)}, "
        sentence = f"{head}{cue} that {content}."
        parts.append(sentence)
        cue_start = at + len(head)
        content_start = cue_start + len(cue) + len(" that ")
        found.append(ImportedAttribution(
            source=((at, at + len(speaker)),),
            cue=((cue_start, cue_start + len(cue)),),
            content=((content_start, content_start + len(content)),),
            source_hint=None,
            suggestion=stance if rng.random() < 0.6 else None,
        ))
        offsets.append((at, at + len(sentence)))
        at += len(sentence)
    return "".join(parts), offsets, found


def make_synthetic_project(path: Path, attributions: int = 1_000_000, per_document: int = 20, seed: int = 0,
                           *, name: str | None = None) -> Path:
    """Create a new project file at ``path`` with ``attributions`` automatic attributions.

    Documents hold ``per_document`` sentences (the last one fewer when it does
    not divide evenly), one attribution each. ``name`` is the project's name
    (default: the file name without suffix). Refuses an existing ``path``.
    """
    path = Path(path)
    if attributions < 0 or per_document < 1:
        raise ValueError("attributions must be >= 0 and per_document >= 1")
    if path.exists():
        raise FileExistsError(f"{path} exists; make_synthetic_project only creates new files")
    rng = random.Random(seed)
    documents = -(-attributions // per_document)
    width = max(6, len(str(max(documents - 1, 0))))
    seen: set[bytes] = set()  # texts already used: a repeated text would be stored once
    with Project.open(path, create=True, name=name) as project:
        import_id = project.begin_import([f"synthetic:attributions={attributions},per_document={per_document},"
                                          f"seed={seed}"], "synthetic", "synthetic", "0")
        for first in range(0, documents, DOCUMENTS_PER_TRANSACTION):
            with project.transaction():
                for index in range(first, min(first + DOCUMENTS_PER_TRANSACTION, documents)):
                    count = min(per_document, attributions - index * per_document)
                    while True:
                        text, sentences, found = _document(rng, count)
                        digest = hashlib.sha256(text.encode("utf-8")).digest()[:16]
                        if digest not in seen:
                            seen.add(digest)
                            break
                    external_id = f"synthetic-{index:0{width}d}"
                    source = SourceDocument(external_id, text, f"synthetic/{external_id}.txt",
                                            title=f"Synthetic article {index}", meta={"synthetic": True})
                    _, added = project.add_document(source, sentences, import_id=import_id,
                                                    attributions=[(item, "auto") for item in found])
                    if added != count:
                        raise RuntimeError(f"{external_id}: the store added {added} of {count} attributions")
        project.finish_import(import_id)
    return path


def cache_path(attributions: int, per_document: int = 20, seed: int = 0) -> Path:
    """Where ``cached_synthetic_project`` keeps the file built from these parameters.

    The schema version is in the name: a file of an older schema would be upgraded
    (and backed up) when opened, which a benchmark must not time.
    """
    version = len(schema.MIGRATIONS)
    return CACHE_DIR / f"synthetic-a{attributions}-k{per_document}-s{seed}-v{version}.stance"


def _remove_with_sidecars(path: Path) -> None:
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def cached_synthetic_project(attributions: int, per_document: int = 20, seed: int = 0) -> Path:
    """The synthetic project for these parameters in ``benchmarks/.cache/``, built if missing.

    It is built under a temporary name and renamed into place once complete
    and closed, so a build that was interrupted is never taken for a finished
    one; leftovers of dead builds are removed. Do not change the returned file
    in a benchmark (copy it first): later calls hand out the same file.
    """
    final = cache_path(attributions, per_document, seed)
    if final.exists():
        return final
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    for stale in CACHE_DIR.glob(f"{final.name}.partial-*"):
        pid = stale.name.rsplit("partial-", 1)[1].split("-", 1)[0]
        if pid.isdigit() and not _process_alive(int(pid)):
            stale.unlink(missing_ok=True)
    partial = final.with_name(f"{final.name}.partial-{os.getpid()}")
    _remove_with_sidecars(partial)
    try:
        make_synthetic_project(partial, attributions, per_document, seed, name=final.stem)
        if partial.with_name(partial.name + "-wal").exists():  # closing should have checkpointed it away
            raise RuntimeError(f"{partial} still has a WAL file after closing; not caching it")
        os.replace(partial, final)
    finally:
        _remove_with_sidecars(partial)
    return final


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="the project file to create (must not exist)")
    parser.add_argument("--attributions", type=int, default=1_000_000, help="how many (default 1,000,000)")
    parser.add_argument("--per-document", type=int, default=20, help="sentences and attributions per document "
                        "(default 20)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)
    if args.attributions < 0 or args.per_document < 1:
        parser.error("--attributions must be >= 0 and --per-document >= 1")
    if args.out.exists():
        parser.error(f"{args.out} exists; give a new file name")
    start = time.perf_counter()
    make_synthetic_project(args.out, args.attributions, args.per_document, args.seed)
    seconds = time.perf_counter() - start
    documents = -(-args.attributions // args.per_document)
    size = args.out.stat().st_size
    print(f"wrote {args.out}: {documents:,} documents, {args.attributions:,} attributions "
          f"in {seconds:.1f} s ({args.attributions / max(seconds, 1e-9):,.0f} attributions/s), "
          f"{size / 1e6:,.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
