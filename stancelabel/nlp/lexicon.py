"""The cue lexicon: reporting and cognition expressions with a stance hint each."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path

from stancelabel.core.errors import InputFileError

KINDS = ("verb", "noun", "phrase", "adverb")
STANCES = ("asserts", "denies", "qualifies", "none")

#: Past tenses and participles that the suffix rules below cannot undo.
_IRREGULAR = {
    "said": "say", "told": "tell", "wrote": "write", "written": "write", "thought": "think", "knew": "know",
    "known": "know", "saw": "see", "seen": "see", "found": "find", "shown": "show", "heard": "hear",
    "felt": "feel", "understood": "understand", "forgot": "forget", "forgotten": "forget", "swore": "swear",
    "sworn": "swear", "spoke": "speak", "spoken": "speak", "made": "make", "gave": "give", "given": "give",
    "began": "begin", "meant": "mean", "taught": "teach", "brought": "bring", "held": "hold", "led": "lead",
    "read": "read", "put": "put", "set": "set", "let": "let", "hit": "hit", "cast": "cast", "did": "do",
    "done": "do", "was": "be", "were": "be", "been": "be", "is": "be", "are": "be", "has": "have", "had": "have",
}


@dataclass(frozen=True, slots=True)
class CueEntry:
    """One lexicon entry: a lemma (possibly several words) of a kind, with its stance hint."""

    lemma: str
    kind: str
    stance: str | None


class Lexicon:
    """Cue entries by kind, looked up by lemma (trained pipelines) or by word form (blank pipeline)."""

    def __init__(self, entries: list[CueEntry]) -> None:
        self.entries = entries
        self.by_kind: dict[str, dict[str, CueEntry]] = {kind: {} for kind in KINDS}
        for entry in entries:
            self.by_kind[entry.kind][entry.lemma] = entry

    def get(self, kind: str, lemma: str) -> CueEntry | None:
        return self.by_kind[kind].get(lemma.lower())

    def verb_from_form(self, form: str) -> CueEntry | None:
        """The verb entry a word form belongs to, by undoing English inflection."""
        verbs = self.by_kind["verb"]
        for lemma in candidate_lemmas(form.lower()):
            if lemma in verbs:
                return verbs[lemma]
        return None

    @cached_property
    def phrases(self) -> list[CueEntry]:
        """Multi-word phrase entries, longest first."""
        return sorted(self.by_kind["phrase"].values(), key=lambda e: -len(e.lemma.split()))

    @cached_property
    def phrase_pattern(self) -> re.Pattern[str]:
        """Matches (lower-case) text wherever a phrase entry may be: a cheap test before the word-by-word one."""
        words = [r"\s+".join(map(re.escape, e.lemma.split())) for e in self.phrases] or [r"(?!)"]
        return re.compile(r"\b(?:" + "|".join(words) + r")\b")


def candidate_lemmas(form: str) -> list[str]:
    """Possible lemmas of an English verb or noun form, most likely first."""
    out = [form]
    if form in _IRREGULAR:
        out.append(_IRREGULAR[form])
    for suffix, replacements in (("ies", ("y",)), ("ied", ("y",)), ("es", ("", "e")), ("s", ("",)),
                                 ("ed", ("", "e")), ("d", ("",)), ("ing", ("", "e"))):
        if form.endswith(suffix) and len(form) > len(suffix) + 2:
            stem = form[: -len(suffix)]
            out.extend(stem + r for r in replacements)
            if suffix in ("ed", "ing") and len(stem) > 2 and stem[-1] == stem[-2]:
                out.append(stem[:-1])  # admitted -> admit, planning -> plan
    return out


def parse_lexicon(text: str, path: str = "cues.tsv") -> Lexicon:
    """Read the TSV lexicon; a bad line is an InputFileError naming it."""
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.rstrip("\n").split("\t")
        if len(parts) != 3:
            raise InputFileError(path, "expected LEMMA<TAB>KIND<TAB>STANCE", line=number)
        lemma, kind, stance = (p.strip() for p in parts)
        if kind not in KINDS:
            raise InputFileError(path, f"unknown kind {kind!r} (one of {', '.join(KINDS)})", line=number)
        if stance not in STANCES:
            raise InputFileError(path, f"unknown stance {stance!r} (one of {', '.join(STANCES)})", line=number)
        entries.append(CueEntry(lemma.lower(), kind, None if stance == "none" else stance))
    return Lexicon(entries)


@lru_cache(maxsize=4)
def load_lexicon(path: str | None = None) -> Lexicon:
    """The lexicon at ``path``, or the one shipped in stancelabel.resources/lexicon/cues.tsv."""
    if path is None:
        text = resources.files("stancelabel.resources").joinpath("lexicon", "cues.tsv").read_text("utf-8")
        return parse_lexicon(text, "stancelabel.resources/lexicon/cues.tsv")
    return parse_lexicon(Path(path).read_text("utf-8"), path)
