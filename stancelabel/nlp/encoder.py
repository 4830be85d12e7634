"""The accurate detector's cue, source and content tagger: a small transformer encoder run by onnxruntime.

A MiniLM encoder (6 layers, 384 wide) fine-tuned on PolNeAR's training split
(training/encoder.py) tags every word piece with a B/I/O tag for each role.
The model ships int8-quantised in ONNX with a WordPiece vocabulary pruned to the
pieces its training texts use (stancelabel.resources/models/encoder); it needs
the optional packages onnxruntime and tokenizers (``pip install
'stancelabel[accurate]'``). Nothing is fetched at run time.

The same windowing (sentences packed into windows of at most ``max_pieces``
pieces) serves training and tagging, so both see the same context.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from spacy.tokens import Doc

ROLES = ("cue", "source", "content")
#: Each role has three outputs, in this order, at logits[..., 3 * role : 3 * role + 3].
TAGS = ("O", "B", "I")
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
META_FILE = "meta.json"
CLS, SEP, PAD = "[CLS]", "[SEP]", "[PAD]"

Window = tuple[list[int], list[tuple[int, int]]]


def model_path() -> Path | None:
    """The fine-tuned encoder shipped in stancelabel.resources/models/encoder, if this installation has it."""
    path = Path(str(resources.files("stancelabel.resources").joinpath("models", "encoder")))
    return path if (path / MODEL_FILE).is_file() and (path / TOKENIZER_FILE).is_file() else None


def missing() -> str | None:
    """Why the accurate detector cannot run here (one sentence), or None when it can."""
    absent = [name for name in ("onnxruntime", "tokenizers") if find_spec(name) is None]
    if absent:
        return (f"the accurate detector needs {' and '.join(absent)} "
                "(install them with: pip install 'stancelabel[accurate]')")
    if model_path() is None:
        return "the accurate detector's model is not part of this installation (stancelabel.resources/models/encoder)"
    return None


def windows(ids: Sequence[int], offsets: Sequence[tuple[int, int]], sentence_starts: Sequence[int],
            max_pieces: int) -> list[tuple[int, int]]:
    """Whole sentences packed into windows of at most ``max_pieces - 2`` pieces, as [first, last) piece ranges.

    ``sentence_starts`` are character offsets; a sentence longer than a window
    is cut into window-sized parts.
    """
    room = max_pieces - 2  # [CLS] and [SEP]
    starts = sorted(set(sentence_starts))
    # the piece index where each sentence begins
    bounds: list[int] = []
    at = 0
    for start in starts:
        while at < len(offsets) and offsets[at][0] < start:
            at += 1
        if not bounds or at > bounds[-1]:
            bounds.append(at)
    if not bounds or bounds[0] != 0:
        bounds.insert(0, 0)
    bounds.append(len(ids))
    sentences = [(a, b) for a, b in zip(bounds, bounds[1:]) if b > a]
    out: list[tuple[int, int]] = []
    current: tuple[int, int] | None = None
    for first, last in sentences:
        if current is not None and last - current[0] <= room:
            current = (current[0], last)
            continue
        if current is not None:
            out.append(current)
        while last - first > room:
            out.append((first, first + room))
            first += room
        current = (first, last)
    if current is not None:
        out.append(current)
    return out


class EncoderTagger:
    """Runs the ONNX model over a Doc and returns each role's spans as character offsets."""

    def __init__(self, path: Path | None = None, threads: int = 1) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        path = path or model_path()
        if path is None:
            raise FileNotFoundError("no encoder model shipped in stancelabel.resources/models/encoder")
        self.path = path
        self.meta: dict[str, Any] = json.loads((path / META_FILE).read_text("utf-8"))
        self.max_pieces = int(self.meta["max_pieces"])
        #: added to the O logit of each role before the argmax (chosen on held-out articles)
        self.o_bias = [float(self.meta.get("o_bias", {}).get(role, 0.0)) for role in ROLES]
        #: how the encoder's cue probability is mixed with the fast cue classifier's (nlp/cues.py)
        self.cue_weight = float(self.meta.get("cue_weight", 0.5))
        self.cue_threshold = float(self.meta.get("cue_threshold", 0.45))
        self.tokenizer = Tokenizer.from_file(str(path / TOKENIZER_FILE))
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()
        self.cls, self.sep, self.pad = (self.tokenizer.token_to_id(t) for t in (CLS, SEP, PAD))
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(str(path / MODEL_FILE), options,
                                                    providers=["CPUExecutionProvider"])

    def logits(self, text: str, sentence_starts: Sequence[int], batch_size: int = 16
               ) -> tuple[np.ndarray, list[tuple[int, int]]]:
        """Logits per piece (pieces x 9) of the whole text, and each piece's character offsets."""
        import numpy as np

        encoding = self.tokenizer.encode(text, add_special_tokens=False)
        ids, offsets = encoding.ids, encoding.offsets
        out = np.zeros((len(ids), 3 * len(ROLES)), dtype=np.float32)
        spans = windows(ids, offsets, sentence_starts, self.max_pieces)
        spans.sort(key=lambda s: s[1] - s[0])  # similar lengths together: less padding
        for at in range(0, len(spans), batch_size):
            batch = spans[at:at + batch_size]
            width = max(b - a for a, b in batch) + 2
            input_ids = np.full((len(batch), width), self.pad, dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, (a, b) in enumerate(batch):
                input_ids[row, 0] = self.cls
                input_ids[row, 1:b - a + 1] = ids[a:b]
                input_ids[row, b - a + 1] = self.sep
                mask[row, :b - a + 2] = 1
            (result,) = self.session.run(None, {"input_ids": input_ids, "attention_mask": mask})
            for row, (a, b) in enumerate(batch):
                out[a:b] = result[row, 1:b - a + 1]
        return out, list(offsets)

    def tag(self, doc: Doc) -> dict[str, list[tuple[int, int]]]:
        """Each role's spans in the Doc, as whole spaCy tokens: (start_char, end_char)."""
        return self.read(doc)[1]

    def read(self, doc: Doc) -> tuple[np.ndarray, dict[str, list[tuple[int, int]]]]:
        """Each token's probability of each role, and each role's spans (as ``tag``)."""
        logits, offsets = self.logits(doc.text, [s.start_char for s in doc.sents])
        return token_probabilities(doc, logits, offsets), decode(doc, logits, offsets, self.o_bias)


def token_probabilities(doc: Doc, logits: np.ndarray, offsets: Sequence[tuple[int, int]]) -> np.ndarray:
    """Each spaCy token's probability of being part of each role (1 - P(O)), from its first piece."""
    import numpy as np

    first, valid = _first_pieces(doc, offsets)
    out = np.zeros((len(doc), len(ROLES)), dtype=np.float32)
    if not len(offsets):
        return out
    chosen = logits[first]
    for role in range(len(ROLES)):
        scores = chosen[:, 3 * role:3 * role + 3]
        scores = np.exp(scores - scores.max(axis=1, keepdims=True))
        out[:, role] = np.where(valid, 1.0 - scores[:, 0] / scores.sum(axis=1), 0.0)
    return out


def _first_pieces(doc: Doc, offsets: Sequence[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """The index of each token's first piece, and whether the token has one."""
    import numpy as np

    if not len(offsets):
        return np.zeros(len(doc), dtype=np.int64), np.zeros(len(doc), dtype=bool)
    starts = np.fromiter((s for s, _ in offsets), dtype=np.int64, count=len(offsets))
    ends = np.fromiter((e for _, e in offsets), dtype=np.int64, count=len(offsets))
    token_starts = np.fromiter((t.idx for t in doc), dtype=np.int64, count=len(doc))
    token_ends = token_starts + np.fromiter((len(t.text) for t in doc), dtype=np.int64, count=len(doc))
    first = np.searchsorted(ends, token_starts, side="right")  # the first piece ending after the token starts
    valid = first < len(offsets)
    first = np.minimum(first, len(offsets) - 1)
    valid &= starts[first] < token_ends
    return first, valid


def token_tags(doc: Doc, logits: np.ndarray, offsets: Sequence[tuple[int, int]],
               o_bias: Sequence[float]) -> np.ndarray:
    """The tag index (0 O, 1 B, 2 I) of each spaCy token for each role, from its first piece."""
    import numpy as np

    tags = np.zeros((len(doc), len(ROLES)), dtype=np.int8)
    if not len(offsets):
        return tags
    first, valid = _first_pieces(doc, offsets)
    for role in range(len(ROLES)):
        scores = logits[first, 3 * role:3 * role + 3].copy()
        scores[:, 0] += o_bias[role]
        tags[:, role] = np.where(valid, scores.argmax(axis=1), 0)
    return tags


def decode(doc: Doc, logits: np.ndarray, offsets: Sequence[tuple[int, int]],
           o_bias: Sequence[float]) -> dict[str, list[tuple[int, int]]]:
    tags = token_tags(doc, logits, offsets, o_bias)
    out: dict[str, list[tuple[int, int]]] = {}
    for role_index, role in enumerate(ROLES):
        spans: list[tuple[int, int]] = []
        start: int | None = None
        for i, tag in enumerate(tags[:, role_index]):
            token = doc[i]
            if token.is_space:
                if start is not None and "\n" in token.text:  # a span never runs over a line break
                    spans.append(_char_span(doc, start, i))
                    start = None
                continue
            if tag == 0 or tag == 1:
                if start is not None:
                    spans.append(_char_span(doc, start, i))
                start = i if tag == 1 else None
            elif start is None:  # I without B: begins a span all the same
                start = i
        if start is not None:
            spans.append(_char_span(doc, start, len(doc)))
        out[role] = spans
    return out


def _char_span(doc: Doc, start: int, end: int) -> tuple[int, int]:
    while end > start + 1 and doc[end - 1].is_space:
        end -= 1
    last = doc[end - 1]
    return doc[start].idx, last.idx + len(last.text)


def shared_tagger(path: str | None = None) -> EncoderTagger:
    """One tagger per process: a worker forked from a process that already had one makes its own
    (an onnxruntime session is not meant to cross a fork)."""
    return _tagger(path, os.getpid())


@lru_cache(maxsize=4)
def _tagger(path: str | None, pid: int) -> EncoderTagger:
    return EncoderTagger(Path(path) if path else None)
