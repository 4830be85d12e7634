"""The names everything else refers to by id: the label schema, the annotators, the target claims."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

from stancelabel.core.errors import StanceLabelError
from stancelabel.core.labels import check_label_schema
from stancelabel.core.model import Label, normalize_target
from stancelabel.core.names import check_text, clean_name
from stancelabel.store.connection import Database, utc_now

MAX_TARGET_CHARS = 1000


class Vocabulary:
    """Labels, annotators and targets: looked up by name (or text), made on first use."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- labels ----------------------------------------------------------------------------

    def labels(self) -> list[Label]:
        rows = self.db.query("SELECT name, shortcut, colour, description, position, id FROM label ORDER BY position")
        return [Label(*row) for row in rows]

    def label_usage(self) -> dict[str, int]:
        """How many attributions carry each label now (anyone's label, or gold)."""
        rows = self.db.query(
            "SELECT l.name, (SELECT count(*) FROM annotation n WHERE n.label_id = l.id) "
            "+ (SELECT count(*) FROM gold g WHERE g.label_id = l.id) FROM label l ORDER BY l.position"
        )
        return dict(rows)

    def save_labels(self, labels: Sequence[Label], reserved_keys: Iterable[str] = ()) -> None:
        """Replace the label schema: labels with an id are updated (a rename keeps what was
        given), those without are added, and missing ones removed unless something carries them.
        """
        check_label_schema(labels, reserved_keys)
        with self.db.transaction() as conn:
            existing = {row[0]: row[1] for row in conn.execute("SELECT id, name FROM label")}
            kept = {label.id for label in labels if label.id is not None}
            unknown = kept - existing.keys()
            if unknown:
                raise StanceLabelError(f"label id {min(unknown)} is not in this project (reload the schema)")
            for label_id in sorted(existing.keys() - kept):
                used = conn.execute(
                    "SELECT (SELECT count(*) FROM annotation WHERE label_id = ?) "
                    "+ (SELECT count(*) FROM gold WHERE label_id = ?)", (label_id, label_id)
                ).fetchone()[0]
                if used:
                    raise StanceLabelError(
                        f"cannot remove label {existing[label_id]!r}: {used} attribution(s) carry it; "
                        "relabel them first"
                    )
                conn.execute("DELETE FROM label WHERE id = ?", (label_id,))
            # Park the names first, so that swapping two names does not trip the UNIQUE constraint.
            conn.execute("UPDATE label SET name = char(1) || id")
            renamed = [(label.name, existing[label.id]) for label in labels
                       if label.id is not None and existing[label.id] != label.name]
            for new_name, old_name in renamed:  # suggestions name labels: they follow a rename
                conn.execute("UPDATE attribution SET suggestion = ? WHERE suggestion = ?", (new_name, old_name))
            for position, label in enumerate(labels):
                values = (label.name, label.shortcut.strip().upper(), label.colour, label.description, position)
                if label.id is None:
                    # Never reuse the id of a removed label: the event log still names it by id.
                    next_id = 1 + conn.execute(
                        "SELECT max(coalesce((SELECT max(id) FROM label), 0), "
                        "coalesce((SELECT max(CAST(value AS INTEGER)) FROM event WHERE kind = 'label'), 0), "
                        "coalesce((SELECT max(CAST(previous AS INTEGER)) FROM event WHERE kind = 'label'), 0), "
                        "coalesce((SELECT max(json_extract(value, '$.label')) FROM event WHERE kind = 'gold'), 0), "
                        "coalesce((SELECT max(json_extract(previous, '$.label')) FROM event WHERE kind = 'gold' "
                        "AND previous != 'null'), 0))"
                    ).fetchone()[0]
                    conn.execute("INSERT INTO label (id, name, shortcut, colour, description, position) "
                                 "VALUES (?, ?, ?, ?, ?, ?)", (next_id, *values))
                else:
                    conn.execute("UPDATE label SET name = ?, shortcut = ?, colour = ?, description = ?, "
                                 "position = ? WHERE id = ?", (*values, label.id))

    # -- annotators ------------------------------------------------------------------------

    def annotators(self) -> list[str]:
        return [r[0] for r in self.db.query("SELECT name FROM annotator ORDER BY name")]

    def add_annotator(self, name: str) -> None:
        with self.db.transaction() as conn:
            self.annotator_id(conn, name)

    @staticmethod
    def annotator_id(conn: sqlite3.Connection, name: str) -> int:
        name = clean_name(name, "annotator name")
        row = conn.execute("SELECT id FROM annotator WHERE name = ?", (name,)).fetchone()
        if row:
            return int(row[0])
        return int(conn.execute("INSERT INTO annotator (name, created_at) VALUES (?, ?)", (name, utc_now())).lastrowid)

    def known_annotator_id(self, name: str) -> int:
        """The annotator's id, or -1 (matches nothing) for a name never stored."""
        rows = self.db.query("SELECT id FROM annotator WHERE name = ?", (name.strip(),))
        return rows[0][0] if rows else -1

    def label_id(self, conn: sqlite3.Connection, name: str | None) -> int | None:
        if name is None:
            return None
        row = conn.execute("SELECT id FROM label WHERE name = ?", (name,)).fetchone()
        if not row:
            known = ", ".join(x.name for x in self.labels())
            raise StanceLabelError(f"unknown label {name!r} (this project's labels: {known})")
        return int(row[0])

    # -- targets ---------------------------------------------------------------------------

    @staticmethod
    def target_id(conn: sqlite3.Connection, text: str | None) -> int | None:
        text = normalize_target(text)
        if text is None:
            return None
        check_text(text, "target claim")
        if len(text) > MAX_TARGET_CHARS:
            raise StanceLabelError(f"a target claim may have at most {MAX_TARGET_CHARS} characters "
                                   f"(this one has {len(text)})")
        row = conn.execute("SELECT id FROM target WHERE text = ?", (text,)).fetchone()
        if row:
            return int(row[0])
        return int(conn.execute("INSERT INTO target (text, created_at) VALUES (?, ?)", (text, utc_now())).lastrowid)

    def targets(self) -> list[tuple[str, int]]:
        """The project's target claims, with how many documents have each, most used first."""
        return [(r[0], r[1]) for r in self.db.query(
            "SELECT t.text, (SELECT count(*) FROM document d WHERE d.target_id = t.id) AS n FROM target t "
            "ORDER BY n DESC, t.text")]
