"""The trained cue and source tagger, added to a pipeline without disturbing its named entities.

The tagger is an NER component (trained by training/roles.cfg) and would write
over ``doc.ents``. It therefore runs between two small components: the first
sets the pipeline's entities aside, the second moves the tagger's CUE and
SOURCE spans to ``doc.spans["stancelabel_roles"]`` and puts the entities back.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from spacy.language import Language
from spacy.tokens import Doc, Span

ROLES_KEY = "stancelabel_roles"
TAGGER = "stancelabel_roles"
_STASH, _RESTORE = "stancelabel_set_entities_aside", "stancelabel_put_entities_back"
_USER_DATA_KEY = "stancelabel_entities_aside"
#: What the tagger reads besides the words: it was trained with these annotations present.
NEEDS = ("tagger", "lemmatizer")


def model_path() -> Path | None:
    """The tagger shipped in stancelabel.resources/models/roles, if this installation has it."""
    path = Path(str(resources.files("stancelabel.resources").joinpath("models", "roles")))
    return path if (path / "config.cfg").is_file() else None


@Language.component(_STASH)
def set_entities_aside(doc: Doc) -> Doc:
    doc.user_data[_USER_DATA_KEY] = [(e.start, e.end, e.label_, e.kb_id_) for e in doc.ents]
    doc.set_ents([], default="missing")
    return doc


@Language.component(_RESTORE)
def put_entities_back(doc: Doc) -> Doc:
    doc.spans[ROLES_KEY] = list(doc.ents)
    aside = doc.user_data.pop(_USER_DATA_KEY, [])
    doc.set_ents([Span(doc, start, end, label=label, kb_id=kb_id) for start, end, label, kb_id in aside],
                 default="outside")
    return doc


def add_role_tagger(nlp: Language, path: Path | None = None) -> bool:
    """Add the tagger (the shipped one by default) after the pipeline's own components.

    False when it cannot run here: no tagger shipped, not English, or the
    pipeline lacks the tags and lemmas the tagger reads.
    """
    import spacy

    path = path or model_path()
    if path is None or nlp.lang != "en" or not all(nlp.has_pipe(name) for name in NEEDS):
        return False
    trained = spacy.load(path)
    nlp.add_pipe(_STASH, last=True)
    nlp.add_pipe("ner", name=TAGGER, source=trained, last=True)
    nlp.add_pipe(_RESTORE, last=True)
    return True


def tagged_roles(doc: Doc) -> tuple[list[tuple[int, int]], list[tuple[int, int]]] | None:
    """(cue spans, source spans) the tagger found, or None when it did not run."""
    if ROLES_KEY not in doc.spans:
        return None
    group = doc.spans[ROLES_KEY]
    cues = [(s.start_char, s.end_char) for s in group if s.label_ == "CUE"]
    sources = [(s.start_char, s.end_char) for s in group if s.label_ == "SOURCE"]
    return cues, sources
