"""What the agent can see now, what it never captures, and how to stop it: as text and as a page (pure core).

``teachstream agent status`` prints :func:`text`; the agent writes :func:`html` to
``what-is-captured.html`` in its state directory at start and whenever consent or the policy
changes, and ``teachstream agent transparency -o FILE`` writes it anywhere. Both come from
the same :func:`sections`, written for the person being recorded. Commands are quoted in
backticks and shown as code on the page; everything else is escaped.
"""

from __future__ import annotations

import html as _html
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from producers.core.consent import scope_words
from producers.core.policy import ActivePolicy
from producers.core.status import AgentStatus, headline, recorded_by, when
from schemas.control_records import CaptureScope, ConsentState

_CODE = re.compile(r"`([^`]+)`")


@dataclass(frozen=True)
class Section:
    title: str
    lines: tuple[str, ...]


def sections(s: AgentStatus, policy: ActivePolicy, now: float) -> list[Section]:
    return [
        Section("Right now", (headline(s, now),)),
        Section("What your consent covers", _consent(s)),
        Section("The capture policy", _policy(policy)),
        Section("Websites", _sites(s, policy)),
        Section("Never captured", _never(s)),
        Section("Your choices", _choices()),
    ]


def _consent(s: AgentStatus) -> tuple[str, ...]:
    record = s.consent
    if record is None:
        return ("No consent is recorded for you: the agent captures nothing.",)
    if record.state is ConsentState.WITHDRAWN:
        return (f"Consent was withdrawn {recorded_by(record)} at {when(record.recorded_at)}: nothing is captured.",)
    lines = [
        f"You agreed to the capture of your {scope_words(s.scopes)}, since {when(record.recorded_at)}, "
        f"recorded {recorded_by(record)} (policy version {record.policy_version}).",
    ]
    if left_out := frozenset(CaptureScope) - s.scopes:
        lines.append(f"Not covered, so never captured: {scope_words(left_out)}.")
    return tuple(lines)


def _policy(p: ActivePolicy) -> tuple[str, ...]:
    issued = f", issued {when(p.issued_at)}" if p.issued_at else ""
    shots = (
        f"Screenshots: on, when you click, start typing or switch windows, and at most every "
        f"{p.keyframe_seconds:g} s while you are active."
        if p.screenshots
        else "Screenshots: off."
    )
    lines = [f"Policy: {p.version}{issued}.", shots]
    if p.capture.allow_apps:
        lines.append(f"Only these apps are captured: {', '.join(p.capture.allow_apps)}.")
    lines.append(f"Apps never captured: {', '.join(p.capture.deny_apps) or 'none'}.")
    titles = "; ".join(p.capture.deny_title_patterns) or "none"
    lines.append(f"Windows whose title matches any of these patterns are never captured: {titles}.")
    return tuple(lines)


def _sites(s: AgentStatus, p: ActivePolicy) -> tuple[str, ...]:
    rules = p.capture.hosts
    browsers = ", ".join(p.capture.browser_apps)
    lines = [
        f"Browser windows ({browsers}) are captured only on the sites below, as the teachstream browser extension "
        "reports the active tab: its host only, never the address's path or query, never page content.",
    ]
    if rules is None:
        lines.append("No site rules are set: every site a browser window shows is captured.")
    else:
        lines.append(f"Captured: {', '.join(rules.allow) or 'no site is listed'}.")
        lines.append(f"Never captured: {', '.join(rules.deny) or 'no site is listed'}.")
        unknown = "captured" if rules.unknown == "allow" else "never captured"
        lines.append(f"Every other site: {unknown}.")
    lines.append(
        "Never captured on any site: private (incognito) windows, a page while a password field has focus, and "
        "every browser window while no extension answers."
    )
    if s.browsers:
        answering = ", ".join(f"{source} ({n} windows)" for source, n in s.browsers.items())
        lines.append(f"The extension answers now from: {answering}.")
    else:
        lines.append("No browser extension answers now: every browser window is withheld.")
    return tuple(lines)


def _never(s: AgentStatus) -> tuple[str, ...]:
    return (
        "Denied apps and windows: no keys, clicks or screenshots, only how long capture was withheld.",
        "Anything while you paused or after you withdrew consent.",
        "Text typed into password fields, and secrets in what you type: redacted downstream before anything is stored.",
        "Raw screen pixels never leave this device as taken: screenshots are scaled down and compressed, and "
        "denied windows are blacked out first.",
        "Your user name, host name and email addresses in window titles become <USER>, <HOST> and <EMAIL> on "
        "this device; downstream you and this computer are known only by pseudonyms (keyed hashes)"
        + (f": {s.user_id} and {s.device_id}." if s.user_id else "."),
    )


def _choices() -> tuple[str, ...]:
    return (
        "Pause: `teachstream agent pause --minutes N` (without --minutes: until you resume); "
        "resume with `teachstream agent resume`.",
        "Withdraw consent: `teachstream consent withdraw` (capture stops within seconds); agree to part only "
        "with `teachstream consent accept --scope keys,mouse`.",
        "A copy of your data: ask your admin to run `teachstream my-data` for you.",
        "Erasure of your data: ask your admin to run `teachstream erase` for you.",
    )


def text(s: AgentStatus, policy: ActivePolicy, now: float) -> str:
    """The sections after the headline, as plain text for a terminal."""
    parts = []
    for section in sections(s, policy, now)[1:]:
        parts.append(f"{section.title}:\n" + "\n".join(f"  - {line}" for line in section.lines))
    return "\n".join(parts)


def html(s: AgentStatus, policy: ActivePolicy, now: float) -> str:
    """A self-contained page (no scripts, no external files) with every section."""
    generated = datetime.fromtimestamp(now, UTC).astimezone().strftime("%Y-%m-%d %H:%M %Z")
    body = []
    for section in sections(s, policy, now):
        items = "\n".join(f"    <li>{_inline(line)}</li>" for line in section.lines)
        body.append(f"  <h2>{_html.escape(section.title)}</h2>\n  <ul>\n{items}\n  </ul>")
    return _PAGE.format(state=_html.escape(s.state), generated=_html.escape(generated), body="\n".join(body))


def _inline(line: str) -> str:
    return _CODE.sub(r"<code>\1</code>", _html.escape(line, quote=True))


_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>What teachstream captures on this computer</title>
  <style>
    body {{ font: 16px/1.5 system-ui, sans-serif; max-width: 46em; margin: 2em auto; padding: 0 1em; }}
    h1 {{ font-size: 1.5em; }} h2 {{ font-size: 1.15em; margin-top: 1.5em; }}
    code {{ background: #f0f0f0; padding: 0 .25em; border-radius: 3px; }}
    .state {{ font-weight: bold; }}
  </style>
</head>
<body>
  <h1>What teachstream captures on this computer</h1>
  <p>State: <span class="state">{state}</span>. Generated {generated}.</p>
{body}
</body>
</html>
"""
