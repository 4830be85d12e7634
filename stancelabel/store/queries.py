"""Read-only queries: the labelling queue, progress, the rows to export, label tables, statistics."""

from __future__ import annotations

import json
from array import array
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

from stancelabel.core import spans as codec
from stancelabel.core.errors import StanceLabelError
from stancelabel.core.model import Annotation, QueueFilter, QueueItem
from stancelabel.store.connection import DATABASE_ERRORS, Database, explain
from stancelabel.store.documents import Documents
from stancelabel.store.vocabulary import Vocabulary

#: The text of an attribution's first source span, and of its first cue span (the queue's columns).
_SOURCE_TEXT = codec.sql_first_span_text("a.source")
_CUE_TEXT = codec.sql_first_span_text("a.cue")
_CONTENT_START = codec.sql_first_span_text("a.content", limit=80)


class LabelRow(NamedTuple):
    """One label to export (``Queries.label_rows``), with its attribution; spans as stored (JSON text)."""

    attribution_id: int
    key: str
    document_id: int
    sentence_index: int | None
    source: str
    cue: str
    content: str
    origin: str
    source_hint: str | None
    suggestion: str | None
    status: str
    attribution_created_at: str
    #: None (and ``label`` None) for an attribution nobody labelled, exported with ``everything``
    annotator: str | None
    label: str | None
    note: str
    flagged: int
    created_at: str
    updated_at: str
    target: str | None


_ANNOTATION_COLUMNS = "n.attribution_id, a.name, l.name, n.note, n.flagged, n.created_at, n.updated_at, t.text"
_ANNOTATION_JOINS = ("annotation n JOIN annotator a ON a.id = n.annotator_id LEFT JOIN label l ON l.id = n.label_id "
                     "LEFT JOIN target t ON t.id = n.target_id")


def _annotation(row: tuple) -> Annotation:
    return Annotation(row[0], row[1], row[2], row[3], bool(row[4]), row[5], row[6], row[7])



class Queries:
    """What the window, the exports and the team tools read; nothing here writes."""

    def __init__(self, db: Database, vocabulary: Vocabulary, documents: Documents) -> None:
        self.db = db
        self.vocabulary = vocabulary
        self.documents = documents

    # -- the labelling queue ---------------------------------------------------------------

    def queue_ids(self, annotator: str, queue: QueueFilter = QueueFilter(),  # noqa: B008
                  after: int | None = None, limit: int = -1, after_document: int | None = None) -> array:
        """Ids of the active attributions the filter keeps, in reading order (document, sentence).

        An ``array`` of 8-byte ints: a million of them take 8 MB and one query.
        ``after`` starts after that attribution in reading order (with ``limit``:
        "the next one that..."); ``after_document`` keeps documents added after that one.
        """
        if queue.show not in QueueFilter.SHOW:
            raise StanceLabelError(f"unknown queue filter {queue.show!r} (one of {', '.join(QueueFilter.SHOW)})")
        me = self.vocabulary.known_annotator_id(annotator)
        where, params = ["a.status = 'active'"], []
        source = "attribution a"
        if queue.show == "unlabelled":
            where.append("NOT EXISTS (SELECT 1 FROM annotation n WHERE n.attribution_id = a.id "
                         "AND n.annotator_id = ? AND n.label_id IS NOT NULL)")
            params.append(me)
        elif queue.show in ("flagged", "label"):
            # Few rows match: start from the annotator's own annotations (indexed), not from every attribution.
            source = "annotation n JOIN attribution a ON a.id = n.attribution_id"
            where.insert(0, "n.annotator_id = ?")
            params.append(me)
            if queue.show == "flagged":
                where.append("n.flagged = 1")
            else:
                rows = self.db.query("SELECT id FROM label WHERE name = ?", (queue.label,))
                where.append("n.label_id = ?")
                params.append(rows[0][0] if rows else -1)
        elif queue.show in ("disputed", "multiple"):
            how = "count(DISTINCT n.label_id)" if queue.show == "disputed" else "count(*)"
            where.append(f"(SELECT {how} FROM annotation n WHERE n.attribution_id = a.id "
                         "AND n.label_id IS NOT NULL) >= 2")
        if queue.document_id is not None:
            where.append("a.document_id = ?")
            params.append(queue.document_id)
        if after_document is not None:
            where.append("a.document_id > ?")
            params.append(after_document)
        if after is not None:
            where.append("(a.document_id, coalesce(a.sentence_index, -1), a.id) > "
                         "(SELECT document_id, coalesce(sentence_index, -1), id FROM attribution WHERE id = ?)")
            params.append(after)
        joins = ""
        if queue.speaker.strip() or queue.search.strip():
            joins += " JOIN document d ON d.id = a.document_id"
        if queue.speaker.strip():
            where.append(f"(sl_contains({_SOURCE_TEXT}, ?) OR sl_contains(a.source_hint, ?))")
            params += [queue.speaker.strip().casefold()] * 2
        if queue.search.strip():
            joins += " JOIN sentence s ON s.document_id = a.document_id AND s.idx = a.sentence_index"
            where.append('sl_contains(substr(d.text, s.start + 1, s."end" - s.start), ?)')
            params.append(queue.search.strip().casefold())
        sql = (f"SELECT a.id FROM {source}{joins} WHERE {' AND '.join(where)} "
               "ORDER BY a.document_id, a.sentence_index, a.id LIMIT ?")
        params.append(limit)
        ids = array("q")
        try:
            cursor = self.db.conn.execute(sql, params)
            while rows := cursor.fetchmany(65536):
                ids.extend(row[0] for row in rows)
        except DATABASE_ERRORS as error:
            raise explain(self.db.path, error) from None
        return ids

    def queue_items(self, ids: Sequence[int], annotator: str, gold: bool = False) -> list[QueueItem]:
        """The list rows of these attributions, in the order given (at most a page of them).

        ``label`` is the annotator's, or with ``gold`` the adjudicated label.
        """
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        if gold:
            rows = self.db.query(
                "SELECT a.id, a.document_id, d.external_id, a.sentence_index, "
                f"{_SOURCE_TEXT}, {_CUE_TEXT}, l.name, 0, {_CONTENT_START}, g.note != '' "
                "FROM attribution a JOIN document d ON d.id = a.document_id "
                "LEFT JOIN gold g ON g.attribution_id = a.id "
                f"LEFT JOIN label l ON l.id = g.label_id WHERE a.id IN ({marks})", tuple(ids))
            by_id = {r[0]: QueueItem(r[0], r[1], r[2], r[3], str(r[4] or ""), str(r[5] or ""), r[6], False,
                                     str(r[8] or ""), bool(r[9])) for r in rows}
            return [by_id[i] for i in ids if i in by_id]
        rows = self.db.query(
            "SELECT a.id, a.document_id, d.external_id, a.sentence_index, "
            f"{_SOURCE_TEXT}, {_CUE_TEXT}, l.name, coalesce(n.flagged, 0), {_CONTENT_START}, "
            "coalesce(n.note, '') != '' "
            "FROM attribution a JOIN document d ON d.id = a.document_id "
            "LEFT JOIN annotation n ON n.attribution_id = a.id AND n.annotator_id = ? "
            f"LEFT JOIN label l ON l.id = n.label_id WHERE a.id IN ({marks})",
            (self.vocabulary.known_annotator_id(annotator), *ids),
        )
        by_id = {r[0]: QueueItem(r[0], r[1], r[2], r[3], str(r[4] or ""), str(r[5] or ""), r[6], bool(r[7]),
                                 str(r[8] or ""), bool(r[9])) for r in rows}
        return [by_id[i] for i in ids if i in by_id]

    def progress(self, annotator: str) -> tuple[int, int]:
        """(labelled by this annotator, all active attributions)."""
        row = self.db.query(
            "SELECT (SELECT count(*) FROM annotation n JOIN attribution a ON a.id = n.attribution_id "
            "        WHERE n.annotator_id = ? AND n.label_id IS NOT NULL AND a.status = 'active'), "
            "(SELECT count(*) FROM attribution WHERE status = 'active')",
            (self.vocabulary.known_annotator_id(annotator),),
        )[0]
        return row[0], row[1]

    # -- export ----------------------------------------------------------------------------

    _LABEL_ROW = (
        "SELECT a.id, a.key, a.document_id, a.sentence_index, a.source, a.cue, a.content, a.origin, a.source_hint, "
        "a.suggestion, a.status, a.created_at, {who}, {label}, {note}, {flagged}, {created}, {updated}, {target} "
    )

    def label_rows(self, *, annotators: Sequence[str] = (), gold: bool = False, everything: bool = False,
                   labels: Sequence[str] = (), flagged: bool = False) -> Iterator[LabelRow]:
        """Every label to export (a ``LabelRow`` each), in reading order, streamed (memory flat in the
        number of rows).

        An annotator's row is there when they gave a label, a flag or a note; ``gold`` gives the
        adjudicated labels instead; ``everything`` adds rejected attributions and, once each, those
        nobody labelled (annotator and label null).
        """
        params: list[Any] = []
        where = []
        if gold:
            sql = (self._LABEL_ROW.format(who="u.name", label="l.name", note="g.note", flagged="0",
                                          created="g.decided_at", updated="g.decided_at", target="dt.text")
                   + "FROM gold g JOIN attribution a ON a.id = g.attribution_id "
                   "JOIN annotator u ON u.id = g.adjudicator_id JOIN label l ON l.id = g.label_id "
                   "JOIN document d ON d.id = a.document_id LEFT JOIN target dt ON dt.id = d.target_id")
            if flagged:
                where.append("0")
        else:
            sql = (self._LABEL_ROW.format(who="u.name", label="l.name", note="n.note", flagged="n.flagged",
                                          created="n.created_at", updated="n.updated_at",
                                          target="coalesce(nt.text, dt.text)")
                   + "FROM annotation n JOIN attribution a ON a.id = n.attribution_id "
                   "JOIN annotator u ON u.id = n.annotator_id LEFT JOIN label l ON l.id = n.label_id "
                   "LEFT JOIN target nt ON nt.id = n.target_id "
                   "JOIN document d ON d.id = a.document_id LEFT JOIN target dt ON dt.id = d.target_id")
            where.append("(n.label_id IS NOT NULL OR n.flagged = 1 OR n.note != '')")
            if annotators:
                where.append(f"u.name IN ({','.join('?' * len(annotators))})")
                params += annotators
            if flagged:
                where.append("n.flagged = 1")
        if labels:
            where.append(f"l.name IN ({','.join('?' * len(labels))})")
            params += labels
        # a withdrawn attribution (its adding undone) is in no export, not even as a negative example
        where.append("a.status = 'active'" if not everything else "a.status != 'withdrawn'")
        sql += (" WHERE " + " AND ".join(where)) if where else ""
        if everything and not labels and not flagged:
            if gold:
                nobody = "SELECT 1 FROM gold g WHERE g.attribution_id = a.id"
            else:
                nobody = ("SELECT 1 FROM annotation n JOIN annotator u ON u.id = n.annotator_id "
                          "WHERE n.attribution_id = a.id AND (n.label_id IS NOT NULL OR n.flagged = 1 OR n.note != '')")
                if annotators:
                    nobody += f" AND u.name IN ({','.join('?' * len(annotators))})"
                    params += annotators
            sql += (" UNION ALL " + self._LABEL_ROW.format(who="NULL", label="NULL", note="''", flagged="0",
                                                           created="a.created_at", updated="a.created_at",
                                                           target="dt.text")
                    + "FROM attribution a JOIN document d ON d.id = a.document_id "
                    f"LEFT JOIN target dt ON dt.id = d.target_id WHERE a.status != 'withdrawn' "
                    f"AND NOT EXISTS ({nobody})")
        sql = f"SELECT * FROM ({sql}) ORDER BY 3, 4, 1, 13"
        try:
            cursor = self.db.conn.execute(sql, params)
            while rows := cursor.fetchmany(4096):
                yield from map(LabelRow._make, rows)
        except DATABASE_ERRORS as error:
            raise explain(self.db.path, error) from None

    def annotation(self, attribution_id: int, annotator: str) -> Annotation | None:
        """One annotator's current label, note and flag on an attribution (None if never touched)."""
        rows = self.db.query(
            f"SELECT {_ANNOTATION_COLUMNS} FROM {_ANNOTATION_JOINS} WHERE n.attribution_id = ? AND a.name = ?",
            (attribution_id, annotator.strip()),
        )
        return _annotation(rows[0]) if rows else None

    def annotations(self, attribution_id: int | None = None) -> list[Annotation]:
        where, params = ("WHERE n.attribution_id = ?", (attribution_id,)) if attribution_id is not None else ("", ())
        rows = self.db.query(
            f"SELECT {_ANNOTATION_COLUMNS} FROM {_ANNOTATION_JOINS} {where} ORDER BY n.attribution_id, a.name",
            params,
        )
        return [_annotation(r) for r in rows]

    def event_count(self) -> int:
        return self.db.query("SELECT count(*) FROM event")[0][0]

    # -- labels of many attributions -------------------------------------------------------

    def labels_by_item(self, by_target: bool = False) -> dict[Any, dict[str, str]]:
        """Every annotator's current label of each active attribution: {attribution id: {annotator: label}}.

        With ``by_target`` the keys are (target text or None, attribution id): a label
        belongs to the target it was given under.
        """
        rows = self.db.query(
            "SELECT n.attribution_id, u.name, l.name, t.text FROM annotation n "
            "JOIN attribution a ON a.id = n.attribution_id JOIN annotator u ON u.id = n.annotator_id "
            "JOIN label l ON l.id = n.label_id LEFT JOIN target t ON t.id = n.target_id "
            "WHERE a.status = 'active' ORDER BY n.attribution_id"
        )
        items: dict[Any, dict[str, str]] = {}
        for attribution_id, annotator, label, target in rows:
            items.setdefault((target, attribution_id) if by_target else attribution_id, {})[annotator] = label
        return items

    def label_columns(self) -> tuple[Any, Any, Any, dict[int, str], dict[int, str]]:
        """Every current label of an active attribution as three NumPy columns (attribution id,
        annotator id, label id), with the annotators' and labels' names by id. For agreement over
        millions of labels: SQLite joins the ids into text and NumPy parses it, with no Python
        object per label."""
        import numpy

        items, annotators, labels = self.db.query(
            "SELECT group_concat(n.attribution_id), group_concat(n.annotator_id), group_concat(n.label_id) "
            "FROM annotation n JOIN attribution a ON a.id = n.attribution_id "
            "WHERE a.status = 'active' AND n.label_id IS NOT NULL")[0]
        columns = [numpy.fromstring(text or "", dtype=numpy.int64, sep=",") for text in (items, annotators, labels)]
        return (*columns, dict(self.db.query("SELECT id, name FROM annotator")),
                dict(self.db.query("SELECT id, name FROM label")))

    def label_of_keys(self, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str | None]:
        """The current label of (attribution key, annotator) pairs."""
        rows = self.db.query("SELECT a.key, u.name, l.name FROM annotation n JOIN attribution a ON a.id = "
                           "n.attribution_id JOIN annotator u ON u.id = n.annotator_id LEFT JOIN label l "
                           "ON l.id = n.label_id")
        wanted = set(pairs)
        return {(k, a): label for k, a, label in rows if (k, a) in wanted}

    def gold_of(self, attribution_id: int) -> tuple[str, str, str] | None:
        """(label, adjudicator, note) of one attribution's gold label, if it has one."""
        rows = self.db.query("SELECT l.name, u.name, g.note FROM gold g JOIN label l ON l.id = g.label_id "
                           "JOIN annotator u ON u.id = g.adjudicator_id WHERE g.attribution_id = ?", (attribution_id,))
        return rows[0] if rows else None

    def gold(self) -> dict[int, tuple[str, str]]:
        """{attribution id: (label, adjudicator)} of every gold label."""
        rows = self.db.query("SELECT g.attribution_id, l.name, u.name FROM gold g JOIN label l ON l.id = g.label_id "
                           "JOIN annotator u ON u.id = g.adjudicator_id")
        return {r[0]: (r[1], r[2]) for r in rows}

    # -- statistics ------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Counts for `stancelabel stats`: totals and breakdowns by origin, annotator and label."""
        with self.db.stored_values():
            return self._stats()

    def _stats(self) -> dict[str, Any]:
        one = lambda sql: self.db.query(sql)[0][0]  # noqa: E731
        return {
            "project": self.db.name,
            "schema_version": self.db.schema_version,
            "documents": one("SELECT count(*) FROM document"),
            "sentences": one("SELECT count(*) FROM sentence"),
            "attributions": one("SELECT count(*) FROM attribution WHERE status = 'active'"),
            "rejected_attributions": one("SELECT count(*) FROM attribution WHERE status = 'rejected'"),
            "labels": one("SELECT count(*) FROM annotation WHERE label_id IS NOT NULL"),
            "gold": one("SELECT count(*) FROM gold"),
            "targets": one("SELECT count(*) FROM target"),
            "assignment": json.loads(self.db.get_setting("assignment") or "null"),
            "split": {k: v for k, v in json.loads(self.db.get_setting("split") or "{}").items()
                      if k in ("annotators", "overlap", "seed", "created_at", "files")} or None,
            "documents_with_target": one("SELECT count(*) FROM document WHERE target_id IS NOT NULL"),
            "by_origin": dict(self.db.query(
                "SELECT origin, count(*) FROM attribution WHERE status = 'active' GROUP BY origin ORDER BY origin")),
            "by_annotator": dict(self.db.query(
                "SELECT a.name, count(n.label_id) FROM annotator a LEFT JOIN annotation n "
                "ON n.annotator_id = a.id GROUP BY a.id ORDER BY a.name")),
            "by_label": dict(self.db.query(
                "SELECT l.name, count(n.label_id) FROM label l LEFT JOIN annotation n ON n.label_id = l.id "
                "GROUP BY l.id ORDER BY l.position")),
            "imports": [
                {k: item[k] for k in ("started_at", "format", "pipeline_name", "pipeline_version", "documents")}
                for item in self.documents.imports()
            ],
        }
