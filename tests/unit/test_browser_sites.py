"""Work sites only: site rules, which site a browser window shows, the native messaging host, the stream's check."""

from __future__ import annotations

import dataclasses
import io
import json
import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from producers.browser_windows import BrowserWindows
from producers.core.browser import DEFAULT_TOOLBAR, STALE_S, TabReport, Tabs, message_windows, parse
from producers.core.frames import plan_frame
from producers.core.inputs import RawKey
from producers.core.policy import published
from producers.core.recorder import DENIED, Recorder
from producers.core.status import AgentStatus
from producers.core.transparency import text
from producers.settings import AgentSettings
from schemas.capture_policy import CapturePolicy, HostRules, validate_hosts
from schemas.codec import Codec
from schemas.control_records import Policy
from schemas.events import (
    CaptureSuppressed,
    InteractionEvent,
    MouseButton,
    VisibleWindow,
    WindowContext,
)
from schemas.kill_switch import KillSwitches
from schemas.records import to_avro
from schemas.signed_policy import canonical, check_signature, new_key, public_raw, public_text, sign, trusted
from streams.core.cleaner import Cleaner
from streams.core.redaction import SegmentPolicy
from teachstream.browser_host import (
    CHROMIUM_ID,
    FIREFOX_ID,
    ProtocolError,
    install,
    launcher_script,
    read_message,
    serve,
    targets,
    write_message,
)

RULES = HostRules(allow=(".example-corp.com", "wiki.partner.org"), deny=("payroll.example-corp.com",))
SITES = CapturePolicy(hosts=RULES)
T0 = datetime(2026, 12, 3, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("docs.example-corp.com", True),
        ("example-corp.com", True),  # a suffix names the domain too
        ("DOCS.Example-Corp.com.", True),  # case and a trailing dot do not matter
        ("payroll.example-corp.com", False),  # deny wins over an allowing suffix
        ("wiki.partner.org", True),
        ("partner.org", False),  # an exact host names only itself
        ("badexample-corp.com", False),  # a suffix matches whole labels only
        ("mybank.com", False),  # on no list: denied by default
        ("", False),  # a page without a host (file:, about:) is on no list
    ],
)
def test_site_rules_deny_first_then_allow_then_the_default(host: str, allowed: bool) -> None:
    assert RULES.decide(host).allowed is allowed


def test_the_default_for_unknown_sites_is_a_policy_field() -> None:
    assert HostRules(unknown="allow").decide("news.example.org").allowed
    assert not HostRules(deny=("*.example.org",), unknown="allow").decide("news.example.org").allowed
    reason = HostRules().decide("news.example.org").reason
    assert reason == "site news.example.org is not on the allow list (sites on no list are never captured)"


@pytest.mark.parametrize("bad", ["https://docs.example.com", "docs.example.com/path", "docs.*.com", "host:443", "a b"])
def test_host_patterns_that_are_not_hosts_are_refused_by_name(bad: str) -> None:
    with pytest.raises(ValueError, match="neither a host"):
        validate_hosts((bad,))
    with pytest.raises(ValueError):
        AgentSettings(agent_allow_hosts=(bad,))
    validate_hosts(("docs.example.com", ".example.com", "*.example.com", "[::1]", "10.0.0.7"))


def test_a_browser_window_needs_a_host_and_the_host_decides() -> None:
    assert not SITES.decide_window("chromium", "Docs - Chromium").allowed  # no extension answered
    assert "no browser extension" in SITES.decide_window("Firefox", "Docs").reason
    assert SITES.decide_window("chromium", "Docs - Chromium", "docs.example-corp.com").allowed
    assert not SITES.decide_window("chromium", "Bank - Chromium", "mybank.com").allowed
    assert SITES.decide_window("xterm", "notes").allowed  # not a browser: no host needed
    assert not SITES.decide_window("xterm", "notes", "mybank.com").allowed  # a claimed host is judged anyway
    # the stream without a published policy: no site rules, but a browser window still needs a host
    assert CapturePolicy().decide_window("google-chrome", "Docs", "anything.example").allowed
    assert not CapturePolicy().decide_window("google-chrome", "Docs").allowed


def test_a_published_policy_brings_its_site_rules_and_the_signature_covers_them() -> None:
    key = new_key()
    keys = trusted([public_text(public_raw(key))])
    old = sign(Policy("fleet", "v1", T0), key)
    assert b"hosts" not in canonical(old)  # signed bytes of a policy without site rules are as they were
    signed = sign(Policy("fleet", "v2", T0, allow_hosts=(".example-corp.com",), unknown_hosts="deny"), key)
    assert b'"allow_hosts":[".example-corp.com"]' in canonical(signed)
    assert check_signature(signed, keys).valid
    widened = dataclasses.replace(signed, unknown_hosts="allow")
    assert not check_signature(widened, keys).valid
    active = published(signed, default_denies=True)
    assert active.capture.hosts == HostRules((".example-corp.com",), (), "deny")


def tabs(*windows: TabReport, now: float = 0.0) -> Tabs:
    t = Tabs()
    t.report("chromium-1", windows, now)
    return t


def test_a_window_is_found_by_its_active_tab_s_title() -> None:
    t = tabs(TabReport("Docs", "docs.example-corp.com", focused=True), TabReport("Inbox", "mail.example.com"))
    assert t.lookup("Docs - Chromium", 1.0).host == "docs.example-corp.com"
    assert t.lookup("Inbox \u2014 Mozilla Firefox", 1.0, focused=False).host == "mail.example.com"
    assert t.lookup("Docsy - Chromium", 1.0).host is None  # a longer title is another tab
    assert "does not report this window" in t.lookup("Docsy - Chromium", 1.0).why


def test_a_private_window_with_the_title_of_a_reported_one_is_not_taken_for_it() -> None:
    # Chromium titles a private window as any other; the extension cannot see it, and reports its other
    # window as not focused while the private one has the focus
    t = tabs(TabReport("Docs", "docs.example-corp.com", focused=False))
    look = t.lookup("Docs - Chromium", 1.0, focused=True)
    assert look.host is None and "as focused" in look.why
    # without the focus, both show the title: one report is not enough for two windows
    assert t.lookup("Docs - Chromium", 1.0, focused=False, copies=2).host is None
    assert t.lookup("Docs - Chromium", 1.0, focused=False, copies=1).host == "docs.example-corp.com"


@pytest.mark.parametrize(
    ("windows", "why"),
    [
        ((TabReport("Docs", "docs.example-corp.com", True, focused=True),), "this is a private window"),
        ((TabReport("Docs", "docs.example-corp.com", password=True, focused=True),), "a password field has focus"),
        (
            (TabReport("Docs", "docs.example-corp.com", focused=True), TabReport("Docs", "evil.example", focused=True)),
            "different sites",
        ),
    ],
)
def test_private_windows_password_fields_and_ambiguous_titles_have_no_host(
    windows: tuple[TabReport, ...], why: str
) -> None:
    look = tabs(*windows).lookup("Docs - Chromium", 1.0)
    assert look.host is None and why in look.why


def test_a_silent_or_closed_browser_no_longer_vouches_for_any_window() -> None:
    t = tabs(TabReport("Docs", "docs.example-corp.com", focused=True))
    assert t.lookup("Docs - Chromium", STALE_S - 1).host == "docs.example-corp.com"
    assert t.lookup("Docs - Chromium", STALE_S + 1).host is None  # no report for STALE_S: no extension
    t = tabs(TabReport("Docs", "docs.example-corp.com"))
    version = t.version
    t.gone("chromium-1")
    assert t.version > version and "no browser extension answers" in t.lookup("Docs - Chromium", 0.5).why


def test_reports_carry_hosts_only() -> None:
    source, windows = message_windows(
        {"source": "chromium-7", "windows": [{"title": "Docs", "host": "Docs.Example.com", "origin": "https://x"}]}
    )
    assert source == "chromium-7" and windows == (TabReport("Docs", "docs.example.com"),)
    assert parse([{"title": "Docs", "host": "a.example", "toolbar": 147}])[0].toolbar == 147
    assert message_windows({"source": "chromium-7", "gone": True}) == ("chromium-7", None)
    for bad in (
        [{"title": "x", "host": "docs.example.com/secret?q=1"}],
        [{"private": "yes"}],
        [{"toolbar": -1}],
        {"title": "x"},
    ):
        with pytest.raises(ValueError):
            parse(bad)
    with pytest.raises(ValueError, match="source"):
        message_windows({"windows": []})


class Inner:
    """The window source's interface, with what X would say."""

    def __init__(self) -> None:
        self.context: WindowContext | None = WindowContext("chromium", "Docs - Chromium", 5)
        self.windows = [
            VisibleWindow("chromium", "Docs - Chromium", 0, 0, 800, 600, True),
            VisibleWindow("xterm", "t", 0, 0, 1, 1),
        ]
        self.moved = False

    def fileno(self) -> int:
        return -1

    def changed(self) -> bool:
        moved, self.moved = self.moved, False
        return moved

    def pointer(self) -> tuple[int, int]:
        return (0, 0)

    def focused(self) -> WindowContext | None:
        return self.context

    def visible(self) -> list[VisibleWindow]:
        return self.windows

    def close(self) -> None:
        pass


def test_a_report_is_a_change_of_the_focused_window_and_puts_the_host_on_browser_windows() -> None:
    woken: list[bool] = []
    now = [0.0]
    windows = BrowserWindows(Inner(), CapturePolicy().is_browser, lambda: woken.append(True), lambda: now[0])
    assert windows.focused() == WindowContext("chromium", "Docs - Chromium", 5, None)
    assert windows.why is not None and "no browser extension answers" in windows.why
    windows.report("chromium-1", [TabReport("Docs", "docs.example-corp.com", focused=True)])
    assert woken and windows.changed()
    assert not windows.changed()  # once per report that changes something
    assert windows.focused() == WindowContext("chromium", "Docs - Chromium", 5, "docs.example-corp.com")
    visible = windows.visible()
    assert [w.host for w in visible] == ["docs.example-corp.com", None]
    (bar,) = windows.address_bars(visible)  # only the browser window with a host has bars to black out
    assert (bar.x, bar.y, bar.width, bar.height, bar.title) == (0, 0, 800, DEFAULT_TOOLBAR, "")
    plan = plan_frame(visible, SITES, [bar])
    assert plan.blackout == [bar] and plan.redactions == ("device:address-bar",)
    assert [w.title for w in plan.listed] == ["Docs - Chromium", "t"]  # bars are blacked out, not listed
    now[0] = STALE_S + 1  # the extension fell silent
    assert windows.changed() and windows.focused() is not None and windows.focused().host is None  # type: ignore[union-attr]


def test_the_recorder_withholds_a_browser_window_until_its_site_is_known_and_allowed() -> None:
    r = Recorder(SITES)
    out = r.focus(0.0, WindowContext("chromium", "Docs - Chromium", 5))  # no host yet: withheld
    assert r.suppressed == DENIED and out == []
    assert r.feed(RawKey(0.5, True, "p", "p")) == []
    out = r.focus(1.0, WindowContext("chromium", "Docs - Chromium", 5, "docs.example-corp.com"))
    marker = out[0]
    assert marker.payload == CaptureSuppressed(DENIED, 1000)  # type: ignore[union-attr]
    assert marker.context == WindowContext("chromium", "", 5)  # type: ignore[union-attr]  # no title, no host
    assert r.suppressed is None
    r.focus(2.0, WindowContext("chromium", "Bank - Chromium", 5, "mybank.com"))  # a tab switch
    assert r.suppressed == DENIED


def test_the_stream_drops_a_site_the_signed_policy_of_the_moment_denies() -> None:
    switches = KillSwitches()
    switches.apply(Policy("fleet", "v1", T0, deny_hosts=("mybank.com",), unknown_hosts="allow"))
    switches.apply(Policy("fleet", "v2", T0 + timedelta(hours=1), allow_hosts=(".example-corp.com",)))
    assert switches.hosts_at(T0 - timedelta(seconds=1)) is None
    codec = Codec()
    cleaner = Cleaner(CapturePolicy(), SegmentPolicy(), None, codec, {}, None, switches.hosts_at)

    def push(host: str, at: datetime, seq: int) -> int:
        ctx = WindowContext("chromium", "Page - Chromium", 1, host)
        event = InteractionEvent("d-1", "u-1", seq, at, MouseButton("left", True, 10, 10), ctx)
        out = cleaner.push(0, event, codec.encode("InteractionEvent", to_avro(event)))
        return len(out.events)

    assert push("mybank.com", T0 + timedelta(minutes=1), 1) == 0  # v1 denies it
    assert push("news.example.org", T0 + timedelta(minutes=2), 2) == 1  # v1 lets unknown sites through
    assert push("news.example.org", T0 + timedelta(hours=2), 3) == 0  # v2 does not
    assert push("docs.example-corp.com", T0 + timedelta(hours=2), 4) == 1
    assert cleaner.counts["filter.denied_site"] == 2


def status(**kw: Any) -> AgentStatus:
    return AgentStatus(None, None, "chromium", "site x is allowed", True, True, **kw)


def test_status_says_which_sites_are_captured_and_which_never_are() -> None:
    policy = AgentSettings(agent_allow_hosts=(".example-corp.com",), agent_deny_hosts=("payroll.example-corp.com",))
    words = text(status(), policy.active_policy(), T0.timestamp())
    assert "Captured: .example-corp.com." in words
    assert "Never captured: payroll.example-corp.com." in words
    assert "Every other site: never captured." in words
    assert "No browser extension answers now: every browser window is withheld." in words
    assert "chromium-9 (2 windows)" in text(status(browsers={"chromium-9": 2}), policy.active_policy(), 0.0)


# -- the native messaging host ---------------------------------------------------------------
def framed(*messages: Any) -> io.BytesIO:
    out = io.BytesIO()
    for m in messages:
        body = m if isinstance(m, bytes) else json.dumps(m).encode()
        out.write(struct.pack("=I", len(body)) + body)
    out.seek(0)
    return out


def test_the_host_relays_reports_answers_and_says_gone_when_the_browser_closes() -> None:
    sent: list[dict[str, Any]] = []

    def send(message: dict[str, Any]) -> dict[str, Any]:
        sent.append(message)
        if len(sent) == 2:
            raise ConnectionError("the capture agent is not running")
        return {"ok": True}

    stdout = io.BytesIO()
    report = {"type": "tabs", "windows": [{"title": "Docs", "host": "docs.example.com"}]}
    assert serve(framed(report, report, {"type": "hello"}), stdout, send, "chromium-3") == 0
    assert sent[0] == {"cmd": "browser", "source": "chromium-3", "windows": report["windows"]}
    assert sent[-1] == {"cmd": "browser", "source": "chromium-3", "gone": True}
    stdout.seek(0)
    replies = [read_message(stdout) for _ in range(3)]
    assert [r["ok"] for r in replies if r] == [True, False, False]
    assert replies[1] is not None and "not running" in replies[1]["text"]


@pytest.mark.parametrize(
    ("stream", "error"),
    [
        (io.BytesIO(b"\x05\x00"), "inside a message's length"),
        (io.BytesIO(struct.pack("=I", 10) + b"{}"), "inside a message"),
        (io.BytesIO(struct.pack("=I", 1 << 30)), "larger than"),
        (framed(b"not json"), "not JSON"),
        (framed([1, 2]), "not a JSON object"),
    ],
)
def test_bytes_that_are_not_native_messages_are_named(stream: io.BytesIO, error: str) -> None:
    with pytest.raises(ProtocolError, match=error):
        read_message(stream)
    stream.seek(0)
    sent: list[dict[str, Any]] = []
    assert serve(stream, io.BytesIO(), lambda m: sent.append(m) or {"ok": True}, "x") == 1  # type: ignore[func-returns-value]
    assert sent == [{"cmd": "browser", "source": "x", "gone": True}]  # and the agent hears the source is gone


def test_write_and_read_are_inverse() -> None:
    stream = io.BytesIO()
    write_message(stream, {"ok": True, "text": "\u00e9"})
    stream.seek(0)
    assert read_message(stream) == {"ok": True, "text": "\u00e9"} and read_message(stream) is None


def test_install_writes_a_launcher_and_a_manifest_each_browser_reads(tmp_path: Path) -> None:
    found = targets(["chromium", "firefox"], tmp_path / "home", system=False, user_data_dir=tmp_path / "profile")
    written = install(tmp_path / "state", found, ["/opt/teachstream/bin/teachstream"])
    launcher = tmp_path / "state" / "browser-host"
    assert written[0] == launcher and launcher.stat().st_mode & 0o111
    assert "'agent' '--state-dir'" in launcher.read_text() and launcher.read_text().rstrip().endswith('"$@"')
    chromium = json.loads((tmp_path / "profile/NativeMessagingHosts/io.teachstream.agent.json").read_text())
    assert chromium["allowed_origins"] == [f"chrome-extension://{CHROMIUM_ID}/"] and chromium["path"] == str(launcher)
    firefox = json.loads((tmp_path / "home/.mozilla/native-messaging-hosts/io.teachstream.agent.json").read_text())
    assert firefox["allowed_extensions"] == [FIREFOX_ID] and firefox["type"] == "stdio"
    assert "'it'\"'\"'s'" in launcher_script(["it's"], tmp_path)


def test_the_extension_s_key_gives_the_id_the_manifests_allow() -> None:
    import base64
    import hashlib

    manifest = json.loads(Path("deploy/browser-extension/manifest.json").read_text())
    digest = hashlib.sha256(base64.b64decode(manifest["key"])).hexdigest()[:32]
    assert "".join(chr(ord("a") + int(c, 16)) for c in digest) == CHROMIUM_ID
    assert manifest["browser_specific_settings"]["gecko"]["id"] == FIREFOX_ID
    assert manifest["manifest_version"] == 3 and set(manifest["permissions"]) == {"tabs", "nativeMessaging"}
