"""Running attribution detection over documents already in a project (`stancelabel detect`)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from typing import TYPE_CHECKING

from stancelabel.core.model import SourceDocument
from stancelabel.io.importer import Progress
from stancelabel.nlp.pipeline import process
from stancelabel.store.project import Project

if TYPE_CHECKING:
    from spacy.language import Language


@dataclass(slots=True)
class DetectReport:
    documents: int = 0
    removed: int = 0
    added: int = 0
    interrupted: bool = False


def detect_in_project(
    project: Project,
    nlp: Language,
    *,
    redo: bool = False,
    n_process: int = 1,
    batch_size: int = 16,
    progress: Callable[[Progress], None] | None = None,
) -> DetectReport:
    """Detect attributions in the project's documents, one transaction per document.

    Without ``redo`` only documents with no automatic attributions yet are read.
    With ``redo`` the automatic attributions that nobody has labelled, noted,
    flagged or edited are removed first and every document is read again;
    attributions people worked on stay, whatever the detector now finds.
    """
    from stancelabel.nlp.detect import detected

    report = DetectReport()
    if redo:
        report.removed = project.remove_untouched_auto_attributions()
    document_ids = project.document_ids(without_auto_attributions=not redo)
    total = len(document_ids)
    texts = (project.document(i).text for i in document_ids)
    try:
        with closing(process(nlp, texts, n_process=n_process, batch_size=batch_size)) as stream:
            for index, doc in enumerate(stream):
                document = project.document(document_ids[index])
                source = SourceDocument(external_id=document.external_id, text=document.text,
                                        source_file=document.source_file)
                attributions = [(a, "auto") for a in detected(doc)]
                _, added = project.add_document(source, [], attributions=attributions)
                report.added += added
                report.documents += 1
                if progress:
                    progress(Progress(report.documents, total, len(document.text.split())))
    except KeyboardInterrupt:
        report.interrupted = True
    return report
