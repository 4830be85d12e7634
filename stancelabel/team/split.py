"""Splitting a project among annotators: one project file each, with a share of the documents,
and a chosen fraction of the documents given to everyone, for agreement."""

from __future__ import annotations

import json
import os
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

from stancelabel.core.errors import StanceLabelError
from stancelabel.core.model import ImportedAttribution, SourceDocument
from stancelabel.store.project import Project, utc_now

_UNSAFE = re.compile(r"[^\w.-]+")


@dataclass
class SplitReport:
    files: dict[str, str] = field(default_factory=dict)  # annotator -> file
    documents: dict[str, int] = field(default_factory=dict)  # annotator -> documents
    shared: int = 0


def assign(shas: list[str], annotators: list[str], overlap: float, seed: int) -> tuple[dict[str, list[str]], list[str]]:
    """Which documents (by text hash) each annotator gets; the shared ones go to all of them."""
    order = sorted(shas)
    random.Random(seed).shuffle(order)
    shared = order[:round(overlap * len(order))]
    share: dict[str, list[str]] = {name: list(shared) for name in annotators}
    for i, sha in enumerate(order[len(shared):]):
        share[annotators[i % len(annotators)]].append(sha)
    return share, shared


def split(project: Project, annotators: list[str], overlap: float, seed: int, folder: Path) -> SplitReport:
    """Write one project file per annotator into ``folder``; the source project records the assignment."""
    names = [" ".join(a.split()) for a in annotators if a.strip()]
    if len(names) < 2 or len(set(names)) != len(names):
        raise StanceLabelError("split needs at least two different annotator names")
    if not 0 <= overlap <= 1:
        raise StanceLabelError(f"--overlap must be between 0 and 1 (got {overlap})")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stem = project.path.stem
    targets = {name: folder / f"{stem}-{_UNSAFE.sub('-', name).strip('-') or 'annotator'}.stance" for name in names}
    existing = [str(path) for path in targets.values() if path.exists()]
    if existing:
        raise StanceLabelError(f"{existing[0]}: already exists; choose another folder (nothing was written)")
    ids = {project.document(i).sha256: i for i in project.document_ids()}
    share, shared = assign(list(ids), names, overlap, seed)
    report = SplitReport(shared=len(shared))
    labels = project.labels()
    for name, path in targets.items():
        partial = path.with_name(path.name + ".partial")
        partial.unlink(missing_ok=True)
        with Project.open(partial, create=True, name=f"{project.name} — {name}") as copy, copy.transaction():
            copy.save_labels([label.__class__(label.name, label.shortcut, label.colour, label.description)
                              for label in labels])
            copy.set_guidelines(project.guidelines())
            if project.get_setting("pipeline"):
                copy.set_setting("pipeline", project.get_setting("pipeline"))
            for sha in share[name]:
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
                "annotator": name, "source_project": project.name, "documents": len(share[name]),
                "shared_documents": len(shared), "overlap": overlap, "seed": seed, "created_at": utc_now()}))
        os.replace(partial, path)
        report.files[name] = str(path)
        report.documents[name] = len(share[name])
    project.set_setting("split", json.dumps({
        "annotators": names, "overlap": overlap, "seed": seed, "created_at": utc_now(),
        "shared": shared, "documents": {name: share[name] for name in names}}))
    return report
