"""Splitting a project among annotators: one project file each, with a share of the documents,
and a chosen fraction of the documents given to everyone, for agreement."""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import random
from dataclasses import dataclass, field
from pathlib import Path

from stancelabel.core.errors import StanceLabelError
from stancelabel.core.filenames import UNSAFE_FILE_CHARS, UniqueNames, file_name_part, name_max
from stancelabel.core.model import ImportedAttribution, SourceDocument
from stancelabel.core.names import clean_name
from stancelabel.core.outputs import Kind, check_not_companion, plan_output
from stancelabel.store.project import Project, utc_now

log = logging.getLogger(__name__)


@dataclass
class SplitReport:
    files: dict[str, str] = field(default_factory=dict)  # annotator -> file
    documents: dict[str, int] = field(default_factory=dict)  # annotator -> documents
    shared: int = 0
    #: annotators whose file name is not the plain STEM-NAME.stance (a name that is not a safe file
    #: name, a clash, or one too long): annotator -> file name
    renamed: dict[str, str] = field(default_factory=dict)


def assign(shas: list[str], annotators: list[str], overlap: float, seed: int) -> tuple[dict[str, list[str]], list[str]]:
    """Which documents (by text hash) each annotator gets; the shared ones go to all of them."""
    order = sorted(shas)
    random.Random(seed).shuffle(order)
    shared = order[:round(overlap * len(order))]
    share: dict[str, list[str]] = {name: list(shared) for name in annotators}
    for i, sha in enumerate(order[len(shared):]):
        share[annotators[i % len(annotators)]].append(sha)
    return share, shared


def file_names(stem: str, names: list[str], max_bytes: int) -> dict[str, str]:
    """Each annotator's file name: ``STEM-NAME.stance``, unique (also where case does not count) and within
    the file system's limit; a name that had to change to be a file name gets a short hash of itself."""
    unique = UniqueNames(max_bytes - len("-journal"))  # room for SQLite's files beside each
    return {name: unique.take(f"{stem}-{file_name_part(name, UNSAFE_FILE_CHARS, 'annotator')}", ".stance", name)
            for name in names}


def _folder(named: str | Path) -> tuple[Path, bool]:
    """The output folder, made when missing (its parent must exist), and whether it was made; refused in
    one line otherwise."""
    if not str(named):  # checked before Path(), which takes "" for the current folder
        raise StanceLabelError("no output folder named (an empty path); give the folder for the annotators' files")
    path = Path(named)
    try:
        if path.is_dir():
            return path, False
        if path.exists() or path.is_symlink():
            raise StanceLabelError(f"{path}: is not a folder; give a folder for the annotators' files")
        if not path.parent.is_dir():
            raise StanceLabelError(f"{path}: the folder {str(path.parent)!r} does not exist; create it first")
        check_not_companion(path)
        path.mkdir()  # with the permissions the umask gives
    except OSError as error:
        reason = "the name is too long for this file system" if error.errno == errno.ENAMETOOLONG else error.strerror
        raise StanceLabelError(f"{path}: cannot make the folder ({reason})") from None
    return path, True


def split(project: Project, annotators: list[str], overlap: float, seed: int, folder: str | Path) -> SplitReport:
    """Write one project file per annotator into ``folder``; the source project records the assignment.

    Every target is checked before anything is written (an existing file, a project, a name too long is
    refused); the files are built beside their names and renamed into place together at the end.
    """
    names = [clean_name(a, "annotator name") for a in annotators if a.strip()]
    twice = next((name for number, name in enumerate(names) if name in names[:number]), None)
    if twice is not None:
        raise StanceLabelError(f"annotator {twice!r} is given twice; give each annotator once")
    if len(names) < 2:
        raise StanceLabelError("split needs at least two different annotator names")
    if not 0 <= overlap <= 1:
        raise StanceLabelError(f"--overlap must be between 0 and 1 (got {overlap})")
    folder, made = _folder(folder)
    try:
        files = file_names(project.path.stem, names, name_max(folder))
        targets = {name: plan_output(folder / files[name], Kind.PROJECT, reading=[project.path],
                                     reading_role="the project being split", replace=False) for name in names}
        ids = {project.document(i).sha256: i for i in project.document_ids()}
        share, shared = assign(list(ids), names, overlap, seed)
        report = SplitReport(shared=len(shared))
        labels = project.labels()
        # The assignment is recorded first: a project that cannot be written (read-only) is refused before
        # any file is made, and the earlier record comes back if the files cannot all be written.
        earlier = project.get_setting("split")
        project.set_setting("split", json.dumps({
            "annotators": names, "overlap": overlap, "seed": seed, "created_at": utc_now(),
            "shared": shared, "documents": {name: share[name] for name in names}, "files": files}))
        try:
            with contextlib.ExitStack() as renames:  # each file is renamed into place when all are built
                for name, target in targets.items():
                    partial = renames.enter_context(target.building())
                    _write_share(project, partial, name, share[name], len(shared), overlap, seed, ids, labels)
                    report.files[name] = str(target.path)
                    report.documents[name] = len(share[name])
                    plain = f"{project.path.stem}-{name}.stance"
                    if files[name] != plain:
                        report.renamed[name] = files[name]
        except BaseException:
            with contextlib.suppress(StanceLabelError):
                project.set_setting("split", earlier or "")  # readers take "" as no split
            raise
    except BaseException:
        if made:  # the folder this split made, left empty
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    log.info("split %s among %s into %s", project.path, ", ".join(names), folder)
    return report


def _write_share(project: Project, path: Path, name: str, shas: list[str], shared: int, overlap: float,
                 seed: int, ids: dict[str, int], labels: list) -> None:
    with Project.open(path, create=True, name=f"{project.name} — {name}") as copy, copy.transaction():
        copy.save_labels([label.__class__(label.name, label.shortcut, label.colour, label.description)
                          for label in labels])
        copy.set_guidelines(project.guidelines())
        if project.get_setting("pipeline"):
            copy.set_setting("pipeline", project.get_setting("pipeline"))
        for sha in shas:
            document_id = ids[sha]
            document = project.document(document_id)
            sentences = [(s.start, s.end) for s in project.sentences(document_id)]
            attributions = [
                (ImportedAttribution(a.source, a.cue, a.content, source_hint=a.source_hint,
                                     suggestion=a.suggestion, key=a.key, origin=a.origin), a.origin)
                for a in project.attributions(document_id) if a.status == "active"
            ]
            copy.add_document(SourceDocument(document.external_id, document.text, document.source_file,
                                             title=document.title, meta=document.meta, target=document.target),
                              sentences, attributions=attributions)
        copy.set_setting("assignment", json.dumps({
            "annotator": name, "source_project": project.name, "documents": len(shas),
            "shared_documents": shared, "overlap": overlap, "seed": seed, "created_at": utc_now()}))
