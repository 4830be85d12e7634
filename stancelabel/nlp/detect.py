"""Finding attributions (source, cue, content) in parsed text, with a stance suggestion each.

Runs as the spaCy component ``stancelabel_attributions`` so that it works inside
``nlp.pipe`` worker processes; results are left on ``doc._.stancelabel_attributions``
as plain tuples (they cross process boundaries with the Doc).

This module is the component and the policy that ends every detector (one attribution per
report); what finds them lives beside it:

- nlp/rules.py: the parse rules, a cue word's source and content, and the lexicon's cues
  (``rules`` uses them alone);
- nlp/guided.py: the rules anchored on a model's cues, the cue classifier's (``fast``,
  nlp/cues.py) or the transformer encoder's (``accurate``, nlp/encoder.py), and the
  content boundary model (nlp/boundaries.py);
- nlp/surface.py: without a parse (the blank fallback pipeline), the lexicon, word order
  and quotation marks: fewer attributions, less exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

from spacy.language import Language
from spacy.tokens import Doc

from stancelabel.core import spans as codec
from stancelabel.nlp.doctext import doc_text
from stancelabel.nlp.guided import detect_with_cues, detect_with_encoder
from stancelabel.nlp.lexicon import load_lexicon
from stancelabel.nlp.rules import Detected, detect_parsed
from stancelabel.nlp.surface import detect_surface

COMPONENT = "stancelabel_attributions"
EXTENSION = "stancelabel_attributions"
if not Doc.has_extension(EXTENSION):
    Doc.set_extension(EXTENSION, default=None)


def _as_tuple(item: Detected) -> tuple:
    """Plain lists and strings, which travel with the Doc between processes."""
    return (codec.to_lists(item.source), codec.to_lists(item.cue), codec.to_lists(item.content),
            item.source_hint, item.suggestion)


def _from_tuple(raw: Sequence) -> Detected:
    source, cue, content, hint, suggestion = raw
    spans = [codec.from_lists(role) for role in (source, cue, content)]
    return Detected(*spans, source_hint=hint, suggestion=suggestion)




def detected(doc: Doc) -> list[Detected]:
    """The attributions the component left on a Doc (empty when it did not run), ready for the store."""
    return [_from_tuple(raw) for raw in (doc._.get(EXTENSION) or [])]


class AttributionDetector:
    """The spaCy component: lexicon and rules, anchored on the cues of the chosen detector.

    ``detector`` is ``fast`` (the cue classifier over the parse, nlp/cues.py),
    ``accurate`` (the transformer encoder, nlp/encoder.py) or ``rules`` (the
    lexicon and the parse alone). Without a parse only the surface rules run.
    """

    def __init__(self, lexicon_path: str | None = None, detector: str = "fast") -> None:
        self.lexicon_path = lexicon_path
        self.lexicon = load_lexicon(lexicon_path)
        self.detector = detector
        self.cue_model = None
        self.boundary_model = None
        if detector in ("fast", "accurate"):
            from stancelabel.nlp.boundaries import load_model as load_boundaries
            from stancelabel.nlp.cues import load_model

            self.cue_model = load_model()
            self.boundary_model = load_boundaries()

    @property
    def encoder(self):
        """The encoder, loaded on first use in each process (spaCy's workers each load their own)."""
        from stancelabel.nlp.encoder import shared_tagger

        return shared_tagger()

    def __call__(self, doc: Doc) -> Doc:
        parsed = doc.has_annotation("DEP")
        if parsed and self.detector == "accurate":
            found = detect_with_encoder(doc, self.lexicon, self.encoder, self.cue_model, self.boundary_model)
        elif parsed and self.cue_model is not None:
            from stancelabel.nlp.cues import Parsed

            p = Parsed(doc)
            found = detect_with_cues(doc, self.lexicon, [span for span, _ in self.cue_model.cues(doc, parsed=p)],
                                     boundaries=self.boundary_model, parsed=p)
        elif parsed:
            found = detect_parsed(doc, self.lexicon)
        else:
            found = detect_surface(doc, self.lexicon)
        nesting = self.detector == "rules" or not parsed
        doc._.set(EXTENSION, [_as_tuple(item) for item in _drop_nested(found, nesting, doc_text(doc))])
        return doc


@Language.factory(COMPONENT, default_config={"lexicon_path": None, "detector": "rules"})
def make_attribution_detector(nlp: Language, name: str, lexicon_path: str | None,
                              detector: str) -> AttributionDetector:
    return AttributionDetector(lexicon_path, detector)



def _trim_end(text: str, start: int, end: int) -> int:
    while end > start and (text[end - 1].isspace() or text[end - 1] in ",;:"):
        end -= 1
    return end


def _drop_nested(found: list[Detected], nesting: bool = True, text: str | None = None) -> list[Detected]:
    """One attribution per report: the outermost of nested reports, and one of two with overlapping cues.

    With ``nesting`` an inner report that has a source of its own is kept ("the mayor said the
    engineers claimed ..."); without, as in PolNeAR (no cue of its 19,833 attributions lies in
    another's content), only the outer one is, except that an inner report with a source of its
    own in a trailing clause ("X claims ..., following US rumours that ...") ends the outer content
    at the comma before it and stays (given ``text``).
    """
    out = []
    for item in found:
        cue_start = item.cue[0][0] if item.cue else None
        outer = [other for other in found if other is not item and other.cue and cue_start is not None
                 and any(s <= cue_start < e for s, e in other.content)
                 and not any(s <= other.cue[0][0] < e for s, e in item.content)]
        if not outer or (nesting and item.source):
            out.append(item)
            continue
        if nesting or text is None or not item.source:
            continue
        start = min(item.source[0][0], cue_start)
        cuts = []
        for other in outer:
            at = next((s for s, e in other.content if s <= cue_start < e), None)
            comma = text.rfind(",", at, start) if at is not None else -1
            if comma <= at or text[comma:start].strip(" ,").count(" ") > 2:
                break
            cuts.append((other, comma))
        else:
            for other, comma in cuts:
                other.content = tuple(((s, _trim_end(text, s, comma)) if s <= comma < e else (s, e))
                                      for s, e in other.content)
            out.append(item)
    # the same cue found twice (a verb and its phrase), or two overlapping cues: keep the first
    unique: list[Detected] = []
    for item in out:
        if not any(s < e2 and s2 < e for s, e in item.cue for kept in unique for s2, e2 in kept.cue):
            unique.append(item)
    return unique
