"""The Project class: one project file, the public surface of the store, delegating to its parts.

The store is split by what its SQL is about: ``connection`` (open, create, migrate,
back up, transactions, errors), ``vocabulary`` (labels, annotators, targets),
``documents``, ``attributions``, ``events`` (the log: record, apply, undo, gold,
label import, replay) and ``queries`` (queue, progress, export rows, statistics).

The parts are small objects composed here, each handed the one ``Database`` and the
parts it uses, rather than mixins of one class: a part's constructor says what it
depends on, its private helpers stay its own, and there is one owner of the
connection and its transaction depth. Callers (CLI, io, team, GUI) see only
``Project``, whose methods keep the names and signatures they always had; the
docstrings are with the parts.
"""

from __future__ import annotations

import sqlite3
from array import array
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from stancelabel.core.errors import StanceLabelError
from stancelabel.core.model import (
    Annotation,
    Attribution,
    Change,
    Document,
    DocumentSummary,
    ImportedAttribution,
    Label,
    LabelRecord,
    QueueFilter,
    QueueItem,
    Sentence,
    SourceDocument,
    Spans,
)
from stancelabel.core.names import for_terminal
from stancelabel.store.attributions import Attributions
from stancelabel.store.connection import MOVED_WHILE_OPEN, Database, check_project_path, default_labels, utc_now
from stancelabel.store.documents import MAX_GUIDELINES_CHARS, Documents
from stancelabel.store.events import Events
from stancelabel.store.queries import LabelRow, Queries
from stancelabel.store.vocabulary import Vocabulary

# Also imported from here by the layers above, as before the store had parts.
__all__ = ["MAX_GUIDELINES_CHARS", "MOVED_WHILE_OPEN", "LabelRow", "Project", "check_project_path", "default_labels",
           "utc_now"]


class Project:
    """One open project file; every read and write goes through it.

    Rows become dataclasses in the parts, so nothing above this layer sees ``sqlite3.Row``.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._vocabulary = Vocabulary(db)
        self._attributions = Attributions(db, self._vocabulary)
        self._documents = Documents(db, self._vocabulary, self._attributions)
        self._events = Events(db, self._vocabulary, self._attributions)
        self._queries = Queries(db, self._vocabulary, self._documents)

    # -- the file and its connection (connection.py) ------------------------------------------

    @classmethod
    def open(cls, path: str | Path, *, create: bool = False, name: str | None = None,
             readonly: bool = False) -> Project:
        """Open a project file, creating it when asked, migrating an older one (see ``Database.open``)."""
        return cls(Database.open(path, create=create, name=name, readonly=readonly))

    @property
    def path(self) -> Path:
        return self._db.path

    @property
    def backup_path(self) -> Path | None:
        """Where opening copied the file before upgrading it, if it did."""
        return self._db.backup_path

    @property
    def connection(self) -> sqlite3.Connection:
        """The SQLite connection itself (None once closed), for SQL that belongs elsewhere: the
        merge's staging (team/merge/staging.py). Writes go through ``transaction``."""
        return self._db.conn

    def set_busy_timeout(self, milliseconds: int) -> None:
        self._db.set_busy_timeout(milliseconds)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def reading(self) -> AbstractContextManager[sqlite3.Connection]:
        """A consistent reading that takes no write lock (see ``Database.reading``)."""
        return self._db.reading()

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        """One durable transaction; nested calls become savepoints (see ``Database.transaction``)."""
        return self._db.transaction()

    def durable_at_end(self) -> AbstractContextManager[None]:
        """Commits inside are not each forced to disk, the first one after is (see ``Database.durable_at_end``)."""
        return self._db.durable_at_end()

    @property
    def schema_version(self) -> int:
        return self._db.schema_version

    def get_setting(self, key: str, default: str | None = None) -> str | None:
        return self._db.get_setting(key, default)

    def set_setting(self, key: str, value: str) -> None:
        self._db.set_setting(key, value)

    @property
    def name(self) -> str:
        return self._db.name

    # -- labels, annotators, targets (vocabulary.py) ------------------------------------------

    def labels(self) -> list[Label]:
        return self._vocabulary.labels()

    def label_usage(self) -> dict[str, int]:
        return self._vocabulary.label_usage()

    def save_labels(self, labels: Sequence[Label], reserved_keys: Iterable[str] = ()) -> None:
        self._vocabulary.save_labels(labels, reserved_keys)

    def annotators(self) -> list[str]:
        return self._vocabulary.annotators()

    def known_annotators(self, names: list[str]) -> list[str]:
        """``names`` (as a command line gives them) stripped, each one of this project's annotators; else
        StanceLabelError in one line listing them (an unknown name would select nothing, silently)."""
        known = set(self.annotators())
        out = []
        for name in names:
            if name.strip() not in known:
                raise StanceLabelError(f"unknown annotator {for_terminal(repr(name))} (this project's annotators: "
                                       f"{for_terminal(', '.join(sorted(known))) or 'none yet'})")
            out.append(name.strip())
        return out

    def add_annotator(self, name: str) -> None:
        self._vocabulary.add_annotator(name)

    def add_target(self, text: str | None) -> int | None:
        """The id of a target claim, stored if new (None for no target)."""
        with self._db.transaction() as conn:
            return self._vocabulary.target_id(conn, text)

    def targets(self) -> list[tuple[str, int]]:
        return self._vocabulary.targets()

    # -- documents (documents.py) ---------------------------------------------------------------

    def begin_import(self, paths: Iterable[str], fmt: str, pipeline_name: str, pipeline_version: str) -> int:
        return self._documents.begin_import(paths, fmt, pipeline_name, pipeline_version)

    def finish_import(self, import_id: int) -> int:
        return self._documents.finish_import(import_id)

    def imports(self) -> list[dict[str, Any]]:
        return self._documents.imports()

    def document_id_by_sha(self, sha256: str) -> int | None:
        return self._documents.document_id_by_sha(sha256)

    def document_shas(self) -> set[str]:
        return self._documents.document_shas()

    def add_document(self, source: SourceDocument, sentences: Sequence[tuple[int, int]], *,
                     import_id: int | None = None,
                     attributions: Iterable[tuple[ImportedAttribution, str]] = ()) -> tuple[int, int]:
        return self._documents.add_document(source, sentences, import_id=import_id, attributions=attributions)

    def copy_documents(self, documents: Sequence[tuple]) -> dict[str, int]:
        return self._documents.copy_documents(documents)

    def last_document_id(self) -> int:
        return self._documents.last_document_id()

    def document_count(self) -> int:
        return self._documents.document_count()

    def document_summaries(self, offset: int = 0, limit: int = -1, annotator: str | None = None,
                           after_id: int | None = None) -> list[DocumentSummary]:
        return self._documents.document_summaries(offset, limit, annotator, after_id)

    def document_ids(self, *, without_auto_attributions: bool = False) -> list[int]:
        return self._documents.document_ids(without_auto_attributions=without_auto_attributions)

    def document(self, document_id: int) -> Document:
        return self._documents.document(document_id)

    def sentences(self, document_id: int) -> list[Sentence]:
        return self._documents.sentences(document_id)

    def sentence_text(self, document_id: int, index: int) -> str:
        return self._documents.sentence_text(document_id, index)

    def set_document_target(self, document_id: int, text: str | None) -> None:
        self._documents.set_document_target(document_id, text)

    def guidelines(self) -> str:
        return self._documents.guidelines()

    def set_guidelines(self, markdown: str) -> None:
        self._documents.set_guidelines(markdown)

    # -- attributions (attributions.py) ---------------------------------------------------------

    def add_attributions(self, document_id: int, items: Iterable[ImportedAttribution], origin: str = "imported") -> int:
        return self._attributions.add_attributions(document_id, items, origin)

    def copy_attributions(self, rows: Sequence[tuple]) -> int:
        return self._attributions.copy_attributions(rows)

    def add_author(self, attribution_key: str, annotator: str) -> None:
        self._attributions.add_author(attribution_key, annotator)

    def remove_untouched_auto_attributions(self) -> int:
        return self._attributions.remove_untouched_auto_attributions()

    def attributions(self, document_id: int) -> list[Attribution]:
        return self._attributions.attributions(document_id)

    def attribution(self, attribution_id: int) -> Attribution:
        return self._attributions.attribution(attribution_id)

    def attribution_authors(self, attribution_id: int) -> list[str]:
        return self._attributions.attribution_authors(attribution_id)

    def attribution_id(self, key: str) -> int:
        return self._attributions.attribution_id(key)

    def authored_attributions(self) -> dict[str, dict[int, list[tuple[Spans, Spans, Spans]]]]:
        return self._attributions.authored_attributions()

    # -- the event log (events.py) --------------------------------------------------------------

    def set_label(self, attribution_id: int, annotator: str, label: str | None) -> None:
        self._events.set_label(attribution_id, annotator, label)

    def set_note(self, attribution_id: int, annotator: str, note: str) -> None:
        self._events.set_note(attribution_id, annotator, note)

    def set_flag(self, attribution_id: int, annotator: str, flagged: bool) -> None:
        self._events.set_flag(attribution_id, annotator, flagged)

    def set_spans(self, attribution_id: int, annotator: str, *, source: Any = None, cue: Any = None,
                  content: Any = None) -> None:
        self._events.set_spans(attribution_id, annotator, source=source, cue=cue, content=content)

    def set_status(self, attribution_id: int, annotator: str, status: str) -> None:
        self._events.set_status(attribution_id, annotator, status)

    def add_attribution(self, document_id: int, annotator: str, *, source: Any = (), cue: Any = (),
                        content: Any = ()) -> int:
        return self._events.add_attribution(document_id, annotator, source=source, cue=cue, content=content)

    def undo(self, annotator: str) -> Change | None:
        return self._events.undo(annotator)

    def redo(self, annotator: str) -> Change | None:
        return self._events.redo(annotator)

    def rebuild_annotations(self) -> None:
        self._events.rebuild_annotations()

    def import_labels(self, records: Iterable[LabelRecord]) -> tuple[int, int]:
        return self._events.import_labels(records)

    def set_gold(self, attribution_id: int, adjudicator: str, label: str, note: str = "") -> None:
        self._events.set_gold(attribution_id, adjudicator, label, note)

    def replay_events(self) -> None:
        self._events.replay_events()

    def merge_source_id(self, file: str, project: str) -> int:
        return self._events.merge_source_id(file, project)

    # -- reading (queries.py) -------------------------------------------------------------------

    def queue_ids(self, annotator: str, queue: QueueFilter = QueueFilter(),  # noqa: B008
                  after: int | None = None, limit: int = -1, after_document: int | None = None) -> array:
        return self._queries.queue_ids(annotator, queue, after, limit, after_document)

    def queue_items(self, ids: Sequence[int], annotator: str, gold: bool = False) -> list[QueueItem]:
        return self._queries.queue_items(ids, annotator, gold)

    def progress(self, annotator: str) -> tuple[int, int]:
        return self._queries.progress(annotator)

    def label_rows(self, *, annotators: Sequence[str] = (), gold: bool = False, everything: bool = False,
                   labels: Sequence[str] = (), flagged: bool = False) -> Iterator[LabelRow]:
        return self._queries.label_rows(annotators=annotators, gold=gold, everything=everything, labels=labels,
                                        flagged=flagged)

    def annotation(self, attribution_id: int, annotator: str) -> Annotation | None:
        return self._queries.annotation(attribution_id, annotator)

    def annotations(self, attribution_id: int | None = None) -> list[Annotation]:
        return self._queries.annotations(attribution_id)

    def event_count(self) -> int:
        return self._queries.event_count()

    def labels_by_item(self, by_target: bool = False) -> dict[Any, dict[str, str]]:
        return self._queries.labels_by_item(by_target)

    def label_columns(self) -> tuple[Any, Any, Any, dict[int, str], dict[int, str]]:
        return self._queries.label_columns()

    def label_of_keys(self, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str | None]:
        return self._queries.label_of_keys(pairs)

    def gold_of(self, attribution_id: int) -> tuple[str, str, str] | None:
        return self._queries.gold_of(attribution_id)

    def gold(self) -> dict[int, tuple[str, str]]:
        return self._queries.gold()

    def stats(self) -> dict[str, Any]:
        return self._queries.stats()
