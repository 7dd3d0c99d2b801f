"""Rebuild the text typed in one segment of key events, character by character (pure core).

A segment is the key events of one device in one focused window between two boundaries
(enter, tab, focus change, idle timeout, length cap). ``reconstruct(events)`` replays them
against a caret: characters are inserted at the caret; shift and caps lock pick the case when
the agent sent no ``char``; backspace and delete remove characters; left, right, home and end
move the caret. Every character remembers the ``seq`` of the key event that typed it.

Deleted characters stay in place as tombstones, and the text as it stood before each run of
deletions is kept as a snapshot, so PII typed and then deleted is still found, and characters
deleted inside a PII span (typos) are redacted with it.

Where the text cannot be known the segment is marked *unknown* and the caret starts a new
*run*: paste (ctrl/cmd+v, shift+insert), mouse clicks after typing, up/down/page keys,
selections (shift+arrows), editing shortcuts (ctrl+a/z/y/x, word jumps and word deletes),
dead keys/IME and key names we do not know. The redaction stage then scans each run, the runs
joined, and treats the tokens touching each jump as suspect (see ``redaction.segment``).

Assumption: a segment starts at the start of a line or field, so home is the run's start.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from schemas.events import InteractionEvent, KeyEvent, MouseButton

#: Redacted key events re-enter reconstruction as this character (idempotent redaction).
REDACTED_CHAR = "\ue000"
SHIFT_KEYS = frozenset({"shift", "shift_l", "shift_r"})
COMMAND_MODIFIERS = frozenset({"ctrl", "ctrl_l", "ctrl_r", "control", "cmd", "cmd_l", "cmd_r", "meta", "super"})
ALT_MODIFIERS = frozenset({"alt", "alt_l", "alt_r", "option"})
NAMED_CHARS = {"space": " ", "enter": "\n", "return": "\n", "tab": "\t"}
CARET_JUMPS = frozenset({"up", "down", "page_up", "page_down", "pageup", "pagedown"})
# Keys that change no text and move no caret.
INERT_KEYS = (
    SHIFT_KEYS
    | COMMAND_MODIFIERS
    | ALT_MODIFIERS
    | {"alt_gr", "caps_lock", "num_lock", "scroll_lock", "esc", "escape", "insert", "print_screen", "pause", "menu"}
    | {f"f{i}" for i in range(1, 25)}
    | {"media_play_pause", "media_next", "media_previous", "media_volume_up", "media_volume_down"}
    | {"media_volume_mute"}
)
PASTE_SHORTCUTS = frozenset({"v"})
EDIT_SHORTCUTS = frozenset({"a", "x", "z", "y", "backspace", "delete", "left", "right", "home", "end", "up", "down"})
# US layout: the character shift gives on each key, when the agent sent no ``char``.
SHIFTED = dict(zip("1234567890-=[]\\;',./`", '!@#$%^&*()_+{}|:"<>?~', strict=True))


@dataclass
class Cell:
    """One typed character; ``alive`` is False once it has been deleted (a tombstone)."""

    char: str
    seq: int
    alive: bool = True


@dataclass(frozen=True)
class Typed:
    """A character of a snapshot, and the seq of the key event that typed it."""

    char: str
    seq: int


@dataclass(frozen=True)
class Reconstruction:
    """The text of a segment: runs of cells, snapshots before deletions, why it is unknown."""

    runs: tuple[tuple[Cell, ...], ...]
    snapshots: tuple[tuple[Typed, ...], ...]
    unknown: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """The visible text, runs joined in the order they were typed."""
        return "".join(c.char for run in self.runs for c in run if c.alive)


_NO_MODIFIERS: frozenset[str] = frozenset()


@dataclass
class TextBuilder:
    """Feeds key events in order and keeps the caret, the runs and the snapshots."""

    runs: list[list[Cell]] = field(default_factory=lambda: [[]])
    snapshots: list[tuple[Typed, ...]] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    caret: int = 0
    caps: bool = False
    shift: bool = False
    deleting: bool = False

    def feed(self, event: InteractionEvent) -> None:
        payload = event.payload
        if isinstance(payload, MouseButton):
            if payload.pressed and any(c.alive for c in self.runs[-1]):
                self.jump("mouse click")
        elif isinstance(payload, KeyEvent):
            self._key(payload, event.seq)

    def result(self) -> Reconstruction:
        """What was typed so far; it has the builder's own cells, which the next events fed may change: read it
        before feeding the builder more."""
        runs = tuple(tuple(run) for run in self.runs if run)
        return Reconstruction(runs, tuple(self.snapshots), tuple(self.unknown))

    def jump(self, reason: str) -> None:
        """The caret went somewhere we cannot follow: start a new run."""
        if reason not in self.unknown:
            self.unknown.append(reason)
        if self.runs[-1]:
            self.runs.append([])
        self.caret = 0
        self.deleting = False

    def _key(self, key: KeyEvent, seq: int) -> None:
        name = key.key.lower()
        if not key.pressed:
            if name in SHIFT_KEYS:
                self.shift = False
            return
        if key.redaction is not None:
            self._insert(REDACTED_CHAR, seq)
            return
        mods = frozenset(m.lower() for m in key.modifiers) if key.modifiers else _NO_MODIFIERS
        if name in SHIFT_KEYS:
            self.shift = True
        elif name == "caps_lock":
            self.caps = not self.caps
        elif mods & COMMAND_MODIFIERS or (mods & ALT_MODIFIERS and key.char is None):
            self._shortcut(name)
        elif name in {"backspace", "delete"}:
            self._delete(backwards=name == "backspace")
        elif name in {"left", "right", "home", "end"}:
            self._move(name, selecting=bool(mods & SHIFT_KEYS) or self.shift)
        elif name in CARET_JUMPS:
            self.jump("caret moved across lines")
        elif name == "insert" and (mods & SHIFT_KEYS or self.shift):
            self.jump("paste")
        elif name in INERT_KEYS:
            return
        else:
            self._text(key, name, seq, shifted=bool(mods & SHIFT_KEYS) or self.shift)

    def _text(self, key: KeyEvent, name: str, seq: int, *, shifted: bool) -> None:
        char = key.char
        if char is None:
            char = NAMED_CHARS.get(name)
        if char is None and len(key.key) == 1:
            char = key.key
            if char.isalpha():
                char = char.upper() if shifted != self.caps else char.lower()
            elif shifted:
                char = SHIFTED.get(char, char)
        if char is None or len(char) != 1 or not (char.isprintable() or char in "\n\t"):
            self.jump(f"unknown key {name!r}" if char is None else "dead key or input method")
            return
        self._insert(char, seq)

    def _shortcut(self, name: str) -> None:
        if name in PASTE_SHORTCUTS:
            self.jump("paste")
        elif name in EDIT_SHORTCUTS:
            self.jump(f"editing shortcut {name!r}")

    def _insert(self, char: str, seq: int) -> None:
        self.runs[-1].insert(self.caret, Cell(char, seq))
        self.caret += 1
        self.deleting = False

    def _delete(self, *, backwards: bool) -> None:
        run = self.runs[-1]
        if backwards:
            target = next((i for i in range(self.caret - 1, -1, -1) if run[i].alive), None)
        else:
            target = next((i for i in range(self.caret, len(run)) if run[i].alive), None)
        if target is None:
            return  # deletes text typed before this segment, which we never saw
        if not self.deleting:
            self.snapshots.append(tuple(Typed(c.char, c.seq) for c in run if c.alive))
            self.deleting = True
        run[target].alive = False

    def _move(self, name: str, *, selecting: bool) -> None:
        if selecting:
            self.jump("selection")
            return
        run = self.runs[-1]
        if name == "home":
            self.caret = 0
        elif name == "end":
            self.caret = len(run)
        elif name == "left":
            self.caret = next((i for i in range(self.caret - 1, -1, -1) if run[i].alive), 0)
        else:
            after = next((i for i in range(self.caret, len(run)) if run[i].alive), None)
            self.caret = len(run) if after is None else after + 1
        self.deleting = False


def reconstruct(events: Iterable[InteractionEvent]) -> Reconstruction:
    """The text typed by ``events`` (one segment of one device and window, in seq order)."""
    builder = TextBuilder()
    for event in events:
        builder.feed(event)
    return builder.result()
