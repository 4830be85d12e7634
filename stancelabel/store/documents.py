"""Documents: import runs, texts with their sentences and targets, the guidelines, read back a page at a time."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from stancelabel.core.errors import StanceLabelError
from stancelabel.core.model import Document, DocumentSummary, ImportedAttribution, Sentence, SourceDocument
from stancelabel.core.names import check_text, text_problem, value_problem
from stancelabel.store.attributions import Attributions
from stancelabel.store.connection import Database, utc_now
from stancelabel.store.schema import default_guidelines
from stancelabel.store.vocabulary import Vocabulary

MAX_GUIDELINES_CHARS = 1_000_000


def check_document(external_id: str, title: str, text: str, meta: Any) -> None:
    """Refuse a document whose text, id, title or metadata cannot travel through every export."""
    for what, value in (("text", text), ("id", external_id), ("title", title)):
        problem = text_problem(value) if isinstance(value, str) else f"must be text, not {type(value).__name__}"
        if problem:
            raise StanceLabelError(f"document {external_id!r}: its {what} {problem}")
    problem = value_problem(meta)
    if problem:
        raise StanceLabelError(f"document {external_id!r}: its metadata {problem}")


class Documents:
    """Import runs, documents and their sentences, targets given to documents, the guidelines."""

    def __init__(self, db: Database, vocabulary: Vocabulary, attributions: Attributions) -> None:
        self.db = db
        self.vocabulary = vocabulary
        self.attributions = attributions

    def begin_import(self, paths: Iterable[str], fmt: str, pipeline_name: str, pipeline_version: str) -> int:
        """Record an import run; its pipeline is how this project's sentences were made."""
        with self.db.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO import_run (started_at, paths, format, pipeline_name, pipeline_version) "
                "VALUES (?, ?, ?, ?, ?)",
                (utc_now(), json.dumps(list(paths)), fmt, pipeline_name, pipeline_version),
            )
            return int(cur.lastrowid)

    def finish_import(self, import_id: int) -> int:
        """Close an import run; returns how many documents it stored."""
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE import_run SET finished_at = ?, "
                "documents = (SELECT count(*) FROM document WHERE import_id = ?) WHERE id = ?",
                (utc_now(), import_id, import_id),
            )
            return conn.execute("SELECT documents FROM import_run WHERE id = ?", (import_id,)).fetchone()[0]

    def imports(self) -> list[dict[str, Any]]:
        rows = self.db.query(
            "SELECT id, started_at, finished_at, paths, format, pipeline_name, pipeline_version, "
            "(SELECT count(*) FROM document WHERE import_id = import_run.id) FROM import_run ORDER BY id"
        )
        keys = ("id", "started_at", "finished_at", "paths", "format", "pipeline_name", "pipeline_version", "documents")
        out = [dict(zip(keys, row)) for row in rows]
        with self.db.stored_values():
            for item in out:
                item["paths"] = json.loads(item["paths"])
        return out

    def document_id_by_sha(self, sha256: str) -> int | None:
        rows = self.db.query("SELECT id FROM document WHERE sha256 = ?", (sha256,))
        return rows[0][0] if rows else None

    def document_shas(self) -> set[str]:
        return {row[0] for row in self.db.query("SELECT sha256 FROM document")}

    def add_document(
        self,
        source: SourceDocument,
        sentences: Sequence[tuple[int, int]],
        *,
        import_id: int | None = None,
        attributions: Iterable[tuple[ImportedAttribution, str]] = (),
    ) -> tuple[int, int]:
        """Store a document with its sentences and attributions in one transaction.

        ``attributions`` pairs each attribution with its origin. A document whose
        text is already in the project is not stored again, and only attributions
        not yet there are added. Returns (document id, attributions added).
        """
        sha = source.sha256
        check_document(source.external_id, source.title, source.text, source.meta)
        with self.db.transaction() as conn:
            existing = conn.execute("SELECT id FROM document WHERE sha256 = ?", (sha,)).fetchone()
            target_id = self.vocabulary.target_id(conn, source.target)
            if existing:
                doc_id = existing[0]
                if target_id is not None:  # a target for a document that has none yet
                    conn.execute("UPDATE document SET target_id = ? WHERE id = ? AND target_id IS NULL",
                                 (target_id, doc_id))
            else:
                doc_id = conn.execute(
                    "INSERT INTO document (external_id, title, text, sha256, meta, source_file, import_id, "
                    "imported_at, target_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (source.external_id, source.title, source.text, sha,
                     json.dumps(source.meta, ensure_ascii=False), source.source_file, import_id, utc_now(),
                     target_id),
                ).lastrowid
                conn.executemany(
                    'INSERT INTO sentence (document_id, idx, start, "end") VALUES (?, ?, ?, ?)',
                    [(doc_id, i, s, e) for i, (s, e) in enumerate(sentences)],
                )
            for name in source.annotators:
                self.vocabulary.annotator_id(conn, name)
            added = sum(self.attributions.add(conn, doc_id, sha, item, origin)[1]
                        for item, origin in attributions)
        return int(doc_id), added

    def copy_documents(self, documents: Sequence[tuple]) -> dict[str, int]:
        """Documents from another copy of the project (a merge), not yet here, many at once:
        (external id, title, text, sha256 of the text, meta as a JSON object's text, source file,
        target text, sentences as (start, end) pairs). Returns {sha256: document id}."""
        now, ids, sentences = utc_now(), {}, []
        with self.db.transaction() as conn:
            for external_id, title, text, sha, meta, source_file, target, spans in documents:
                check_document(external_id, title, text, json.loads(meta))
                ids[sha] = doc_id = conn.execute(
                    "INSERT INTO document (external_id, title, text, sha256, meta, source_file, imported_at, "
                    "target_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (external_id, title, text, sha, meta, source_file, now,
                     self.vocabulary.target_id(conn, target))).lastrowid
                sentences.extend((doc_id, i, start, end) for i, (start, end) in enumerate(spans))
            conn.executemany('INSERT INTO sentence (document_id, idx, start, "end") VALUES (?, ?, ?, ?)', sentences)
        return ids

    def last_document_id(self) -> int:
        """The highest document id (0 for none): documents stored later have higher ones."""
        return self.db.query("SELECT coalesce(max(id), 0) FROM document")[0][0]

    def document_count(self) -> int:
        return self.db.query("SELECT count(*) FROM document")[0][0]

    def document_summaries(self, offset: int = 0, limit: int = -1, annotator: str | None = None,
                           after_id: int | None = None) -> list[DocumentSummary]:
        """Documents in import order, a page at a time, with their counts.

        ``labelled`` counts attributions labelled by ``annotator``, or by anyone
        when it is None. ``after_id`` pages by key (cheap at any depth) instead of by offset.
        """
        who, params = ("", [])
        if annotator:
            who, params = "AND n.annotator_id = ?", [self.vocabulary.known_annotator_id(annotator)]
        where = ""
        if after_id is not None:
            where, offset = "WHERE d.id > ?", 0
            params.append(after_id)
        rows = self.db.query(
            "SELECT d.id, d.external_id, d.title, "
            "(SELECT count(*) FROM sentence s WHERE s.document_id = d.id), "
            "(SELECT count(*) FROM attribution a WHERE a.document_id = d.id AND a.status = 'active'), "
            "(SELECT count(*) FROM attribution a WHERE a.document_id = d.id AND a.status = 'active' "
            " AND EXISTS (SELECT 1 FROM annotation n WHERE n.attribution_id = a.id AND n.label_id IS NOT NULL "
            f" {who})) "
            f"FROM document d {where} ORDER BY d.id LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return [DocumentSummary(*row) for row in rows]

    def document_ids(self, *, without_auto_attributions: bool = False) -> list[int]:
        """Ids of all documents in import order, or of those with no automatic attributions yet."""
        where = (" WHERE NOT EXISTS (SELECT 1 FROM attribution a WHERE a.document_id = d.id AND a.origin = 'auto')"
                 if without_auto_attributions else "")
        return [r[0] for r in self.db.query(f"SELECT d.id FROM document d{where} ORDER BY d.id")]

    def document(self, document_id: int) -> Document:
        rows = self.db.query(
            "SELECT d.id, d.external_id, d.title, d.text, d.sha256, d.meta, d.source_file, d.imported_at, t.text "
            "FROM document d LEFT JOIN target t ON t.id = d.target_id WHERE d.id = ?",
            (document_id,),
        )
        if not rows:
            raise KeyError(document_id)
        row = rows[0]
        with self.db.stored_values():
            return Document(*row[:5], json.loads(row[5]), *row[6:])

    def sentences(self, document_id: int) -> list[Sentence]:
        rows = self.db.query(
            'SELECT document_id, idx, start, "end" FROM sentence WHERE document_id = ? ORDER BY idx',
            (document_id,),
        )
        return [Sentence(*row) for row in rows]

    def sentence_text(self, document_id: int, index: int) -> str:
        """One sentence's text ("" when there is no such sentence)."""
        rows = self.db.query(
            'SELECT substr(d.text, s.start + 1, s."end" - s.start) FROM sentence s JOIN document d '
            "ON d.id = s.document_id WHERE s.document_id = ? AND s.idx = ?", (document_id, index))
        return str(rows[0][0]) if rows else ""

    def set_document_target(self, document_id: int, text: str | None) -> None:
        """Give a document its target claim (None or blank: no target). Labels already given keep theirs."""
        with self.db.transaction() as conn:
            if conn.execute("SELECT 1 FROM document WHERE id = ?", (document_id,)).fetchone() is None:
                raise StanceLabelError(f"no document with id {document_id} in this project")
            conn.execute("UPDATE document SET target_id = ? WHERE id = ?",
                         (self.vocabulary.target_id(conn, text), document_id))

    def guidelines(self) -> str:
        """The project's annotation guidelines (Markdown)."""
        return self.db.get_setting("guidelines") or default_guidelines()

    def set_guidelines(self, markdown: str) -> None:
        check_text(markdown, "the guidelines")
        if len(markdown) > MAX_GUIDELINES_CHARS:
            raise StanceLabelError(f"guidelines may have at most {MAX_GUIDELINES_CHARS:,} characters "
                                   f"(these have {len(markdown):,})")
        self.db.set_setting("guidelines", markdown)
