"""Attributions: who said what, as role spans in a document; stored, copied from other files, read back."""

from __future__ import annotations

import contextlib
import hashlib
import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from stancelabel.core import spans as codec
from stancelabel.core.errors import StanceLabelError
from stancelabel.core.model import Attribution, ImportedAttribution, Spans, attribution_key, normalize_spans
from stancelabel.store.connection import Database, indexes_rebuilt, utc_now
from stancelabel.store.vocabulary import Vocabulary

_KEY = re.compile(r"^[0-9a-f]{32}$")


def check_spans(spans: Any, length: int) -> Spans:
    out = normalize_spans(spans)
    for start, end in out:
        if start < 0 or end > length:
            raise StanceLabelError(f"span {start}-{end} lies outside the document (0-{length})")
    return out



def sentence_of(conn: sqlite3.Connection, document_id: int, spans: Spans) -> int | None:
    if not spans:
        return None
    anchor = spans[0][0]
    row = conn.execute('SELECT idx FROM sentence WHERE document_id = ? AND start <= ? AND ? < "end"',
                       (document_id, anchor, anchor)).fetchone()
    return row[0] if row else None



class Attributions:
    """Attribution rows and their authors; the edits that go through the event log are in events.py."""

    def __init__(self, db: Database, vocabulary: Vocabulary) -> None:
        self.db = db
        self.vocabulary = vocabulary

    def add(
        self, conn: sqlite3.Connection, doc_id: int, sha: str, item: ImportedAttribution, origin: str
    ) -> tuple[int, bool]:
        """Insert an attribution unless its key is there; returns (id, whether it is new)."""
        source, cue, content = (normalize_spans(x) for x in (item.source, item.cue, item.content))
        if not cue and not content:
            raise StanceLabelError("an attribution needs a cue or a content span")
        origin = item.origin or origin
        if origin not in ("auto", "imported", "manual"):
            raise StanceLabelError(f"unknown attribution origin {origin!r} (auto, imported or manual)")
        if item.key is not None:  # the identity it has in other copies of the project
            if not _KEY.match(item.key):
                raise StanceLabelError(f"attribution key {item.key!r} is not 32 hexadecimal digits")
            key = item.key
        else:
            key = attribution_key(sha, source, cue, content)
        row = conn.execute("SELECT id, source, cue, content FROM attribution WHERE key = ?", (key,)).fetchone()
        if row and item.key is None and origin == "manual" and \
                tuple(map(codec.from_json, row[1:])) != (source, cue, content):
            # The key belongs to an attribution edited since: this one is new, with a key of its own.
            key = hashlib.sha256(f"{key}|edited|{row[0]}".encode("ascii")).hexdigest()[:32]
            row = conn.execute("SELECT id FROM attribution WHERE key = ?", (key,)).fetchone()
        if row:
            attribution_id, created = row[0], False
        else:
            created = True
            attribution_id = conn.execute(
                "INSERT INTO attribution (document_id, sentence_index, key, source, cue, content, origin, "
                "source_hint, suggestion, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (doc_id, sentence_of(conn, doc_id, cue or content or source), key, codec.to_json(source),
                 codec.to_json(cue), codec.to_json(content), origin, item.source_hint, item.suggestion, utc_now()),
            ).lastrowid
        if item.annotator:
            self.record_author(conn, int(attribution_id), item.annotator)
        return int(attribution_id), created

    def record_author(self, conn: sqlite3.Connection, attribution_id: int, annotator: str) -> None:
        conn.execute("INSERT OR IGNORE INTO attribution_author (attribution_id, annotator_id) VALUES (?, ?)",
                     (attribution_id, self.vocabulary.annotator_id(conn, annotator)))

    def add_author(self, attribution_key: str, annotator: str) -> None:
        """Record who proposed an attribution (merging files keeps each attribution's authors)."""
        with self.db.transaction() as conn:
            row = conn.execute("SELECT id FROM attribution WHERE key = ?", (attribution_key,)).fetchone()
            if row is None:
                raise StanceLabelError(f"no attribution with key {attribution_key} in this project")
            self.record_author(conn, row[0], annotator)

    def add_attributions(self, document_id: int, items: Iterable[ImportedAttribution], origin: str = "imported") -> int:
        """Attributions for a document already stored (matched by key); returns how many are new."""
        with self.db.transaction() as conn:
            row = conn.execute("SELECT sha256, length(text) FROM document WHERE id = ?", (document_id,)).fetchone()
            if row is None:
                raise StanceLabelError(f"no document with id {document_id} in this project")
            added = 0
            for item in items:
                for spans in (item.source, item.cue, item.content):
                    check_spans(spans, row[1])
                added += self.add(conn, document_id, row[0], item, origin)[1]
            return added

    def copy_attributions(self, rows: Sequence[tuple]) -> int:
        """Attributions from another copy of the project (a merge), many at once: (document id, key,
        source, cue, content as normalised JSON spans, origin, source hint, suggestion). Keys must be
        new here; the sentence is found from the spans. Returns how many were added."""
        now = utc_now()

        def checked() -> Iterator[tuple]:
            for document_id, key, source, cue, content, origin, hint, suggestion in rows:
                if not _KEY.match(key):
                    raise StanceLabelError(f"attribution key {key!r} is not 32 hexadecimal digits")
                if origin not in ("auto", "imported", "manual"):
                    raise StanceLabelError(f"unknown attribution origin {origin!r} (auto, imported or manual)")
                anchor = cue if cue != codec.EMPTY_JSON else content
                if anchor == codec.EMPTY_JSON:
                    raise StanceLabelError(f"attribution {key} needs a cue or a content span")
                yield document_id, codec.first_start(anchor), key, source, cue, content, origin, hint, \
                    suggestion, now
        with self.db.transaction() as conn:
            first = conn.execute("SELECT 1 FROM attribution LIMIT 1").fetchone() is None
            with indexes_rebuilt(conn, "attribution") if first else contextlib.nullcontext():
                return max(conn.executemany(
                    "INSERT INTO attribution (document_id, sentence_index, key, source, cue, content, origin, "
                    "source_hint, suggestion, created_at) VALUES (?1, (SELECT idx FROM sentence WHERE document_id = ?1 "
                    'AND start <= ?2 AND ?2 < "end"), ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)', checked()).rowcount, 0)

    def remove_untouched_auto_attributions(self) -> int:
        """Delete automatic attributions nobody has labelled, noted, flagged or edited; returns how many."""
        with self.db.transaction() as conn:
            return conn.execute(
                "DELETE FROM attribution WHERE origin = 'auto' "
                "AND NOT EXISTS (SELECT 1 FROM event e WHERE e.attribution_id = attribution.id) "
                "AND NOT EXISTS (SELECT 1 FROM annotation n WHERE n.attribution_id = attribution.id) "
                "AND NOT EXISTS (SELECT 1 FROM gold g WHERE g.attribution_id = attribution.id)"
            ).rowcount

    def attributions(self, document_id: int) -> list[Attribution]:
        rows = self.db.query(
            "SELECT id, document_id, sentence_index, key, source, cue, content, origin, source_hint, "
            "suggestion, status FROM attribution WHERE document_id = ? ORDER BY sentence_index, id",
            (document_id,),
        )
        with self.db.stored_values():
            return [
                Attribution(r[0], r[1], r[2], r[3], codec.from_json(r[4]), codec.from_json(r[5]),
                            codec.from_json(r[6]), r[7], r[8], r[9], r[10])
                for r in rows
            ]

    def attribution_authors(self, attribution_id: int) -> list[str]:
        rows = self.db.query(
            "SELECT n.name FROM attribution_author x JOIN annotator n ON n.id = x.annotator_id "
            "WHERE x.attribution_id = ? ORDER BY n.name",
            (attribution_id,),
        )
        return [r[0] for r in rows]

    def attribution(self, attribution_id: int) -> Attribution:
        rows = self.db.query(
            "SELECT id, document_id, sentence_index, key, source, cue, content, origin, source_hint, "
            "suggestion, status FROM attribution WHERE id = ?",
            (attribution_id,),
        )
        if not rows:
            raise KeyError(attribution_id)
        r = rows[0]
        with self.db.stored_values():
            return Attribution(r[0], r[1], r[2], r[3], codec.from_json(r[4]), codec.from_json(r[5]),
                               codec.from_json(r[6]), r[7], r[8], r[9], r[10])

    def attribution_id(self, key: str) -> int:
        rows = self.db.query("SELECT id FROM attribution WHERE key = ?", (key,))
        if not rows:
            raise StanceLabelError(f"no attribution with key {key} in this project")
        return rows[0][0]

    def authored_attributions(self) -> dict[str, dict[int, list[tuple[Spans, Spans, Spans]]]]:
        """Each annotator's own attributions (BRAT files they brought, ones they added or edited), by document."""
        out: dict[str, dict[int, list[tuple[Spans, Spans, Spans]]]] = {}
        for name, document_id, source, cue, content in self.db.query(
                "SELECT u.name, a.document_id, a.source, a.cue, a.content FROM attribution_author x "
                "JOIN attribution a ON a.id = x.attribution_id JOIN annotator u ON u.id = x.annotator_id "
                "WHERE a.status = 'active' ORDER BY u.name, a.document_id, a.id"):
            out.setdefault(name, {}).setdefault(document_id, []).append(
                (codec.from_json(source), codec.from_json(cue), codec.from_json(content)))
        return out
