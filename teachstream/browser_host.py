"""The browser extension's native messaging host, and its installation (edge).

A browser starts the host when the teachstream extension (``deploy/browser-extension``)
connects to ``io.teachstream.agent``, and talks to it over stdin and stdout: each message is
a 4-byte length in native byte order, then that many bytes of UTF-8 JSON. The host hands each
``tabs`` report to the running agent on its control socket and answers the extension with
whether the agent took it. When the browser closes the connection (the browser quits, or the
extension is disabled or removed) stdin ends, and the host tells the agent that this source
is gone. Nothing but these messages may ever be written to stdout.

:func:`install` writes the host's launcher (``browser-host`` in the agent's state directory)
and the host manifests that tell Chromium, Chrome and Firefox where it is.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import struct
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

NAME = "io.teachstream.agent"
# The extension's id in Chromium-based browsers follows from the public key in its manifest.json
# ("key"); in Firefox it is the gecko id there.
CHROMIUM_ID = "ejicellhnfhfmlaggagjmkebjabdbnin"
FIREFOX_ID = "browser@teachstream.io"
MAX_MESSAGE = 1 << 20  # a report of 200 windows is a few tens of KiB
_LENGTH = struct.Struct("=I")
log = logging.getLogger(__name__)


class ProtocolError(ValueError):
    """The browser sent bytes that are not a native message."""


def read_message(stream: BinaryIO) -> dict[str, Any] | None:
    """The next message, or None when the browser closed the connection."""
    head = stream.read(_LENGTH.size)
    if not head:
        return None
    if len(head) < _LENGTH.size:
        raise ProtocolError("the connection ended inside a message's length")
    (length,) = _LENGTH.unpack(head)
    if length > MAX_MESSAGE:
        raise ProtocolError(f"a message of {length} bytes is larger than the {MAX_MESSAGE} a tab report needs")
    body = stream.read(length)
    if len(body) < length:
        raise ProtocolError("the connection ended inside a message")
    try:
        message = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProtocolError(f"a message is not JSON: {exc}") from exc
    if not isinstance(message, dict):
        raise ProtocolError("a message is not a JSON object")
    return message


def write_message(stream: BinaryIO, message: dict[str, Any]) -> None:
    body = json.dumps(message).encode()
    stream.write(_LENGTH.pack(len(body)) + body)
    stream.flush()


Send = Callable[[dict[str, Any]], dict[str, Any]]


def serve(stdin: BinaryIO, stdout: BinaryIO, send: Send, source: str) -> int:
    """Relay the extension's reports to the agent until the browser closes the connection."""
    try:
        while (message := read_message(stdin)) is not None:
            if message.get("type") != "tabs":
                write_message(stdout, {"ok": False, "text": f"unknown message type {message.get('type')!r}"})
                continue
            reply = _send(send, {"cmd": "browser", "source": source, "windows": message.get("windows")})
            write_message(stdout, {"ok": bool(reply.get("ok")), "text": str(reply.get("text", ""))})
    except ProtocolError as exc:
        log.error("teachstream browser host: %s; closing", exc)
        return 1
    finally:
        _send(send, {"cmd": "browser", "source": source, "gone": True})
    return 0


def _send(send: Send, message: dict[str, Any]) -> dict[str, Any]:
    try:
        return send(message)
    except Exception as exc:  # the agent is not running, or went away: the extension keeps reporting
        return {"ok": False, "text": str(exc)}


def source_name(args: Iterable[str]) -> str:
    """Which browser started the host (Chromium-based browsers pass the extension's origin), and this process."""
    first = next(iter(args), "")
    kind = "chromium" if first.startswith("chrome-extension://") else "firefox" if first else "browser"
    return f"{kind}-{os.getpid()}"


# -- installation ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    browser: str
    directory: Path


def targets(browsers: Iterable[str], home: Path, system: bool, user_data_dir: Path | None = None) -> list[Target]:
    """Where each browser looks for host manifests: per user, system-wide, or in a given profile directory
    (Chromium and Chrome look in ``<user-data-dir>/NativeMessagingHosts``)."""
    user = {
        "chromium": home / ".config/chromium/NativeMessagingHosts",
        "chrome": home / ".config/google-chrome/NativeMessagingHosts",
        "firefox": home / ".mozilla/native-messaging-hosts",
    }
    machine = {
        "chromium": Path("/etc/chromium/native-messaging-hosts"),
        "chrome": Path("/etc/opt/chrome/native-messaging-hosts"),
        "firefox": Path("/usr/lib/mozilla/native-messaging-hosts"),
    }
    out = []
    for browser in browsers:
        if browser not in user:
            raise ValueError(f"unknown browser {browser!r}: chromium, chrome or firefox")
        if user_data_dir is not None and browser != "firefox":
            directory = user_data_dir / "NativeMessagingHosts"
        else:
            directory = (machine if system else user)[browser]
        out.append(Target(browser, directory))
    return out


def manifest(browser: str, launcher: Path) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": NAME,
        "description": "teachstream capture agent: which site the active tab shows (host only)",
        "path": str(launcher),
        "type": "stdio",
    }
    if browser == "firefox":
        body["allowed_extensions"] = [FIREFOX_ID]
    else:
        body["allowed_origins"] = [f"chrome-extension://{CHROMIUM_ID}/"]
    return body


def launcher_script(program: list[str], state_dir: Path) -> str:
    quoted = " ".join(_sh(part) for part in [*program, "agent", "--state-dir", str(state_dir), "browser-host"])
    return f'#!/bin/sh\n# started by the browser for the teachstream extension (native messaging)\nexec {quoted} "$@"\n'


def _sh(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def this_program() -> list[str]:
    """How to run this teachstream again: the installed program, or this Python with the CLI module."""
    argv0 = Path(sys.argv[0])
    if argv0.name == "teachstream" and os.access(argv0, os.X_OK):
        return [str(argv0.resolve())]
    return [sys.executable, "-m", "teachstream.cli"]


def install(state_dir: Path, found: list[Target], program: list[str] | None = None) -> list[Path]:
    """Write the launcher and one manifest per target; the paths written."""
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    launcher = state_dir / "browser-host"
    launcher.write_text(launcher_script(program or this_program(), state_dir))
    launcher.chmod(stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    written = [launcher]
    for target in found:
        target.directory.mkdir(parents=True, exist_ok=True)
        path = target.directory / f"{NAME}.json"
        path.write_text(json.dumps(manifest(target.browser, launcher), indent=2) + "\n")
        written.append(path)
    return written


def uninstall(state_dir: Path, found: list[Target]) -> list[Path]:
    removed = []
    for path in [state_dir / "browser-host", *(t.directory / f"{NAME}.json" for t in found)]:
        if path.exists():
            path.unlink()
            removed.append(path)
    return removed
