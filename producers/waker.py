"""A selectable wake-up signal for the pipeline thread (edge).

Listener callbacks, the control socket and ``stop`` call :meth:`Waker.set`; the pipeline
thread waits in ``select`` on :meth:`fileno` together with the X connection, so it sleeps
until there is work instead of waking on a fixed tick. Setting an already set waker costs
no system call.
"""

from __future__ import annotations

import contextlib
import os


class Waker:
    def __init__(self) -> None:
        self._r, self._w = os.pipe()
        os.set_blocking(self._r, False)
        os.set_blocking(self._w, False)
        self._set = False

    def fileno(self) -> int:
        return self._r

    def set(self) -> None:
        if self._set:
            return
        self._set = True
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self._w, b"\0")

    def clear(self) -> None:
        self._set = False
        with contextlib.suppress(BlockingIOError, OSError):
            while os.read(self._r, 4096):
                pass

    def close(self) -> None:
        os.close(self._r)
        os.close(self._w)
