"""The fast detector's cue classifier: which words report something in this sentence, and how far the cue runs.

Two logistic regressions over the parse the pipeline has already computed
(trained by training/cues.py on PolNeAR's training split):

- the *anchor* model scores every content word as the head word of a cue
  ("said", "claim", "according"), from its word, lemma, tag, dependency label,
  head, children's labels and words, clausal complement, subject, and whether
  it stands in or beside a quotation;
- the *extent* model decides, word by word outwards from an anchor, whether a
  neighbour belongs to the cue ("had basically said", "message of",
  "according to"), so cues follow PolNeAR's conventions.

Features are hashed into a fixed-size weight vector and computed for all tokens
at once with NumPy from ``Doc.to_array``: scoring a document costs a few
array operations, no Python loop over feature strings.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from spacy.attrs import DEP, ENT_TYPE, HEAD, IDX, IS_PUNCT, IS_QUOTE, IS_SPACE, LEMMA, LOWER, POS, TAG

if TYPE_CHECKING:
    from spacy.tokens import Doc

from stancelabel.nlp.doctext import doc_text, sentence_numbers
from stancelabel.nlp.quotes import quote_spans

MODEL_FILE = "cues.npz"
_ATTRS = [LOWER, LEMMA, POS, TAG, DEP, HEAD, ENT_TYPE, IS_PUNCT, IS_SPACE, IS_QUOTE]
_K = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F), np.uint64(0x165667B19E3779F9),
      np.uint64(0xD6E8FEB86659FD93))
#: Adverbs of time that never end a cue in PolNeAR (weekdays do, about 100 times).
_TIME_ADVERBS = ("earlier", "later", "again", "today", "now", "then", "yesterday", "recently", "previously")
#: How far from its anchor a cue may run, in tokens, on either side.
REACH = 6


class Features:
    """Feature templates as they are added (rows, template number, values); ``hashed`` gives each one's
    64-bit hashes (``_mix_rows``), those of the same arity and length computed in one pass (a template's
    arrays are small: one NumPy call per template cost more than the arithmetic). The weight files index
    by these hashes: the test suite keeps the one-template-at-a-time definition they were trained with."""

    def __init__(self) -> None:
        self.added: list[tuple[np.ndarray, int, tuple[np.ndarray, ...]]] = []

    def add(self, rows: np.ndarray, template: int, *parts: np.ndarray) -> None:
        self.added.append((rows, template, parts))

    def hashed(self) -> tuple[np.ndarray, np.ndarray]:
        """(rows, hashes), concatenated in the order the templates were added."""
        if not self.added:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint64)
        groups: dict[tuple[int, int], list[int]] = {}
        for number, (rows, _, parts) in enumerate(self.added):
            groups.setdefault((len(parts), len(rows)), []).append(number)
        hashes: list[np.ndarray | None] = [None] * len(self.added)
        for (arity, _), members in groups.items():
            templates = np.array([self.added[m][1] for m in members], dtype=np.uint64)[:, None]
            stacked = [np.stack([np.asarray(self.added[m][2][k]).astype(np.uint64) for m in members])
                       for k in range(arity)]
            for m, h in zip(members, _mix_rows(templates, stacked)):
                hashes[m] = h
        return np.concatenate([rows for rows, _, _ in self.added]), np.concatenate(hashes)


def _mix_rows(templates: np.ndarray, parts: list[np.ndarray]) -> np.ndarray:
    """The 64-bit hash of each template and its values, element-wise: ``templates`` (m, 1), each part
    (m, n) of uint64; row i hashes template i with ``parts[0][i], parts[1][i], ...``."""
    with np.errstate(over="ignore"):
        h = np.broadcast_to(templates * _K[3] + np.uint64(1), parts[0].shape).copy()
        for n, part in enumerate(parts):
            h = (h ^ (part * _K[n % 3])) * _K[(n + 1) % 3]
            h ^= h >> np.uint64(31)
    return h


class Parsed:
    """The token arrays the features read, computed once per Doc."""

    def __init__(self, doc: Doc) -> None:
        n = len(doc)
        array = doc.to_array(_ATTRS).astype(np.uint64) if n else np.zeros((0, len(_ATTRS)), dtype=np.uint64)
        self.n = n
        self.lower, self.lemma, self.pos, self.tag, self.dep = (array[:, i] for i in range(5))
        self.head = (np.arange(n) + array[:, 5].astype(np.int64)).astype(np.int64)
        self.ent = array[:, 6]
        self.punct = array[:, 7].astype(bool)
        self.space = array[:, 8].astype(bool)
        quote_mark = array[:, 9].astype(bool)
        strings = doc.vocab.strings
        self.ids = {name: np.uint64(strings[name]) for name in (
            "ccomp", "xcomp", "dobj", "nsubj", "nsubjpass", "mark", "aux", "neg", "prep", "prt", "poss", "agent",
            "auxpass", "advmod", "ROOT", "VERB", "AUX", "NOUN", "ADP", "ADJ", "PROPN", "ADV", "PRON", "DET", "that")}
        self.time_adverbs = [np.uint64(strings[w]) for w in _TIME_ADVERBS]
        starts = doc.to_array(IDX).astype(np.int64) if n else np.zeros(0, dtype=np.int64)
        self.starts = starts
        # sentence number of each token
        sentence = sentence_numbers(doc).astype(np.int64)
        self.sentence = sentence
        # inside a quotation (by the marks' character offsets), and beside a quotation mark
        inside = np.zeros(n, dtype=bool)
        for q_start, q_end in quote_spans(doc_text(doc)):
            first = np.searchsorted(starts, q_start, side="right")
            inside[first:np.searchsorted(starts, q_end - 1, side="left")] = True
        sentence_has_quote = np.bincount(sentence[quote_mark], minlength=int(sentence.max()) + 1 if n else 0) > 0
        self.inside = inside
        self.quote_in_sentence = sentence_has_quote[sentence] if n else inside
        prev = np.concatenate([[n], np.arange(n - 1)]) if n else np.zeros(0, dtype=np.int64)
        nxt = np.concatenate([np.arange(1, n), [n]]) if n else np.zeros(0, dtype=np.int64)
        pad = np.uint64(0)
        lower_pad = np.append(self.lower, pad)
        self.prev_lower = lower_pad[prev]
        self.next_lower = lower_pad[nxt]
        self.next_quote = np.append(quote_mark, False)[nxt] | np.append(quote_mark, False)[prev]
        # children's summaries, gathered onto their heads
        child = np.arange(n)[self.head != np.arange(n)] if n else np.zeros(0, dtype=np.int64)
        self.child, self.child_head = child, self.head[child]

        def has(dep: str) -> np.ndarray:
            out = np.zeros(n, dtype=np.uint64)
            picked = child[self.dep[child] == self.ids[dep]]
            out[self.head[picked]] = 1
            return out

        self.has_ccomp, self.has_xcomp, self.has_dobj = has("ccomp"), has("xcomp"), has("dobj")
        self.has_poss, self.has_agent = has("poss"), has("agent")
        subject = np.zeros(n, dtype=np.uint64)
        picked = child[(self.dep[child] == self.ids["nsubj"]) | (self.dep[child] == self.ids["nsubjpass"])]
        with np.errstate(over="ignore"):
            subject[self.head[picked]] = self.pos[picked] * np.uint64(31) + self.ent[picked] + np.uint64(1)
        self.subject = subject
        # a "that" complementiser under a clausal complement
        that = np.zeros(n, dtype=np.uint64)
        marks = child[(self.dep[child] == self.ids["mark"]) & (self.lower[child] == self.ids["that"])]
        clauses = self.head[marks]
        clauses = clauses[self.dep[clauses] == self.ids["ccomp"]]
        that[self.head[clauses]] = 1
        self.that = that


def anchor_features(p: Parsed) -> tuple[np.ndarray, np.ndarray]:
    """(token index, feature hash) pairs of every token's anchor features."""
    features = Features()
    everyone = np.arange(p.n)

    def add(template: int, *parts: np.ndarray, at: np.ndarray = everyone) -> None:
        features.add(at, template, *parts)

    head_lemma, head_pos, head_dep = p.lemma[p.head], p.pos[p.head], p.dep[p.head]
    add(1, p.lemma)
    add(2, p.lower)
    add(3, p.tag)
    add(4, p.lemma, p.tag)
    add(5, p.lemma, p.dep)
    add(6, p.dep, p.pos)
    add(7, p.lemma, head_lemma)
    add(8, p.dep, head_lemma)
    add(9, p.lemma, head_pos, p.dep)
    add(10, p.prev_lower)
    add(11, p.next_lower)
    add(12, p.lemma, p.next_lower)
    add(13, p.lemma, p.prev_lower)
    add(14, p.lemma, p.has_ccomp)
    add(15, p.lemma, p.has_xcomp)
    add(16, p.lemma, p.has_dobj)
    add(17, p.lemma, p.subject)
    add(18, p.subject, p.pos)
    add(19, p.lemma, p.inside.astype(np.uint64))
    add(20, p.pos, p.inside.astype(np.uint64), p.quote_in_sentence.astype(np.uint64))
    add(21, p.lemma, p.quote_in_sentence.astype(np.uint64))
    add(22, p.lemma, p.next_quote.astype(np.uint64))
    add(23, p.lemma, p.that)
    add(24, head_lemma, head_dep)
    add(25, p.pos, p.ent)
    add(26, p.lemma, p.has_poss, p.has_agent)
    add(27, p.has_ccomp, p.has_xcomp, p.pos)
    add(28, p.lemma, p.has_ccomp, p.subject)
    # children, gathered onto their heads
    c, h = p.child, p.child_head
    add(40, p.lemma[h], p.dep[c], at=h)
    add(41, p.dep[c], p.lower[c], at=h)
    add(42, p.lemma[h], p.dep[c], p.lower[c], at=h)
    add(43, p.pos[h], p.dep[c], p.pos[c], at=h)
    return features.hashed()


def extent_pairs(p: Parsed, anchors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(anchor, neighbour) token pairs within REACH of each anchor in its sentence (neither a space)."""
    if not len(anchors):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    offsets = np.array([o for o in range(-REACH, REACH + 1) if o], dtype=np.int64)
    a = np.repeat(anchors, len(offsets))
    t = a + np.tile(offsets, len(anchors))
    ok = (t >= 0) & (t < p.n)
    a, t = a[ok], t[ok]
    ok = (p.sentence[t] == p.sentence[a]) & ~p.space[t]
    return a[ok], t[ok]


def extent_features(p: Parsed, a: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(pair index, feature hash) of each (anchor, neighbour) pair's extent features."""
    features = Features()
    pair = np.arange(len(a))
    distance = (t - a).astype(np.int64)
    side = (distance > 0).astype(np.uint64)
    near = np.clip(np.abs(distance), 0, 4).astype(np.uint64)
    child = (p.head[t] == a).astype(np.uint64)
    grandchild = (p.head[p.head[t]] == a).astype(np.uint64) * np.uint64(2)
    parent = (p.head[a] == t).astype(np.uint64) * np.uint64(3)
    relation = child + grandchild + parent

    def add(template: int, *parts: np.ndarray) -> None:
        features.add(pair, template, *parts)

    add(100, side)
    add(101, side, near, relation)
    add(102, side, p.dep[t], relation)
    add(103, side, p.lower[t])
    add(104, side, p.pos[t], p.pos[a])
    add(105, side, p.dep[t], p.lower[t])
    add(106, p.lemma[a], side, p.dep[t])
    add(107, p.lemma[a], p.lower[t])
    add(108, side, near, p.pos[t])
    add(109, side, p.dep[t], p.pos[a], relation)
    add(110, p.punct[t].astype(np.uint64), side, p.lower[t])
    add(111, side, p.dep[t], p.dep[p.head[t]])
    add(112, p.lemma[a], side, near)
    return features.hashed()


class CueModel:
    """The two weight vectors and the decision threshold, as training/cues.py saved them."""

    def __init__(self, anchor: np.ndarray, anchor_bias: float, extent: np.ndarray, extent_bias: float,
                 threshold: float, candidate_pos: list[str]) -> None:
        self.anchor, self.anchor_bias = anchor.astype(np.float32), float(anchor_bias)
        self.extent, self.extent_bias = extent.astype(np.float32), float(extent_bias)
        self.threshold = float(threshold)
        self.candidate_pos = list(candidate_pos)

    @classmethod
    def from_disk(cls, path: Path) -> CueModel:
        with np.load(path) as data:
            return cls(data["anchor"], float(data["anchor_bias"]), data["extent"], float(data["extent_bias"]),
                       float(data["threshold"]), [str(s) for s in data["candidate_pos"]])

    def to_disk(self, path: Path) -> None:
        np.savez_compressed(path, anchor=self.anchor.astype(np.float16), anchor_bias=self.anchor_bias,
                            extent=self.extent.astype(np.float16), extent_bias=self.extent_bias,
                            threshold=self.threshold, candidate_pos=np.array(self.candidate_pos))

    def index(self, hashes: np.ndarray) -> np.ndarray:
        return (hashes & np.uint64(len(self.anchor) - 1)).astype(np.int64)

    def anchor_scores(self, p: Parsed, doc: Doc) -> np.ndarray:
        rows, hashes = anchor_features(p)
        scores = np.bincount(rows, weights=self.anchor[self.index(hashes)], minlength=p.n) + self.anchor_bias
        candidate = np.isin(p.pos, np.array([doc.vocab.strings[s] for s in self.candidate_pos], dtype=np.uint64))
        scores[~candidate | p.space | p.punct] = -np.inf
        return scores

    def cues(self, doc: Doc, threshold: float | None = None, prior: np.ndarray | None = None,
             weight: float = 0.5, parsed: Parsed | None = None) -> list[tuple[tuple[int, int], float]]:
        """Cue spans (character offsets) with their anchor's score, best first, not overlapping.

        ``prior`` (one probability per token, the accurate detector's encoder) is mixed with
        the anchor model's probability with ``weight`` before the threshold. ``parsed``: the
        Doc's ``Parsed`` when the caller has it already (the boundary model reads it too).
        """
        p = parsed if parsed is not None else Parsed(doc)
        if not p.n:
            return []
        scores = self.anchor_scores(p, doc)
        threshold = self.threshold if threshold is None else threshold
        if prior is not None:
            with np.errstate(over="ignore"):
                mixed = weight * prior + (1 - weight) / (1 + np.exp(-scores))
            mixed[p.space | p.punct] = 0.0
            scores = np.log(np.clip(mixed, 1e-9, 1 - 1e-9) / np.clip(1 - mixed, 1e-9, 1))
        logit = np.log(threshold / (1 - threshold))
        anchors = np.flatnonzero(scores > logit)
        if not len(anchors):
            return []
        a, t = extent_pairs(p, anchors)
        rows, hashes = extent_features(p, a, t)
        pair_scores = np.bincount(rows, weights=self.extent[self.index(hashes)], minlength=len(a)) + self.extent_bias
        included = dict(zip(zip(a.tolist(), t.tolist()), (pair_scores > 0).tolist()))
        out = []
        taken = np.zeros(p.n, dtype=bool)
        for anchor in sorted(anchors.tolist(), key=lambda i: -scores[i]):
            if taken[anchor]:
                continue
            first = last = anchor
            for step in (-1, 1):
                i = anchor + step
                while 0 <= i < p.n and abs(i - anchor) <= REACH:
                    if p.space[i]:
                        if doc[i].text.count("\n"):
                            break
                        i += step
                        continue
                    if not included.get((anchor, i), False) or taken[i]:
                        break
                    if step < 0:
                        first = i
                    else:
                        last = i
                    i += step
            # edge punctuation never starts or ends a cue; nor, in PolNeAR, does a determiner or an
            # adverb of time ("stated earlier": 1 cue of 19,833 in the training split ends so) end one
            while first < anchor and (p.punct[first] or p.space[first]):
                first += 1
            while last > anchor and (p.punct[last] or p.space[last] or p.pos[last] == p.ids["DET"]
                                     or p.lower[last] in p.time_adverbs):
                last -= 1
            taken[first:last + 1] = True
            out.append(((doc[first].idx, doc[last].idx + len(doc[last].text)), float(scores[anchor])))
        return out


def model_path() -> Path | None:
    """The classifier shipped in stancelabel.resources/models/cues.npz, if this installation has it."""
    path = Path(str(resources.files("stancelabel.resources").joinpath("models", MODEL_FILE)))
    return path if path.is_file() else None


@lru_cache(maxsize=2)
def load_model(path: str | None = None) -> CueModel | None:
    chosen = Path(path) if path else model_path()
    return CueModel.from_disk(chosen) if chosen is not None else None
