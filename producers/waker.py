"""A selectable wake-up signal for the pipeline thread (edge).

Listener callbacks, the control socket and ``stop`` call :meth:`Waker.set`; the pipeline
thread waits in ``select`` on :meth:`fileno` together with the window source, so it sleeps
until there is work instead of waking on a fixed tick. Setting an already set waker costs
no system call. A socket pair rather than a pipe, because ``select`` on Windows takes sockets only.
"""

from __future__ import annotations

import contextlib
import socket


class Waker:
    def __init__(self) -> None:
        self._r, self._w = socket.socketpair()
        self._r.setblocking(False)
        self._w.setblocking(False)
        self._set = False

    def fileno(self) -> int:
        return self._r.fileno()

    def set(self) -> None:
        if self._set:
            return
        self._set = True
        with contextlib.suppress(BlockingIOError, OSError):
            self._w.send(b"\0")

    def clear(self) -> None:
        self._set = False
        with contextlib.suppress(BlockingIOError, OSError):
            while self._r.recv(4096):
                pass

    def close(self) -> None:
        self._r.close()
        self._w.close()
