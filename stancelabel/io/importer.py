"""Importing files into a project: discover, read (all-or-nothing per file), parse, store."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from stancelabel.core.errors import InputFileError, PipelineError, ProjectFileError, StanceLabelError
from stancelabel.core.model import SourceDocument, normalize_target
from stancelabel.io import brat
from stancelabel.io.csvfile import read_csv
from stancelabel.io.jsonl import read_jsonl
from stancelabel.io.textfile import read_text
from stancelabel.nlp.pipeline import PipelineInfo, process, sentence_offsets
from stancelabel.store.project import Project

if TYPE_CHECKING:
    from spacy.language import Language

log = logging.getLogger(__name__)

FORMATS = ("auto", "txt", "jsonl", "csv", "brat")
_SUFFIX_FORMAT = {".txt": "txt", ".text": "txt", ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv",
                  ".tsv": "csv", ".ann": "brat"}


@dataclass(slots=True)
class ImportOptions:
    """What the user chose for one import run (CLI flags or the GUI's import dialog)."""

    format: str = "auto"
    text_column: str = "text"
    id_column: str | None = None
    annotator: str | None = None
    n_process: int = 1
    batch_size: int = 16
    #: find attributions in documents that do not bring their own (needs the detector in the pipeline)
    detect: bool = True
    #: the target claim of every document of the run that does not name its own
    target: str | None = None
    #: the CSV column holding each row's target claim
    target_column: str | None = None


@dataclass(slots=True)
class ImportReport:
    """What an import run did, for the summary line and the exit code."""

    files: int = 0
    documents_added: int = 0
    documents_present: int = 0
    sentences_added: int = 0
    attributions_added: int = 0
    words: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    interrupted: bool = False
    labels_added: int = 0
    labels_kept: int = 0
    #: groups of exported records attached to documents the project has
    records_attached: int = 0
    #: documents made from exported records whose document the project did not have
    documents_from_records: int = 0


@dataclass(frozen=True, slots=True)
class Progress:
    """Sent after each stored document."""

    done: int
    total: int
    words: int


def _format_of_file(path: Path) -> str | None:
    return _SUFFIX_FORMAT.get(path.suffix.lower())


def _is_brat_folder(path: Path) -> bool:
    return any(path.glob("*.ann")) or any((path / d).is_dir() for d in brat.ANNOTATION_FOLDERS)


def discover(paths: list[Path], fmt: str) -> tuple[list[tuple[Path, str]], list[str]]:
    """Expand the named paths into (file or BRAT folder, format) units; errors for the rest.

    Under ``auto``, when any named folder holds BRAT annotations, every named
    folder is read as BRAT, so a text folder and an annotation folder can be
    named side by side.
    """
    units: list[tuple[Path, str]] = []
    errors: list[str] = []
    try:
        folders = [p for p in paths if p.is_dir()]
    except OSError as error:
        return [], [f"{error.filename}: cannot use this path ({error.strerror})"]
    if fmt == "auto" and any(_is_brat_folder(p) for p in folders):
        fmt_for_folders = "brat"
    else:
        fmt_for_folders = fmt
    for path in paths:
        try:
            exists = path.exists()
        except OSError as error:
            errors.append(f"{path}: cannot use this path ({error.strerror})")
            continue
        if not exists:
            errors.append(f"{path}: no such file or folder")
        elif path.is_dir():
            if fmt_for_folders == "brat":
                units.append((path, "brat"))
                continue
            found = [
                (p, kind) for p in sorted(path.rglob("*"))
                if p.is_file() and not p.name.startswith(".")
                and (kind := _format_of_file(p)) not in (None, "brat") and fmt in ("auto", kind)
            ]
            if not found:
                errors.append(f"{path}: no importable files (.txt, .jsonl, .csv) in this folder")
            units.extend(found)
        elif fmt == "brat" or (fmt == "auto" and path.suffix.lower() == ".ann"):
            units.append((path, "brat"))
        else:
            kind = fmt if fmt != "auto" else _format_of_file(path)
            if kind is None:
                errors.append(f"{path}: unknown file type {path.suffix or '(none)'}; name it with --format")
            else:
                units.append((path, kind))
    return units, errors


def _brat_pairs(path: Path) -> list[brat.BratPair]:
    """The pair a single BRAT file belongs to (folders are read in read_sources)."""
    roots = [path.parent]
    if path.parent.name in brat.ANNOTATION_FOLDERS + ("text",):
        roots = [path.parent.parent]  # the PolNeAR layout: text/ and attributions/ side by side
    pairs = brat.find_pairs(*roots).pairs
    if path.suffix.lower() == ".txt":
        return [p for p in pairs if p.text == path]
    return [brat.BratPair(p.text, tuple(a for a in p.annotations if a[0] == path), p.doc_id, p.target)
            for p in pairs if any(a[0] == path for a in p.annotations)]


def read_unit(path: Path, kind: str, options: ImportOptions, report: ImportReport) -> Iterator[list[SourceDocument]]:
    """Documents of one unit, one list per file, each list complete or an InputFileError."""
    if kind == "txt":
        text = read_text(path)
        if not text.strip():
            raise InputFileError(path, "empty file, nothing to import")
        yield [SourceDocument(external_id=path.stem, text=text, source_file=str(path), title=path.stem)]
    elif kind == "jsonl":
        yield read_jsonl(path, options.annotator)
    elif kind == "csv":
        yield read_csv(path, options.text_column, options.id_column, options.target_column)
    elif kind == "brat":
        pairs = _brat_pairs(path)
        if not pairs:
            raise InputFileError(path, "no BRAT text (.txt) with annotations (.ann) found here")
        for pair in pairs:
            document = brat.read_pair(pair, options.annotator, report.warnings.append, report.errors)
            yield [document] if document is not None else []
    else:
        raise InputFileError(path, f"unknown format {kind!r}")


def read_sources(paths: list[Path], options: ImportOptions, report: ImportReport) -> list[SourceDocument]:
    """Every readable document of the run; a bad file is reported and skipped whole.

    BRAT folders named together are read as one (a text folder and an
    annotation folder side by side are paired).
    """
    units, errors = discover(paths, options.format)
    report.errors.extend(errors)
    brat_folders = [path for path, kind in units if kind == "brat" and path.is_dir()]
    if brat_folders:
        units = [u for u in units if u[0] not in brat_folders]
        units.insert(0, (brat_folders[0], "brat-folders"))
    documents: list[SourceDocument] = []
    for path, kind in units:
        try:
            if kind == "brat-folders":
                folders = brat.find_pairs(*brat_folders, warn=report.warnings.append)
                if not any(pair.annotations for pair in folders.pairs):
                    raise InputFileError(path, "no BRAT text (.txt) with annotations (.ann) found here")
                for orphan in folders.orphans:
                    report.warnings.append(f"{orphan}: no text file NAME.txt for this .ann file; skipped")
                for pair in folders.pairs:
                    try:
                        document = brat.read_pair(pair, options.annotator, report.warnings.append, report.errors)
                        if document is not None:
                            documents.append(document)
                            report.files += 1
                    except InputFileError as error:
                        report.errors.append(str(error))
                continue
            for batch in read_unit(path, kind, options, report):
                documents.extend(batch)
                report.files += bool(batch)
        except InputFileError as error:
            report.errors.append(str(error))
    return documents


def project_pipeline(project: Project, model: str | None = None, *, detect: bool = True,
                     detector: str = "tagger") -> tuple[Language, PipelineInfo]:
    """The pipeline named by the user, else the project's own; the project remembers a trained one.

    A fallback to the blank pipeline is not remembered: it is not the project's choice.
    """
    from stancelabel.nlp.pipeline import load_pipeline

    requested = model or project.get_setting("pipeline")
    try:
        nlp, pipeline = load_pipeline(requested, detect=detect, detector=detector)
    except PipelineError as error:
        if model:
            raise
        raise PipelineError(f"{error}; this project was made with it: install it, or choose another "
                            "pipeline with --model") from None
    if (model or project.get_setting("pipeline") is None) and pipeline.warning is None:
        project.set_setting("pipeline", pipeline.name)
    return nlp, pipeline


def _store_labels(project: Project, source: SourceDocument, report: ImportReport) -> None:
    """The labels a document's records bring, and which of its attributions they mark "not an attribution"."""
    for attribution in source.attributions:
        if attribution.status == "rejected":
            key = attribution.key or _key_of(source, attribution)
            project.set_status(project.attribution_id(key), attribution.annotator or "imported", "rejected")
    if source.labels:
        written, kept = project.import_labels(source.labels)
        report.labels_added += written
        report.labels_kept += kept


def _attach_records(project: Project, source: SourceDocument, report: ImportReport) -> None:
    """Attributions and labels of exported records, onto the document (by text hash) they came from."""
    document_id = project.document_id_by_sha(source.known_sha256)
    try:
        with project.transaction():
            report.attributions_added += project.add_attributions(document_id, source.attributions)
            _store_labels(project, source, report)
    except ProjectFileError:
        raise
    except StanceLabelError as error:
        report.errors.append(f"{source.source_file}: {error}")
        return
    report.records_attached += 1


def _rebase(source: SourceDocument, report: ImportReport) -> bool:
    """Records of a document this project does not have: the record's text becomes a document,
    offsets shifted to it. False (and an error) when a span falls outside that text."""
    shift, length = source.offset, len(source.text)
    for attribution in source.attributions:
        moved = [tuple((s - shift, e - shift) for s, e in spans)
                 for spans in (attribution.source, attribution.cue, attribution.content)]
        if any(s < 0 or e > length for spans in moved for s, e in spans):
            report.errors.append(f"{source.source_file}: attribution {attribution.key} reaches outside the text "
                                 "its record holds; the project does not have its whole document")
            return False
        attribution.source, attribution.cue, attribution.content = moved
        if attribution.key is not None:  # a key names spans in the whole document: this text gets its own
            old, attribution.key = attribution.key, None
            for label in source.labels:
                if label.key == old:
                    label.key = _key_of(source, attribution)
    source.known_sha256, source.offset = None, 0
    report.documents_from_records += 1
    return True


def _key_of(source: SourceDocument, attribution) -> str:
    from stancelabel.core.model import attribution_key, normalize_spans

    return attribution_key(source.sha256, *(normalize_spans(x) for x in
                                            (attribution.source, attribution.cue, attribution.content)))


def import_paths(
    project: Project,
    paths: list[Path],
    options: ImportOptions,
    nlp: Language,
    pipeline: PipelineInfo,
    *,
    progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> ImportReport:
    """Import files into the project, committing each document as the pipeline finishes it.

    Stopping (KeyboardInterrupt, ``should_stop``, or the process being killed)
    leaves the project consistent with the documents done so far; running the
    same import again skips those (by text hash) and continues.
    """
    report = ImportReport()
    sources = read_sources(paths, options, report)
    return import_sources(project, sources, [str(p) for p in paths], options, nlp, pipeline,
                          report=report, progress=progress, should_stop=should_stop)


def import_sources(
    project: Project,
    sources: list[SourceDocument],
    names: list[str],
    options: ImportOptions,
    nlp: Language,
    pipeline: PipelineInfo,
    *,
    report: ImportReport | None = None,
    progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> ImportReport:
    """Parse and store documents already read; see import_paths."""
    from stancelabel.nlp.detect import detected  # spaCy is loaded by now anyway

    report = report or ImportReport()
    run_target = normalize_target(options.target)
    if run_target is not None:
        for source in sources:
            source.target = source.target or run_target
    present = project.document_shas()
    pending: list[SourceDocument] = []
    first: dict[str, SourceDocument] = {}
    for source in sources:
        if source.known_sha256 is not None:
            if source.known_sha256 in present:
                # Records exported from a document the project has: attach attributions and labels there.
                _attach_records(project, source, report)
                continue
            if not _rebase(source, report):
                continue
        sha = source.sha256
        if sha in first:
            # The same text twice in one run (e.g. two annotators' .ann files
            # of copies of one article): one document with all attributions.
            first[sha].attributions.extend(source.attributions)
            first[sha].annotators.extend(source.annotators)
            first[sha].labels.extend(source.labels)
            report.documents_present += 1
        elif sha in present:
            if source.attributions or source.annotators or source.labels:
                # A known text with attributions (another annotator's .ann): attach them.
                try:
                    with project.transaction():
                        _, added = project.add_document(
                            source, [], attributions=[(a, "imported") for a in source.attributions])
                        _store_labels(project, source, report)
                except StanceLabelError as error:
                    report.errors.append(str(error))
                    continue
                report.attributions_added += added
            report.documents_present += 1
        else:
            first[sha] = source
            pending.append(source)
    if not pending:
        return report
    import_id = project.begin_import(names, options.format, pipeline.name, pipeline.version)
    log.info("import into %s: %d document(s) to parse with %s", project.path, len(pending), pipeline.name)
    total = len(pending)
    try:
        # closing the pipe (also on Ctrl+C) tells spaCy's worker processes to stop; one commit per
        # document, forced to disk by finish_import's at the end (an import resumes where it stopped)
        with closing(process(nlp, (s.text for s in pending), n_process=options.n_process,
                             batch_size=options.batch_size)) as stream, project.durable_at_end():
            for index, doc in enumerate(stream):
                source = pending[index]
                sentences = sentence_offsets(doc)
                attributions = [(a, "imported") for a in source.attributions]
                if options.detect and source.detect:
                    attributions += [(a, "auto") for a in detected(doc)]
                try:
                    with project.transaction():
                        _, added = project.add_document(source, sentences, import_id=import_id,
                                                        attributions=attributions)
                        _store_labels(project, source, report)
                except ProjectFileError:
                    raise
                except StanceLabelError as error:  # e.g. a label this project does not have
                    report.errors.append(str(error))
                    continue
                report.documents_added += 1
                report.sentences_added += len(sentences)
                report.attributions_added += added
                report.words += len(source.text.split())
                pending[index] = None  # type: ignore[call-overload]  # free the text once stored
                if progress:
                    progress(Progress(report.documents_added, total, report.words))
                if should_stop():
                    report.interrupted = True
                    break
    except KeyboardInterrupt:
        report.interrupted = True
    finally:
        try:
            # counted from the file: an interrupt may land between a commit and the counter
            report.documents_added = project.finish_import(import_id)
            log.info("import into %s: %d document(s) stored%s, %d error(s)", project.path, report.documents_added,
                     " (interrupted)" if report.interrupted else "", len(report.errors))
        except StanceLabelError:
            pass  # the run's own failure (disk full, lock) is the one to report
    return report
