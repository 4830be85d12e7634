"""Source hints: for a pronoun source, the nearest earlier mention of the same speaker."""

from __future__ import annotations

from collections.abc import Sequence

from spacy.tokens import Doc, Token

from stancelabel.core.model import Spans
from stancelabel.nlp.doctext import doc_text

PRONOUNS = {"he", "she", "they", "i", "we", "it", "him", "her", "them", "you", "me", "us"}
#: Entity labels that fit each pronoun, for the fallback on the document's named entities.
_HINT_LABELS = {
    "he": ("PERSON",), "she": ("PERSON",), "i": ("PERSON",), "him": ("PERSON",), "her": ("PERSON",),
    "me": ("PERSON",), "they": ("ORG", "NORP", "GPE", "PERSON"), "them": ("ORG", "NORP", "GPE", "PERSON"),
    "we": ("ORG", "NORP", "GPE", "PERSON"), "us": ("ORG", "NORP", "GPE", "PERSON"), "it": ("ORG", "GPE", "NORP"),
    "you": ("PERSON", "ORG"),
}
_SINGULAR_PERSON = {"he", "she", "i", "him", "her", "me"}
_PLURAL = {"they", "them", "we", "us"}


def _fits(doc: Doc, pronoun: str, start: int, end: int, entities: Entities, strict: bool = False) -> bool:
    """Whether an earlier source can be what the pronoun refers to (strict: a named one)."""
    span = doc.char_span(start, end, alignment_mode="expand")
    if span is None or len(span) == 0 or span.text.strip().lower() in PRONOUNS:
        return False
    head = span.root
    labels = entities.labels_within(span.start_char, span.end_char)
    if pronoun in _SINGULAR_PERSON:
        if strict:
            return "PERSON" in labels
        # the small models often call "Councillor X" an organisation: only places and groups are excluded
        return head.tag_ in ("NN", "NNP") and not labels & {"GPE", "NORP", "LOC", "DATE"}
    if pronoun in _PLURAL:
        return bool(labels & {"ORG", "NORP"}) if strict else head.tag_ in ("NNS", "NNPS")
    return bool(labels & {"ORG", "GPE", "NORP"}) if strict else head.tag_ in ("NN", "NNP")


class Entities:
    """A document's named entities as (start offset, end offset, label, text), read from the Doc once
    when first asked for: ``Doc.ents`` (and ``Span.ents``) build every Span again on each access."""

    def __init__(self, doc: Doc) -> None:
        self.doc = doc
        self._items: list[tuple[int, int, str, str]] | None = None

    def __iter__(self):
        if self._items is None:
            self._items = [(ent.start_char, ent.end_char, ent.label_, ent.text) for ent in self.doc.ents]
        return iter(self._items)

    def labels_within(self, start: int, end: int) -> set[str]:
        """The labels of the entities that lie wholly within the characters start..end (as ``Span.ents``)."""
        return {label for s, e, label, _ in self if start <= s and e <= end}


def source_hint(doc: Doc, source: Spans, earlier: Sequence[Spans] = (), content: Spans = (),
                entities: Entities | None = None) -> str | None:
    """For a pronoun source, the nearest preceding named mention of the same speaker.

    First the earlier attributions' sources that name a fitting speaker, nearest
    first (he / she / I: a PERSON entity; they / we: an organisation or group; it:
    an organisation, place or group), then those that merely fit (a singular
    noun for he / she / it, a plural noun for they / we). Then the nearest preceding entity of a fitting kind. Without a
    parse (blank pipeline): the nearest preceding run of capitalised words that
    does not start a sentence. Sources inside the attribution's own content (a
    speaker its quotation mentions) are passed over.
    """
    if len(source) != 1:
        return None
    start, end = source[0]
    word = doc_text(doc)[start:end].strip().lower()
    if word not in PRONOUNS:
        return None
    if entities is None:
        entities = Entities(doc)
    if doc.has_annotation("DEP"):
        candidates = [spans[0] for spans in reversed(earlier) if len(spans) == 1 and spans[0][1] <= start
                      and not any(a <= spans[0][0] < b for a, b in content)]  # not a speaker inside the quote
        for strict in (True, False):  # a named person first, then any fitting noun
            for s, e in candidates:
                if _fits(doc, word, s, e, entities, strict):
                    return doc_text(doc)[s:e]
    if doc.has_annotation("ENT_IOB"):
        labels = _HINT_LABELS.get(word, ())
        for _, end_char, label, text in reversed(list(entities)):
            if end_char <= start and label in labels:
                return text
        return None
    run: list[Token] = []
    for token in reversed(doc[: doc.char_span(start, end, alignment_mode="expand").start]):
        if token.is_title and not token.is_sent_start and token.lower_ not in PRONOUNS:
            run.insert(0, token)
        elif run:
            break
    return " ".join(t.text for t in run) or None
