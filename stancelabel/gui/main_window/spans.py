"""Fixing spans: select words (mouse, or E and Shift+arrows, or / and a word's first letters) and make
them the source, cue or content, or the cue of a new attribution.

The caret keeps its place: after S, C or T it stays where the span just set ends, and keyboard
selection stays on, so the next span starts from there. In keyboard selection Ctrl+arrows move by
word, Shift extends, and Shift+Home / Shift+End extend the selection to the sentence's start or end.
Typing after / selects the first word of the sentence, from the caret on, that starts with the
letters typed. Once only one word matches it is selected, and typing on is safe: letters that go on
spelling that word are taken, and the first key that does not (S, C, T, Insert, a label key) ends the
jump and does what it always does.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt

if TYPE_CHECKING:
    from stancelabel.gui.main_window.window import MainWindow

_WORD = re.compile(r"\w+(?:[-'’]\w+)*")
_HINT = ("Selecting text: arrows move (Ctrl: by word), Shift selects, Shift+Home/End to the sentence's edge, "
         "/ jumps to a word; S, C, T set a role; Esc leaves.")


class SpanEditing:
    def __init__(self, window: MainWindow) -> None:
        self.w = window
        self.edit_mode = False
        self.jumping = False
        self._typed = ""
        self._word: tuple[int, int] | None = None  # the one word the letters typed lead to
        self._before: tuple[int, int] | None = None  # the selection before the jump (Esc restores it)

    # -- keyboard selection ------------------------------------------------------------------

    def enter_edit_mode(self) -> None:
        if self.w.queuing.current is None:
            return
        self.edit_mode = True
        self.w.pane.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.w.statusBar().showMessage(_HINT)

    def leave_edit_mode(self) -> None:
        self.edit_mode = self.jumping = False
        self.w.statusBar().clearMessage()

    def pane_key(self, event) -> bool:
        key, shift = event.key(), bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if key == Qt.Key.Key_Escape:
            self.leave_edit_mode()
            return True
        if key in (Qt.Key.Key_Home, Qt.Key.Key_End):
            self._to_sentence_edge(key == Qt.Key.Key_End, shift)
            return True
        if key in (Qt.Key.Key_Left, Qt.Key.Key_Right) and event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self._by_word(key == Qt.Key.Key_Right, shift)
            return True
        return False

    def _by_word(self, forward: bool, extend: bool) -> None:
        """Ctrl+Right to the end of the next word, Ctrl+Left to the start of the one before (Qt's own
        stop at the next word's start, which would leave a name one word short), within the shown text."""
        shown = self.w.pane.shown
        if shown is None:
            return
        anchor, caret = self.w.pane.selection_offsets()
        text = self.w.pane.text
        if forward:
            found = _WORD.search(text, caret, shown.end)
            to = found.end() if found else shown.end
        else:
            starts = [m.start() for m in _WORD.finditer(text, shown.start, caret)]
            to = starts[-1] if starts else shown.start
        self.w.pane.select_words(anchor if extend else to, to)

    def _sentence(self) -> tuple[int, int] | None:
        shown = self.w.pane.shown
        return None if shown is None else (shown.sentence_start, shown.sentence_end)

    def _to_sentence_edge(self, end: bool, extend: bool) -> None:
        """Home / End: the caret to the sentence's start or end; with Shift the selection grows to it,
        keeping its other end (so a word jumped to grows into the phrase that starts or ends with it)."""
        sentence = self._sentence()
        if sentence is None:
            return
        anchor, caret = self.w.pane.selection_offsets()
        low, high = min(anchor, caret), max(anchor, caret)
        if end:
            self.w.pane.select_words(low if extend else sentence[1], sentence[1])
        else:
            self.w.pane.select_words(high if extend else sentence[0], sentence[0])

    # -- jumping to a word by its first letters ------------------------------------------------

    def start_jump(self) -> None:
        if self.w.queuing.current is None or self.w.pane.shown is None:
            return
        self.enter_edit_mode()
        self.jumping, self._typed, self._word = True, "", None
        self._before = self.w.pane.selection_offsets()
        self.w.statusBar().showMessage("Jump to a word: type its first letters (Tab: next match, Enter: take it, "
                                       "Esc: back).")

    def wants_key(self, event) -> bool:
        """While jumping: the keys the jump takes (letters, and Tab, Enter, Esc, Backspace). Once one word
        is found, a key that does not go on spelling it ends the jump and reaches its shortcut."""
        if not self.jumping:
            return False
        if event.modifiers() & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier):
            self._end_jump()  # Ctrl+Shift+Right grows the selection by a word, Ctrl+Z undoes: the jump is over
            return False
        if event.key() in (Qt.Key.Key_Escape, Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Tab,
                           Qt.Key.Key_Backtab, Qt.Key.Key_Backspace):
            return True
        text = event.text()
        if not text or not text.isprintable() or text.isspace():
            self._end_jump()  # Insert, Shift+End and the like: the jump is over, the key does its work
            return False
        if self._word is not None and not self._continues(text):
            self._end_jump()
            return False
        return True

    def _continues(self, text: str) -> bool:
        start, end = self._word
        word = self.w.pane.text[start:end].casefold()
        return word.startswith((self._typed + text).casefold())

    def _end_jump(self) -> None:
        self.jumping, self._word = False, None
        self.w.statusBar().showMessage(_HINT)

    def jump_key(self, event) -> bool:
        key, text = event.key(), event.text()
        if key == Qt.Key.Key_Escape:
            self.jumping, self._word = False, None
            if self._before is not None:
                self.w.pane.select_words(*self._before)
            self.w.statusBar().showMessage(_HINT)
            return True
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._end_jump()
            return True
        if key in (Qt.Key.Key_Tab, Qt.Key.Key_Backtab):
            self._jump(skip=1)
            return True
        if key == Qt.Key.Key_Backspace:
            self._typed, self._word = self._typed[:-1], None
            self._jump()
            return True
        if text and text.isprintable() and not text.isspace():
            self._typed += text
            if self._word is None:
                self._jump()
            return True
        return True  # anything else is ignored while jumping, not taken by a shortcut

    def matches(self, prefix: str) -> list[tuple[int, int]]:
        """The words of the current sentence that start with ``prefix`` (case-insensitive), in order
        from the caret on, round to the sentence's start."""
        sentence = self._sentence()
        if sentence is None or not prefix:
            return []
        text = self.w.pane.text
        words = [(m.start() + sentence[0], m.end() + sentence[0])
                 for m in _WORD.finditer(text[sentence[0]:sentence[1]])
                 if m.group().casefold().startswith(prefix.casefold())]
        origin = self._before[1] if self._before is not None else sentence[0]
        return [w for w in words if w[0] >= origin] + [w for w in words if w[0] < origin]

    def _jump(self, skip: int = 0) -> None:
        found = self.matches(self._typed)
        if not found:
            self.w.statusBar().showMessage(f"No word of this sentence starts with “{self._typed}” "
                                           "(Backspace, or Esc).")
            return
        if skip:
            _, caret = self.w.pane.selection_offsets()
            later = [i for i, (start, end) in enumerate(found) if end == caret]
            found = found[(later[0] + 1) % len(found):] + found[:(later[0] + 1) % len(found)] if later else found
        start, end = found[0]
        self.w.pane.select_words(start, end)
        if len(found) == 1 and not skip:
            self._word = (start, end)  # only one word starts so: the next key that does not spell it on is a command
            self.w.statusBar().showMessage(f"“{self.w.pane.text[start:end]}” selected: S, C or T sets a role.")
        else:
            self.w.statusBar().showMessage(f"{len(found)} words start with “{self._typed}”: type more, Tab for "
                                           "the next, Enter to take this one.")

    # -- setting roles ---------------------------------------------------------------------------

    def _selection(self, role: str = "") -> tuple[int, int] | None:
        span = self.w.pane.selected_span(keep_quotes=role == "content")
        if span is None:
            self.w.statusBar().showMessage("Select the words first: with the mouse, or press / and type a word's "
                                           "first letters, or E and Shift+arrows.", 6000)
        return span

    def set_role(self, role: str, add: bool = False) -> None:
        """Make the selected words the attribution's source, cue or content (or add to the content)."""
        w, current = self.w, self.w.queuing.current
        if current is None:
            return
        span = self._selection(role)
        if span is None:
            return
        attribution_id, me = current.id, w.annotator
        spans = (*getattr(current, role), span) if add else (span,)
        self.jumping, self._word = False, None

        def done(_result) -> None:
            w.display.caret = span[1]  # the next span starts where this one ended
            w.labelling.changed(attribution_id)
            w.statusBar().showMessage(f"The {role} is now “{self._text_of(spans)}”.", 5000)

        w.labelling.submit(f"edit {role}", lambda p: p.set_spans(attribution_id, me, **{role: spans}), attribution_id,
                           done)

    def _text_of(self, spans) -> str:
        current = self.w.queuing.current
        text = self.w.display.document(current.document_id)[0] if current else ""
        return " … ".join(text[s:e] for s, e in spans)

    def add_attribution(self) -> None:
        """The selected words become the cue of a new (manual) attribution, shown next."""
        w, queuing = self.w, self.w.queuing
        if queuing.current is None:
            return
        span = self._selection("cue")
        if span is None:
            return
        document_id, me = queuing.current.document_id, w.annotator
        self.jumping, self._word = False, None

        def done(new_id: int) -> None:
            row = queuing.queue.row_of(new_id)
            if row is None:
                row = (queuing.current_row or 0) + 1
                queuing.queue.insert_id(row, new_id)
            w.labelling.recount()
            queuing.documents.refresh_document(document_id)
            queuing.current_row = None
            w.display.caret = span[1]
            queuing.go_to_row(row)
            self.edit_mode = True
            w.statusBar().showMessage("New attribution: now select its source (S) and content (T); / jumps to a "
                                      "word.", 8000)

        w.labelling.submit("new attribution", lambda p: p.add_attribution(document_id, me, cue=(span,)), None, done)
