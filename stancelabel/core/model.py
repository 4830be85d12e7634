"""Plain dataclasses for what annotators talk about: documents, attributions, labels."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

# The span types and helpers live with the span codec; named here too, where the model's types are.
from stancelabel.core.spans import Span, Spans, normalize_spans, spans_to_text  # noqa: F401

ROLES = ("source", "cue", "content")


def normalize_target(text: str | None) -> str | None:
    """A target claim as stored: white space collapsed, None when nothing is left."""
    if text is None:
        return None
    cleaned = " ".join(str(text).split())
    return cleaned or None


def text_sha256(text: str) -> str:
    """The identity of a document across project files: SHA-256 of its UTF-8 text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def attribution_key(doc_sha256: str, source: Spans, cue: Spans, content: Spans) -> str:
    """A stable identity of an attribution, the same in every copy of a project.

    Built from the document's text hash and the role spans only, so two
    annotators who mark the same spans in two files produce the same key.
    """
    payload = "|".join(
        (doc_sha256, spans_to_text(source), spans_to_text(cue), spans_to_text(content))
    )
    return hashlib.sha256(payload.encode("ascii")).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Sentence:
    """A sentence as character offsets into its document (text is never stored twice)."""

    document_id: int
    index: int
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Document:
    """An imported text with its identity and provenance."""

    id: int
    external_id: str
    title: str
    text: str
    sha256: str
    meta: dict[str, Any]
    source_file: str
    imported_at: str
    #: the target claim the document's stances are about, if it has one
    target: str | None = None


@dataclass(frozen=True, slots=True)
class DocumentSummary:
    """A document's row in a list: no text, only what a list shows."""

    id: int
    external_id: str
    title: str
    sentences: int
    attributions: int
    labelled: int


@dataclass(frozen=True, slots=True)
class Attribution:
    """Who (source) says what (content) through which expression (cue)."""

    id: int
    document_id: int
    sentence_index: int | None
    key: str
    source: Spans
    cue: Spans
    content: Spans
    origin: str
    source_hint: str | None = None
    suggestion: str | None = None
    status: str = "active"


@dataclass(frozen=True, slots=True)
class Label:
    """One stance label of the project's schema."""

    name: str
    shortcut: str
    colour: str
    description: str = ""
    position: int = 0
    #: the row id in its project file; None for a label not stored yet
    id: int | None = None


@dataclass(frozen=True, slots=True)
class Annotation:
    """An annotator's current label, note and flag on one attribution."""

    attribution_id: int
    annotator: str
    label: str | None
    note: str
    flagged: bool
    created_at: str
    updated_at: str
    #: the document's target claim when the label was given (None: no target then)
    target: str | None = None


@dataclass(frozen=True, slots=True)
class QueueFilter:
    """Which attributions the labelling queue holds, for one annotator.

    ``show``: ``all``, ``unlabelled`` (not yet labelled by this annotator),
    ``flagged`` (flagged by them), ``label`` (given ``label`` by them); for review:
    ``disputed`` (annotators gave different labels) or ``multiple`` (labelled by several).
    ``speaker`` matches the source text or its hint, ``search`` the sentence
    text (both case-insensitive substrings); ``document_id`` keeps one document.
    """

    show: str = "all"
    label: str | None = None
    speaker: str = ""
    search: str = ""
    document_id: int | None = None

    SHOW = ("all", "unlabelled", "flagged", "label", "disputed", "multiple")


@dataclass(frozen=True, slots=True)
class QueueItem:
    """One attribution's row in the queue list: what a list shows, no document text."""

    id: int
    document_id: int
    external_id: str
    sentence_index: int | None
    source_text: str
    cue_text: str
    label: str | None
    flagged: bool
    #: the first words of the content (at most 80 characters), to tell rows apart
    content_text: str = ""
    #: the annotator has written a note on it
    noted: bool = False


@dataclass(frozen=True, slots=True)
class Change:
    """What an undo or redo changed: the attribution, the kind of change and its new value."""

    attribution_id: int
    kind: str
    value: Any
    #: the value the undo or redo replaced (what was undone)
    replaced: Any = None


@dataclass(slots=True)
class ImportedAttribution:
    """An attribution read from a file (BRAT, JSONL), before it has a row id."""

    source: Spans
    cue: Spans
    content: Spans
    annotator: str | None = None
    source_hint: str | None = None
    suggestion: str | None = None
    #: the key it had in the file it came from (kept: an edited attribution's key is not its spans' hash)
    key: str | None = None
    #: the origin it had there (auto, imported, manual); None: "imported"
    origin: str | None = None
    #: "rejected" when it was marked "not an attribution" there
    status: str = "active"


@dataclass(slots=True)
class LabelRecord:
    """A label (with note, flag and target) read from a file, for the attribution ``key`` of its document."""

    key: str
    annotator: str
    label: str | None
    note: str = ""
    flagged: bool = False
    target: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    #: where it was read, for error messages: "FILE:LINE"
    where: str = ""
    #: whether ``target`` is what the label was given under (an export says so, even when None);
    #: else the label takes its document's target
    target_known: bool = False


@dataclass(slots=True)
class SourceDocument:
    """A document as an importer read it, before the pipeline and the store see it."""

    external_id: str
    text: str
    source_file: str
    title: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    attributions: list[ImportedAttribution] = field(default_factory=list)
    #: annotators whose files were read for this document (BRAT), even with no attributions
    annotators: list[str] = field(default_factory=list)
    #: whether automatic detection should look for attributions (not for BRAT, which brings its own)
    detect: bool = True
    #: the target claim of the document (a JSONL/CSV field, or --target for the whole run)
    target: str | None = None
    #: labels that come with the document's attributions (this tool's JSONL export, labelled JSONL)
    labels: list[LabelRecord] = field(default_factory=list)
    #: for records exported from a document this file does not hold whole: the document's text hash
    #: (it attaches there when the project has it) and where ``text`` starts in it
    known_sha256: str | None = None
    offset: int = 0

    @property
    def sha256(self) -> str:
        return text_sha256(self.text)
