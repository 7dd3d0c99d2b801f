"""The transparency text and page: what is captured, what never is, how to stop it."""

from __future__ import annotations

from datetime import UTC, datetime
from html.parser import HTMLParser

from producers.core.policy import CapturePolicy
from producers.core.status import AgentStatus
from producers.core.transparency import html, sections, text
from producers.settings import AgentSettings
from schemas.control_records import CaptureScope, ConsentRecord, ConsentState

T0 = datetime(2024, 5, 1, 9, tzinfo=UTC)
POLICY = AgentSettings(agent_deny_apps=("<script>alert(1)</script>",)).active_policy()


def status(consent: ConsentRecord | None, paused_until: float | None = None) -> AgentStatus:
    return AgentStatus(consent, paused_until, "xterm", "app 'xterm' is allowed", True, True, user_id="u-1")


def grant(*scopes: CaptureScope, source: str = "device") -> ConsentRecord:
    return ConsentRecord(
        "u-1", ConsentState.GRANTED, "device-1", T0, "u-9" if source == "admin" else "u-1", scopes, source
    )


def all_text(s: AgentStatus) -> str:
    return text(s, POLICY, T0.timestamp())


def test_no_consent_says_nothing_is_captured() -> None:
    s = status(None)
    assert s.state == "no-consent"
    assert "No consent is recorded for you: the agent captures nothing." in all_text(s)


def test_withdrawn_by_the_admin_says_off_and_who() -> None:
    withdrawn = ConsentRecord("u-1", ConsentState.WITHDRAWN, "device-1", T0, "u-9", (), "admin")
    s = status(withdrawn)
    head = sections(s, POLICY, T0.timestamp())[0].lines[0]
    assert s.state == "off" and head.startswith("Off: nothing is captured because consent was withdrawn")
    assert "by your admin (u-9)" in head


def test_partial_scopes_name_what_is_not_covered() -> None:
    s = status(grant(CaptureScope.KEYS, CaptureScope.SCREENS))
    head = sections(s, POLICY, T0.timestamp())[0].lines[0]
    assert head.startswith("Capturing keys and screenshots of xterm") and "Not captured: the mouse." in head
    body = all_text(s)
    assert "You agreed to the capture of your keys and screenshots" in body
    assert "Not covered, so never captured: mouse." in body


def test_paused_and_the_choices() -> None:
    s = status(grant(), paused_until=float("inf"))
    assert s.state == "paused"
    assert sections(s, POLICY, 0)[0].lines[0].startswith("Paused")
    body = all_text(s)
    for command in ("teachstream agent pause --minutes N", "teachstream agent resume", "teachstream consent withdraw"):
        assert f"`{command}`" in body
    assert "teachstream my-data" in body and "teachstream erase" in body


def test_the_policy_says_denied_apps_titles_screenshots_and_keyframes() -> None:
    body = all_text(status(grant()))
    assert "keepassxc" in body and "passwor" in body
    assert "Screenshots: on" in body and "every 10 s" in body
    assert "<USER>" in body and "pseudonyms" in body and "password fields" in body


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.data: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.data.append(data)


def test_the_page_escapes_everything_and_shows_commands_as_code() -> None:
    page = html(status(grant()), POLICY, T0.timestamp())
    parsed = _Collect()
    parsed.feed(page)
    assert "script" not in parsed.tags and "&lt;script&gt;" in page
    assert "<code>teachstream consent withdraw</code>" in page
    assert "<USER>" in "".join(parsed.data)  # the placeholder as text, not a tag
    assert "http" not in page.replace('lang="en"', "")  # self-contained: nothing fetched
    assert CapturePolicy().deny_apps[0] in page
