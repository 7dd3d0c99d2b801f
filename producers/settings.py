"""Settings of the capture agent (edge): ``TEACHSTREAM_AGENT_*`` variables or ``agent_*`` TOML keys."""

from __future__ import annotations

import getpass
import socket
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from producers.core.identity import Identities
from producers.core.policy import (
    DEFAULT_DENY_APPS,
    DEFAULT_DENY_TITLES,
    ActivePolicy,
    CapturePolicy,
    validate_patterns,
)
from runtime.settings import Settings
from schemas.capture_policy import HostRules, validate_hosts


class AgentSettings(Settings):
    """What ``teachstream agent`` and ``teachstream consent`` need on top of the common settings."""

    agent_state_dir: Path = Field(
        Path.home() / ".local" / "state" / "teachstream",
        description="consent file, control socket, sequence numbers and the spool",
    )
    agent_display: str | None = Field(None, description="X display to capture; None means $DISPLAY")
    agent_user: str | None = Field(None, description="the person's login (default: the current user); hashed")
    agent_host: str | None = Field(None, description="the device's host name (default: this host); hashed")
    agent_identities: tuple[str, ...] = Field((), description="the person's email addresses, scrubbed from titles")
    agent_policy_id: str | None = Field(None, description="follow only this policy of control.policy (default: any)")
    agent_policy_version: str = Field("device-1", description="the policy version a consent given here refers to")
    agent_move_hz: float = Field(20.0, gt=0, le=1000, description="mouse positions kept per second")
    agent_screenshots: bool = True
    agent_keyframe_seconds: float = Field(10.0, gt=0, description="a frame every N s while the person is active")
    agent_burst_gap_seconds: float = Field(2.0, gt=0, description="a pause this long starts a new typing burst")
    agent_jpeg_quality: int = Field(70, ge=10, le=95)
    agent_screenshot_scale: float = Field(
        1.0, gt=0.05, le=1.0, description="frames leave at this scale; the stream redacts, then stores them smaller"
    )
    agent_default_denies: bool = Field(True, description="deny password managers, private windows, sign-in titles")
    agent_allow_apps: tuple[str, ...] = Field((), description="if set, only these apps (globs) are captured")
    agent_deny_apps: tuple[str, ...] = Field((), description="more apps (globs) never captured")
    agent_deny_title_patterns: tuple[str, ...] = Field((), description="more title regexes never captured")
    agent_allow_hosts: tuple[str, ...] = Field(
        (), description="sites a browser window is captured on: hosts (docs.example.com) or suffixes (.example.com)"
    )
    agent_deny_hosts: tuple[str, ...] = Field((), description="sites never captured (hosts or suffixes)")
    agent_unknown_hosts: Literal["deny", "allow"] = Field("deny", description="sites on neither list: deny or allow")
    agent_spool_max_mb: float = Field(512.0, gt=0, description="disk the spool may use while Kafka is away")
    agent_queue_max: int = Field(20_000, gt=0, description="raw inputs buffered between listeners and pipeline")
    agent_heartbeat_seconds: float = Field(30.0, gt=0, description="a heartbeat to agents.heartbeat every N s")

    @field_validator("agent_deny_title_patterns")
    @classmethod
    def _patterns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        validate_patterns(value)
        return value

    @field_validator("agent_allow_hosts", "agent_deny_hosts")
    @classmethod
    def _hosts(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        validate_hosts(value)
        return value

    def user(self) -> str:
        """The person's real login (never published: only its pseudonym and ``<USER>`` leave)."""
        return self.agent_user or getpass.getuser()

    def host(self) -> str:
        return self.agent_host or socket.gethostname()

    def identities(self) -> Identities:
        return Identities(self.user(), self.host(), self.agent_identities)

    def active_policy(self) -> ActivePolicy:
        """The policy configured on this device (a policy published on control.policy replaces it)."""
        return ActivePolicy(
            self.policy(),
            self.agent_screenshots,
            self.agent_keyframe_seconds,
            self.agent_jpeg_quality,
            self.agent_screenshot_scale,
        )

    def policy(self) -> CapturePolicy:
        apps = (DEFAULT_DENY_APPS if self.agent_default_denies else ()) + self.agent_deny_apps
        titles = (DEFAULT_DENY_TITLES if self.agent_default_denies else ()) + self.agent_deny_title_patterns
        hosts = HostRules(self.agent_allow_hosts, self.agent_deny_hosts, self.agent_unknown_hosts)
        return CapturePolicy(self.agent_allow_apps, apps, titles, hosts)
