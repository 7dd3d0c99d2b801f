"""Keyboard and mouse listeners with pynput whose callbacks only enqueue (edge).

The callbacks run on pynput's threads: they turn pynput's objects into the small raw
values of :mod:`producers.core.inputs`, stamp the time (``clock``, the wall clock by
default), append them to a bounded deque and, for key and button presses, wake the pipeline
thread (the rest waits for the next wake, so input is handled in batches). A full deque
drops the input and counts it (``dropped``); nothing else happens on the listener threads.
Listeners run only while capture is allowed: :meth:`InputCapture.stop` ends them, so a
paused agent or one without consent receives no input at all.

On X11 the mouse listener records buttons and the wheel only: pynput parses every X RECORD
reply in Python, which costs about 1.4% of a core for a pointer moving at 60 Hz even with
an empty callback. The agent samples the pointer's position instead (``samples_pointer``),
at the coalescing rate while it moves. Other platforms (untested) keep pynput's ``on_move``.
"""

from __future__ import annotations

import contextlib
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from pynput import keyboard, mouse

from producers.core.inputs import RawButton, RawInput, RawKey, RawMove, RawScroll

_XORG = hasattr(mouse.Listener, "_EVENTS")  # pynput's X11 backend (RECORD of device events)


class _ButtonListener(mouse.Listener):  # type: ignore[misc]
    """pynput's X11 mouse listener, recording ButtonPress..ButtonRelease (4, 5) but not motion."""

    _EVENTS = (4, 5)


class InputCapture:
    def __init__(
        self, out: deque[RawInput], max_items: int, wake: Callable[[], None], clock: Callable[[], float] = time.time
    ) -> None:
        self.out, self.max_items, self.wake, self.clock = out, max_items, wake, clock
        self.dropped = 0
        self.samples_pointer = _XORG
        self._listeners: list[Any] = []

    @property
    def running(self) -> bool:
        return bool(self._listeners)

    def start(self, keys: bool = True, buttons: bool = True) -> None:
        """Listen to the keyboard and/or the mouse (only what consent covers)."""
        if self._listeners:
            return
        listeners: list[Any] = []
        if keys:
            listeners.append(keyboard.Listener(on_press=self._press, on_release=self._release))
        if buttons and self.samples_pointer:
            listeners.append(_ButtonListener(on_click=self._click, on_scroll=self._scroll))
        elif buttons:
            listeners.append(mouse.Listener(on_move=self._move, on_click=self._click, on_scroll=self._scroll))
        for listener in listeners:
            listener.daemon = True
            listener.start()
        for listener in listeners:
            listener.wait()
        self._listeners = listeners

    def stop(self) -> None:
        for listener in self._listeners:
            listener.stop()
            with contextlib.suppress(Exception):  # send pynput's disable request now, not with the next event
                listener._display_record.flush()
        deadline = time.monotonic() + 2.0
        for listener in self._listeners:
            listener.join(max(0.0, deadline - time.monotonic()))
        self._listeners = []

    def _put(self, item: RawInput, wake: bool = True) -> None:
        if len(self.out) >= self.max_items:
            self.dropped += 1
            return
        self.out.append(item)
        if wake:
            self.wake()

    def _press(self, key: Any, injected: bool = False) -> None:
        self._put(_key(self.clock(), key, True))

    def _release(self, key: Any, injected: bool = False) -> None:
        self._put(_key(self.clock(), key, False), wake=False)

    def _move(self, x: int, y: int, injected: bool = False) -> None:
        self._put(RawMove(self.clock(), int(x), int(y)), wake=False)  # picked up on the next tick

    def _click(self, x: int, y: int, button: Any, pressed: bool, injected: bool = False) -> None:
        self._put(RawButton(self.clock(), getattr(button, "name", str(button)), pressed, int(x), int(y)), wake=pressed)

    def _scroll(self, x: int, y: int, dx: int, dy: int, injected: bool = False) -> None:
        # pynput: dy > 0 scrolls up; the schema: dy > 0 scrolls down
        self._put(RawScroll(self.clock(), int(x), int(y), int(dx), -int(dy)), wake=False)


def _key(t: float, key: Any, pressed: bool) -> RawKey:
    if isinstance(key, keyboard.Key):
        return RawKey(t, pressed, key.name)
    char = getattr(key, "char", None)
    if char:
        return RawKey(t, pressed, char, char if pressed else None)
    return RawKey(t, pressed, f"keysym_{getattr(key, 'vk', 0)}")
