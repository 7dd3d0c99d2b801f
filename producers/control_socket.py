"""The agent's local control socket: ``pause``, ``resume``, ``status`` (edge).

A unix stream socket ``agent.sock`` in the agent's state directory (mode 0600, so only the
person's own account can use it). One JSON object per line in each direction:
``{"cmd": "pause", "minutes": 15}`` → ``{"ok": true, "text": "..."}``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from schemas.errors import ServiceUnavailableError

log = logging.getLogger(__name__)
SOCKET = "agent.sock"
Handler = Callable[[dict[str, Any]], dict[str, Any]]


class ControlServer:
    def __init__(self, state_dir: Path, handler: Handler) -> None:
        self.path = state_dir / SOCKET
        self.handler = handler
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path.unlink(missing_ok=True)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            self._sock.bind(str(self.path))
        finally:
            os.umask(old)
        self._sock.listen(8)
        self._sock.settimeout(0.5)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="teachstream-control", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2.0)
        self._sock.close()
        self.path.unlink(missing_ok=True)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn, contextlib.suppress(OSError):
                conn.settimeout(2.0)
                line = conn.makefile("rb").readline(65536)
                try:
                    request = json.loads(line)
                    reply = self.handler(request) if isinstance(request, dict) else {"ok": False, "text": "bad request"}
                except (ValueError, TypeError) as exc:
                    reply = {"ok": False, "text": f"bad request: {exc}"}
                conn.sendall(json.dumps(reply).encode() + b"\n")


def request(state_dir: Path, message: dict[str, Any], timeout_s: float = 5.0) -> dict[str, Any]:
    """Send one request to the running agent; raises if no agent listens."""
    path = state_dir / SOCKET
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout_s)
            sock.connect(str(path))
            sock.sendall(json.dumps(message).encode() + b"\n")
            reply = json.loads(sock.makefile("rb").readline(1 << 20) or b"{}")
    except (OSError, ValueError) as exc:
        raise ServiceUnavailableError(
            f"the capture agent is not running (nothing answers on {path}: {exc}); start it with "
            "`teachstream agent` or `systemctl --user start teachstream-agent`"
        ) from exc
    if not isinstance(reply, dict):
        raise ServiceUnavailableError(f"the capture agent at {path} sent a reply that is not a JSON object")
    return reply
