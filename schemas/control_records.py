"""Typed records of the control, health and dead-letter topics (pure core)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar


class ConsentState(enum.Enum):
    GRANTED = "GRANTED"
    WITHDRAWN = "WITHDRAWN"


class CaptureScope(enum.Enum):
    KEYS = "KEYS"
    MOUSE = "MOUSE"
    SCREENS = "SCREENS"


@dataclass(frozen=True)
class ConsentRecord:
    AVRO_NAME: ClassVar[str] = "ConsentRecord"
    user_id: str
    state: ConsentState
    policy_version: str
    recorded_at: datetime
    recorded_by: str
    scopes: tuple[CaptureScope, ...] = ()
    source: str = "device"


@dataclass(frozen=True)
class Policy:
    AVRO_NAME: ClassVar[str] = "Policy"
    policy_id: str
    version: str
    issued_at: datetime
    allow_apps: tuple[str, ...] = ()
    deny_apps: tuple[str, ...] = ()
    deny_title_patterns: tuple[str, ...] = ()
    screenshots: bool = True
    keyframe_seconds: int = 10
    jpeg_quality: int = 70
    screenshot_scale: float = 0.5
    expires_at: datetime | None = None
    scopes: tuple[CaptureScope, ...] = ()  # what may be captured at all; empty: every scope
    kill_switch: bool = False
    kill_reason: str = ""
    key_id: str | None = None
    signature: bytes | None = None
    allow_hosts: tuple[str, ...] = ()  # sites a browser window may be captured on (hosts or .suffixes)
    deny_hosts: tuple[str, ...] = ()
    unknown_hosts: str = "deny"  # deny or allow: sites on neither list


@dataclass(frozen=True)
class Heartbeat:
    AVRO_NAME: ClassVar[str] = "Heartbeat"
    device_id: str
    agent_version: str
    sent_at: datetime
    state: str
    policy_version: str | None = None
    events_sent: int = 0  # since the previous beat
    frames_sent: int = 0
    spooled: int = 0  # waiting now
    dropped: int = 0  # events, since the previous beat
    interval_s: float = 0.0
    frames_dropped: int = 0
    policy_valid: bool = True
    policy_reason: str = ""
    scopes: tuple[CaptureScope, ...] = ()
    paused: bool = False
    spool_bytes: int = 0
    oldest_spooled_s: float | None = None
    cpu_percent: float = 0.0
    rss_bytes: int = 0


@dataclass(frozen=True)
class ErasureRequest:
    AVRO_NAME: ClassVar[str] = "ErasureRequest"
    request_id: str
    user_id: str
    requested_by: str
    requested_at: datetime
    reason: str = ""


@dataclass(frozen=True)
class Tick:
    AVRO_NAME: ClassVar[str] = "Tick"
    partition: int
    stream_time: datetime
    source: str


@dataclass(frozen=True)
class DeadLetter:
    AVRO_NAME: ClassVar[str] = "DeadLetter"
    stage: str
    reason: str
    error_type: str
    topic: str
    partition: int
    offset: int
    original: bytes
    failed_at: datetime
    key: bytes | None = None
