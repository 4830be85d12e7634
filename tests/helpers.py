"""Small helpers shared by the import tests."""

from __future__ import annotations

from pathlib import Path

from stancelabel.io.importer import ImportOptions, ImportReport, import_paths
from stancelabel.store.project import Project


def write(path: Path, content: str | bytes) -> Path:
    """Write exactly these characters (no newline translation) or bytes; create folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", newline="")
    return path


def run_import(project: Project, paths: list[Path], blank_nlp, **options) -> ImportReport:
    """One import run with the blank pipeline; options are ImportOptions fields."""
    nlp, info = blank_nlp
    return import_paths(project, [Path(p) for p in paths], ImportOptions(**options), nlp, info)


ARTICLE_ONE = (
    "Harbour council denies lead claim\n"
    "The council denied that the water contains lead. Mayor Priya Nair said the pipes were replaced in 2019.\n"
    "\"We tested every school,\" she insisted.\n"
    "Residents claimed that the tests came too late."
)
ARTICLE_TWO = "Zoë Ångström cautioned that repairs may take years 🚧. The engineer said nothing else."


def _span(text: str, part: str, occurrence: int = 1) -> tuple[tuple[int, int], ...]:
    at = -1
    for _ in range(occurrence):
        at = text.index(part, at + 1)
    return ((at, at + len(part)),)


def fill_annotation_project(project) -> list[int]:
    """Two short articles with five attributions (one with a suggestion per stance); returns the queue ids."""
    from stancelabel.core.model import ImportedAttribution, QueueFilter, SourceDocument

    def sentences(text: str) -> list[tuple[int, int]]:
        out, start = [], 0
        for i, ch in enumerate(text):
            if ch == "\n" or (ch == "." and i + 1 < len(text) and text[i + 1] == " "):
                end = i if ch == "\n" else i + 1
                out.append((start, end))
                start = end + 1
        out.append((start, len(text)))
        return [(s, e) for s, e in out if e > s]

    one, two = ARTICLE_ONE, ARTICLE_TWO
    project.add_document(
        SourceDocument("one", one, "one.txt", title="Harbour council denies lead claim"), sentences(one),
        attributions=[
            (ImportedAttribution(_span(one, "The council"), _span(one, "denied"),
                                 _span(one, "the water contains lead"), suggestion="denies"), "auto"),
            (ImportedAttribution(_span(one, "Mayor Priya Nair"), _span(one, "said"),
                                 _span(one, "the pipes were replaced in 2019"), suggestion="asserts"), "auto"),
            (ImportedAttribution(_span(one, "she"), _span(one, "insisted"), _span(one, "We tested every school"),
                                 source_hint="Mayor Priya Nair", suggestion="asserts"), "auto"),
            (ImportedAttribution(_span(one, "Residents"), _span(one, "claimed"),
                                 _span(one, "the tests came too late")), "auto"),
        ],
    )
    project.add_document(
        SourceDocument("two", two, "two.txt"), sentences(two),
        attributions=[(ImportedAttribution(_span(two, "Zoë Ångström"), _span(two, "cautioned"),
                                           _span(two, "repairs may take years"), suggestion="qualifies"), "auto")],
    )
    return list(project.queue_ids("anyone", QueueFilter()))


def wait_saved(qtbot, window) -> None:
    """Until every change the window queued is committed."""
    qtbot.waitUntil(lambda: window.saver.idle, timeout=10_000)
