"""Where a content starts and ends: a learned boundary model over the rules' content.

The rules (nlp/detect.py) take a cue's content from the parse: its clausal
complement, object or governing clause. PolNeAR's annotators draw the edges
differently often enough to matter (docs/benchmarks.md, "Conventions learned"):
a trailing prepositional phrase or "as" phrase belongs to the content of
"describe X as Y" but not to "said X in a speech"; a quotation runs on over the
next sentences; a clause after "and" or "but" is sometimes the same claim. Two
logistic regressions (trained by training/boundaries.py on PolNeAR's training
split) score every candidate word of the cue's sentence as the first and as the
last word of the content, given the cue, its source and the rules' content; the
last word may also end one of the next few sentences when no other cue lies in
between. The best start and the best end after it make the content, without the
cue and source where they fall inside it ("The plan, he said, is dead").

As in nlp/cues.py, features are hashed and computed for all candidates at once
with NumPy; weights are a few hundred KB, and NumPy is all it needs at run time.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from spacy.attrs import IS_QUOTE, LENGTH

from stancelabel.nlp.cues import Features, Parsed
from stancelabel.nlp.doctext import doc_text

if TYPE_CHECKING:
    from spacy.tokens import Doc

MODEL_FILE = "boundaries.npz"
#: How many sentences after the cue's (or the rules' content's last) sentence a content may run into.
FOLLOWING = 3
_MAX_DEPTH = 24
_NOT_ALNUM = re.compile(r"[\W_]")


def _bucket(values: np.ndarray, limit: int = 8) -> np.ndarray:
    """Signed distances clipped to [-limit, limit], with far ones in two buckets of their own, as uint64."""
    far = np.where(values > 3 * limit, limit + 2, np.where(values < -3 * limit, -limit - 2, 0))
    out = np.where(far != 0, far, np.clip(values, -limit - 1, limit + 1))
    return (out + 64).astype(np.uint64)


def _edges(head: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each token's subtree's first and last token (spaCy's left_edge and right_edge), from the heads."""
    n = len(head)
    left, right = np.arange(n), np.arange(n)
    if not n:
        return left, right
    depth = np.zeros(n, dtype=np.int64)
    node = np.arange(n)
    for _ in range(n):
        parent = head[node]
        moving = parent != node
        if not moving.any():
            break
        depth += moving
        node = np.where(moving, parent, node)
    for level in range(int(depth.max()), 0, -1):
        at = np.flatnonzero(depth == level)
        np.minimum.at(left, head[at], left[at])
        np.maximum.at(right, head[at], right[at])
    return left, right


class BoundaryParse:
    """What the boundary features need of a Doc beyond ``Parsed``: edges of subtrees, letters, line breaks."""

    def __init__(self, doc: Doc, p: Parsed) -> None:
        self.p = p
        n = p.n
        self.left, self.right = _edges(p.head)
        # a word has a letter or digit (what the exact score compares); line breaks before each token
        text = doc_text(doc)
        chars = np.frombuffer(_NOT_ALNUM.sub(" ", text).encode("utf-32-le"), dtype=np.uint32)
        alnum_before = np.concatenate([[0], np.cumsum(chars != 32)])
        ends = p.starts + (doc.to_array(LENGTH).astype(np.int64) if n else np.zeros(0, dtype=np.int64))
        self.alnum = alnum_before[ends] > alnum_before[p.starts]
        newline_before = np.concatenate([[0], np.cumsum(np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
                                                         == 10)])
        at = newline_before[np.append(p.starts, len(text))]
        self.newlines = np.concatenate([[0], np.cumsum(at[1:] > at[:-1])])  # tokens with a line break before i
        sentence = p.sentence
        count = int(sentence.max()) + 1 if n else 0
        # first and last word (with a letter or digit) of each sentence
        words = np.flatnonzero(self.alnum)
        self.sent_first = np.full(count, -1, dtype=np.int64)
        self.sent_last = np.full(count, -1, dtype=np.int64)
        if len(words):
            self.sent_last[sentence[words]] = words
            self.sent_first[sentence[words[::-1]]] = words[::-1]
        self.sent_start = np.searchsorted(sentence, np.arange(count), side="left")
        self.sent_end = np.searchsorted(sentence, np.arange(count), side="right")
        # a sentence that begins with a quotation mark (before its first word)
        quote_before = np.concatenate([[0], np.cumsum(doc.to_array(IS_QUOTE).astype(np.int64))]) if n else \
            np.zeros(1, dtype=np.int64)
        first = np.where(self.sent_first >= 0, self.sent_first, self.sent_start)
        self.sent_opens_quote = quote_before[first] > quote_before[self.sent_start]

    def branch(self, cue: np.ndarray, t: np.ndarray) -> np.ndarray:
        """For each pair, the ancestor of ``t`` that is a child of ``cue`` (``cue`` itself when t is the cue,
        -1 when t is not in the cue's subtree)."""
        head = self.p.head
        node = t.copy()
        out = np.full(len(t), -1, dtype=np.int64)
        out[node == cue] = cue[node == cue]
        active = node != cue
        for _ in range(_MAX_DEPTH):
            if not active.any():
                break
            parent = head[node]
            found = active & (parent == cue)
            out[found] = node[found]
            active &= ~found & (parent != node)
            node = np.where(active, parent, node)
        return out


class Item:
    """One detection's token positions, as the boundary model reads them."""

    __slots__ = ("cue_first", "cue_last", "anchor", "source_first", "source_last", "rule_first", "rule_last")

    def __init__(self, cue_first: int, cue_last: int, anchor: int, source: tuple[int, int] | None,
                 rule: tuple[int, int]) -> None:
        self.cue_first, self.cue_last, self.anchor = cue_first, cue_last, anchor
        self.source_first, self.source_last = source if source is not None else (-1, -1)
        self.rule_first, self.rule_last = rule


def candidates(bp: BoundaryParse, items: list[Item], other_cues: list[np.ndarray]
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(item, token) pairs for the start and for the end, as arrays: (start_item, start_token, end_item, end_token).

    Start: words of the sentences from the cue's or the rules' first to the last. End: the same words, and the
    last word of each of the next FOLLOWING sentences, until one holds another cue (``other_cues[i]``: the
    token indices of the other detections' cues).
    """
    p = bp.p
    si, st, ei, et = [], [], [], []
    words = bp.alnum
    for number, item in enumerate(items):
        first_sent = min(p.sentence[item.anchor], p.sentence[item.rule_first])
        last_sent = max(p.sentence[item.anchor], p.sentence[item.rule_last])
        lo, hi = bp.sent_start[first_sent], bp.sent_end[last_sent]
        span = np.arange(lo, hi)[words[lo:hi]]
        si.append(np.full(len(span), number))
        st.append(span)
        ends = [span]
        blocked = set(p.sentence[other_cues[number]].tolist()) if len(other_cues[number]) else set()
        for k in range(last_sent + 1, min(last_sent + 1 + FOLLOWING, len(bp.sent_start))):
            if k in blocked:
                break
            if bp.sent_last[k] >= 0:
                ends.append(np.array([bp.sent_last[k]]))
        ends_all = np.concatenate(ends)
        ei.append(np.full(len(ends_all), number))
        et.append(ends_all)
    empty = np.zeros(0, dtype=np.int64)
    cat = lambda parts: np.concatenate(parts).astype(np.int64) if parts else empty  # noqa: E731
    return cat(si), cat(st), cat(ei), cat(et)


def features(bp: BoundaryParse, items: list[Item], pair_item: np.ndarray, t: np.ndarray, end: bool
             ) -> tuple[np.ndarray, np.ndarray]:
    """(pair index, feature hash) of each (item, candidate word) pair, for the start (``end`` False) or end model."""
    p = bp.p
    n = p.n
    hashed = Features()
    pair = np.arange(len(t))
    if not len(t):
        return pair, np.zeros(0, dtype=np.uint64)
    get = lambda name: np.array([getattr(items[i], name) for i in range(len(items))], dtype=np.int64)[pair_item]  # noqa: E731
    anchor, cue_first, cue_last = get("anchor"), get("cue_first"), get("cue_last")
    source_first, source_last = get("source_first"), get("source_last")
    rule = get("rule_last") if end else get("rule_first")
    rule_other = get("rule_first") if end else get("rule_last")
    base = 200 if end else 0

    def add(template: int, *parts: np.ndarray) -> None:
        hashed.add(pair, base + template, *parts)

    pad = np.uint64(0)
    step = 1 if end else -1
    neighbour = t + step
    outside = (neighbour < 0) | (neighbour >= n)
    neighbour = np.clip(neighbour, 0, max(n - 1, 0))
    n_lower = np.where(outside, pad, p.lower[neighbour])
    n_pos = np.where(outside, pad, p.pos[neighbour])
    n_punct = np.where(outside, np.uint64(2), p.punct[neighbour].astype(np.uint64))
    # the next word (with a letter or digit) on the far side, skipping punctuation: "said, and" / ". But"
    rel_rule = _bucket(t - rule)
    at_rule = (t == rule).astype(np.uint64)
    side = np.where(t < cue_first, 0, np.where(t <= cue_last, 1, 2)).astype(np.uint64)
    in_source = ((t >= source_first) & (t <= source_last) & (source_first >= 0)).astype(np.uint64)
    cue_distance = _bucket(np.where(t < cue_first, t - cue_first, np.where(t > cue_last, t - cue_last, 0)))
    branch = bp.branch(anchor, t)
    in_subtree = branch >= 0
    branch_dep = np.where(in_subtree, p.dep[np.clip(branch, 0, None)], np.uint64(1))
    branch_dep = np.where(branch == anchor, np.uint64(2), branch_dep)
    edge_of_branch = np.where(in_subtree, (bp.right if end else bp.left)[np.clip(branch, 0, None)] == t, False)
    edge_of_own = (bp.right if end else bp.left)[t] == t
    in_rule = ((t >= get("rule_first")) & (t <= get("rule_last"))).astype(np.uint64)
    cue_lemma = p.lemma[anchor]
    sentence_offset = np.clip(p.sentence[t] - p.sentence[anchor], -2, 4).astype(np.int64) + 4
    sentence_offset = sentence_offset.astype(np.uint64)
    last_of_sentence = (bp.sent_last[p.sentence[t]] == t).astype(np.uint64)
    first_of_sentence = (bp.sent_first[p.sentence[t]] == t).astype(np.uint64)
    lo, hi = np.minimum(rule, t), np.maximum(rule, t)
    breaks = np.clip(bp.newlines[hi] - bp.newlines[lo], 0, 3).astype(np.uint64)
    inside = p.inside[t].astype(np.uint64)
    rule_inside = p.inside[rule].astype(np.uint64)
    opens = bp.sent_opens_quote[p.sentence[t]].astype(np.uint64)
    rule_len = _bucket(np.abs(rule - rule_other), 6)
    beyond = ((t > rule) if end else (t < rule)).astype(np.uint64)
    own_dep, own_pos, own_lower = p.dep[t], p.pos[t], p.lower[t]
    head_dep = p.dep[p.head[t]]
    edge = (edge_of_branch.astype(np.uint64) * np.uint64(2) + edge_of_own.astype(np.uint64))

    add(1, at_rule)
    add(2, rel_rule)
    add(3, rel_rule, own_pos)
    add(4, rel_rule, n_punct)
    add(5, side, cue_distance)
    add(6, side, in_source)
    add(7, branch_dep, edge)
    add(8, branch_dep, side, at_rule)
    add(9, own_lower)
    add(10, own_pos, own_dep)
    add(11, own_lower, side)
    add(12, n_lower)
    add(13, n_lower, own_pos)
    add(14, n_pos, n_punct, own_pos)
    add(15, own_dep, head_dep, edge)
    add(16, cue_lemma, at_rule)
    add(17, cue_lemma, branch_dep, edge)
    add(18, cue_lemma, side)
    add(19, in_rule, edge, at_rule)
    add(20, sentence_offset, last_of_sentence, at_rule)
    add(21, sentence_offset, breaks, inside, rule_inside)
    add(22, sentence_offset, opens, rule_inside, beyond)
    add(23, first_of_sentence, last_of_sentence, side)
    add(24, rel_rule, branch_dep)
    add(25, at_rule, rule_len, side)
    add(26, beyond, own_dep, branch_dep)
    add(27, own_lower, n_lower)
    add(28, inside, rule_inside, at_rule, n_punct)
    add(29, cue_lemma, beyond, sentence_offset)
    add(30, breaks, at_rule)
    return hashed.hashed()


class BoundaryModel:
    """The start and end weight vectors, as training/boundaries.py saved them."""

    def __init__(self, start: np.ndarray, start_bias: float, end: np.ndarray, end_bias: float) -> None:
        self.start, self.start_bias = start.astype(np.float32), float(start_bias)
        self.end, self.end_bias = end.astype(np.float32), float(end_bias)

    @classmethod
    def from_disk(cls, path: Path) -> BoundaryModel:
        with np.load(path) as data:
            return cls(data["start"], float(data["start_bias"]), data["end"], float(data["end_bias"]))

    def to_disk(self, path: Path) -> None:
        np.savez_compressed(path, start=self.start.astype(np.float16), start_bias=self.start_bias,
                            end=self.end.astype(np.float16), end_bias=self.end_bias)

    def _scores(self, weights: np.ndarray, bias: float, rows: np.ndarray, hashes: np.ndarray, n: int) -> np.ndarray:
        index = (hashes & np.uint64(len(weights) - 1)).astype(np.int64)
        return np.bincount(rows, weights=weights[index], minlength=n) + bias

    def choose(self, bp: BoundaryParse, items: list[Item], other_cues: list[np.ndarray]) -> list[tuple[int, int]]:
        """The (first, last) word of each item's content."""
        if not items:
            return []
        si, st, ei, et = candidates(bp, items, other_cues)
        rows, hashes = features(bp, items, si, st, end=False)
        start_scores = self._scores(self.start, self.start_bias, rows, hashes, len(st))
        rows, hashes = features(bp, items, ei, et, end=True)
        end_scores = self._scores(self.end, self.end_bias, rows, hashes, len(et))
        out = []
        s_at = np.searchsorted(si, np.arange(len(items) + 1))  # candidates come grouped by item, in order
        e_at = np.searchsorted(ei, np.arange(len(items) + 1))
        for number, item in enumerate(items):
            starts, s_scores = st[s_at[number]:s_at[number + 1]], start_scores[s_at[number]:s_at[number + 1]]
            ends, e_scores = et[e_at[number]:e_at[number + 1]], end_scores[e_at[number]:e_at[number + 1]]
            others = other_cues[number]
            if len(others):
                # no other detection's cue inside a content the rules did not already stretch over it
                before = others[others < item.rule_first]
                after = others[others > item.rule_last]
                if len(before):
                    keep = starts > before.max()
                    starts, s_scores = starts[keep], s_scores[keep]
                if len(after):
                    keep = ends < after.min()
                    ends, e_scores = ends[keep], e_scores[keep]
            if not len(starts) or not len(ends):
                out.append((item.rule_first, item.rule_last))
                continue
            first = int(starts[np.argmax(s_scores)])
            later = ends >= first
            if not later.any():
                out.append((item.rule_first, item.rule_last))
                continue
            last = int(ends[later][np.argmax(e_scores[later])])
            out.append((first, last))
        return out


def model_path() -> Path | None:
    """The boundary model shipped in stancelabel.resources/models/boundaries.npz, if this installation has it."""
    path = Path(str(resources.files("stancelabel.resources").joinpath("models", MODEL_FILE)))
    return path if path.is_file() else None


@lru_cache(maxsize=2)
def load_model(path: str | None = None) -> BoundaryModel | None:
    chosen = Path(path) if path else model_path()
    return BoundaryModel.from_disk(chosen) if chosen is not None else None
