"""Typed events on the data topics: interactions and screen frames (pure core).

Each class mirrors a record of ``schemas/avro``; ``tests/unit/test_schemas.py`` checks
that their fields match the newest schema version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar


@dataclass(frozen=True)
class WindowContext:
    AVRO_NAME: ClassVar[str] = "WindowContext"
    app: str
    title: str
    window_id: int = 0
    host: str | None = None  # browsers: the host of the active tab, as the extension reported it


@dataclass(frozen=True)
class KeyEvent:
    AVRO_NAME: ClassVar[str] = "KeyEvent"
    pressed: bool
    key: str
    char: str | None = None
    modifiers: tuple[str, ...] = ()
    is_repeat: bool = False
    redaction: str | None = None


@dataclass(frozen=True)
class MouseMove:
    AVRO_NAME: ClassVar[str] = "MouseMove"
    x: int
    y: int


@dataclass(frozen=True)
class MouseButton:
    AVRO_NAME: ClassVar[str] = "MouseButton"
    button: str
    pressed: bool
    x: int
    y: int


@dataclass(frozen=True)
class MouseScroll:
    AVRO_NAME: ClassVar[str] = "MouseScroll"
    x: int
    y: int
    dx: int
    dy: int


@dataclass(frozen=True)
class WindowFocus:
    AVRO_NAME: ClassVar[str] = "WindowFocus"
    previous_app: str | None = None


@dataclass(frozen=True)
class CaptureSuppressed:
    AVRO_NAME: ClassVar[str] = "CaptureSuppressed"
    reason: str
    duration_ms: int


TYPING_PAUSE_S = 5.0  # seconds without a key press that end a typing segment (agent marker and stream idle gap)


@dataclass(frozen=True)
class TypingPause:
    """No key pressed for ``idle_ms`` after the last one: the typing segment is over (agent to stream only)."""

    AVRO_NAME: ClassVar[str] = "TypingPause"
    idle_ms: int


Payload = KeyEvent | MouseMove | MouseButton | MouseScroll | WindowFocus | CaptureSuppressed | TypingPause


@dataclass(frozen=True)
class InteractionEvent:
    AVRO_NAME: ClassVar[str] = "InteractionEvent"
    device_id: str
    user_id: str
    seq: int
    event_time: datetime
    payload: Payload
    context: WindowContext | None = None
    utc_offset_minutes: int = 0


@dataclass(frozen=True)
class Monitor:
    AVRO_NAME: ClassVar[str] = "Monitor"
    index: int
    left: int
    top: int
    width: int
    height: int


@dataclass(frozen=True)
class VisibleWindow:
    AVRO_NAME: ClassVar[str] = "VisibleWindow"
    app: str
    title: str
    x: int
    y: int
    width: int
    height: int
    focused: bool = False
    host: str | None = None  # browsers: the host of the window's active tab


@dataclass(frozen=True)
class RemovedBox:
    """A region of a frame covered by a solid fill, and why (never the text it covered); image pixels."""

    AVRO_NAME: ClassVar[str] = "RemovedBox"
    label: str
    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True)
class ScreenFrame:
    AVRO_NAME: ClassVar[str] = "ScreenFrame"
    device_id: str
    user_id: str
    seq: int
    event_time: datetime
    frame_id: str
    trigger: str
    image: bytes
    width: int
    height: int
    monitor: Monitor
    windows: tuple[VisibleWindow, ...] = ()
    image_format: str = "jpeg"
    scale: float = 1.0
    redactions: tuple[str, ...] = field(default=())
    removed: tuple[RemovedBox, ...] = ()
