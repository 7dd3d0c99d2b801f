"""The agent's decisions on the pipeline thread: raw input in, events and frame requests out (pure core).

:class:`Recorder` turns raw input, focus changes and ticks into :class:`Emit` (an event
payload with its window context) and :class:`Shoot` (take a screenshot now, and why).
While capture is suppressed (a denied window has focus, or the person paused) it emits
nothing; when suppression ends it emits one ``CaptureSuppressed`` marker with the reason
and how long it lasted, never the denied window's title. ``TYPING_PAUSE_S`` after the last
key press with no other key pressed it emits one ``TypingPause``: the stream closes the
typing segment when that marker arrives, in order after the keys, instead of waiting for
its clock (which trails the wall clock so that records delivered late are not split).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from producers.core.coalesce import MoveCoalescer
from producers.core.inputs import SPECIAL_CHARS, KeyState, RawButton, RawInput, RawKey, RawMove, RawScroll
from producers.core.policy import CapturePolicy, Verdict
from producers.core.triggers import FrameTrigger
from schemas.events import (
    TYPING_PAUSE_S,
    CaptureSuppressed,
    KeyEvent,
    MouseButton,
    MouseMove,
    MouseScroll,
    Payload,
    TypingPause,
    WindowContext,
    WindowFocus,
)

DENIED, PAUSED = "denied window", "paused"


@dataclass(frozen=True)
class Emit:
    t: float
    payload: Payload
    context: WindowContext | None


@dataclass(frozen=True)
class Shoot:
    t: float
    trigger: str


Output = Emit | Shoot


@dataclass
class _Suppression:
    reason: str
    since: float
    context: WindowContext | None


@dataclass
class Recorder:
    policy: CapturePolicy = field(default_factory=CapturePolicy)
    moves: MoveCoalescer = field(default_factory=MoveCoalescer)
    frames: FrameTrigger = field(default_factory=FrameTrigger)
    context: WindowContext | None = None
    verdict: Verdict = field(default_factory=lambda: Verdict(True, "no window has focus"))
    paused: bool = False
    suppressed_inputs: int = 0
    _keys: KeyState = field(default_factory=KeyState)
    _suppression: _Suppression | None = None
    _last_press: float | None = None  # the last key press not yet followed by a TypingPause

    @property
    def suppressed(self) -> str | None:
        """Why capture is withheld now, or None while capturing."""
        return None if self._suppression is None else self._suppression.reason

    def focus(self, t: float, context: WindowContext | None) -> list[Output]:
        """The focused window is ``context`` now (call on every check; unchanged windows cost nothing)."""
        if context == self.context:
            return []
        previous = self.context
        self.context, self.verdict = context, self.policy.decide(context)
        out = self._regate(t)
        moved = (
            previous is None
            or context is None
            or (previous.window_id, previous.app)
            != (
                context.window_id,
                context.app,
            )
        )
        if moved:
            self._last_press = None  # the focus change ends the segment
        if moved and self._suppression is None and context is not None:
            if shot := self.frames.on_focus(t):
                out.append(Shoot(t, shot))
            out.append(Emit(t, WindowFocus(previous.app if previous else None), context))
        return out

    def set_policy(self, t: float, policy: CapturePolicy, keyframe_s: float) -> list[Output]:
        """Obey ``policy`` from now on: the focused window is judged again at once."""
        self.policy, self.frames.keyframe_s = policy, keyframe_s
        self.verdict = policy.decide(self.context)
        return self._regate(t)

    def set_paused(self, t: float, paused: bool) -> list[Output]:
        self.paused = paused
        return self._regate(t)

    def feed(self, raw: RawInput) -> list[Output]:
        if self._suppression is not None:
            self.suppressed_inputs += 1
            return []
        ctx = self.context
        if isinstance(raw, RawMove):
            self.frames.on_input(raw.t)
            m = self.moves.move(raw)
            return [] if m is None else [Emit(m.t, MouseMove(m.x, m.y), ctx)]
        out = self._flush_move()
        if isinstance(raw, RawButton):
            if raw.pressed and (shot := self.frames.on_click(raw.t)):
                out.append(Shoot(raw.t, shot))
            out.append(Emit(raw.t, MouseButton(raw.button, raw.pressed, raw.x, raw.y), ctx))
        elif isinstance(raw, RawScroll):
            self.frames.on_input(raw.t)
            out.append(Emit(raw.t, MouseScroll(raw.x, raw.y, raw.dx, raw.dy), ctx))
        elif isinstance(raw, RawKey):
            out.extend(self._key(raw))
        return out

    def tick(self, t: float) -> list[Output]:
        if self._suppression is not None:
            return []
        out: list[Output] = []
        if (m := self.moves.due(t)) is not None:
            out.append(Emit(m.t, MouseMove(m.x, m.y), self.context))
        if shot := self.frames.on_tick(t):
            out.append(Shoot(t, shot))
        if self._last_press is not None and t - self._last_press >= TYPING_PAUSE_S:
            out.append(Emit(t, TypingPause(round((t - self._last_press) * 1000)), self.context))
            self._last_press = None
        return out

    def pause_due(self) -> float | None:
        """When a ``TypingPause`` is due (the caller ticks then), or None."""
        return None if self._last_press is None else self._last_press + TYPING_PAUSE_S

    def _key(self, raw: RawKey) -> list[Output]:
        out: list[Output] = []
        if raw.pressed:
            self._last_press = raw.t
            repeat, mods = self._keys.press(raw.key)
            if not repeat and (shot := self.frames.on_key(raw.t)):
                out.append(Shoot(raw.t, shot))
            char = raw.char if raw.char is not None else SPECIAL_CHARS.get(raw.key)
            out.append(Emit(raw.t, KeyEvent(True, raw.key, char, mods, repeat), self.context))
        else:
            mods = self._keys.release(raw.key)
            out.append(Emit(raw.t, KeyEvent(False, raw.key, None, mods), self.context))
        return out

    def _flush_move(self) -> list[Output]:
        m = self.moves.flush()
        return [] if m is None else [Emit(m.t, MouseMove(m.x, m.y), self.context)]

    def _regate(self, t: float) -> list[Output]:
        reason = PAUSED if self.paused else (None if self.verdict.allowed else DENIED)
        current = self._suppression
        if (current.reason if current else None) == reason:
            return []
        out: list[Output] = []
        if current is None:
            out.extend(self._flush_move())  # what happened before the gate closed is kept
        else:
            duration = max(0, round((t - current.since) * 1000))
            out.append(Emit(t, CaptureSuppressed(current.reason, duration), current.context))
        self._keys.held.clear()
        self._last_press = None
        self.moves.drop()
        self.frames.reset()
        hidden = None if self.context is None else WindowContext(self.context.app, "", self.context.window_id)
        self._suppression = None if reason is None else _Suppression(reason, t, hidden)
        return out
