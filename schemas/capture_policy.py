"""Capture policy: which windows may be recorded; one format for the agent and the stream (pure core).

A window is denied when its app matches a deny pattern, when an allow list is set and the
app matches none of it, or when its title matches a deny pattern. Denied windows yield no
characters and no frames; the agent only records that something was suppressed, and for
how long. App patterns are case-insensitive globs (``keepass*``); title patterns are
case-insensitive regular expressions.

A browser window (its app matches ``browser_apps``) is judged by the site its active tab
shows: the window carries the tab's host, as the browser extension reported it
(``producers.core.browser``), and :class:`HostRules` decide. A browser window without a host
is denied: no extension answered for it, so nothing says which site it shows. A host on any
window is judged by the rules, so a record that claims a denied host never passes.

A policy remembers its verdicts for the last few thousand (app, title, host) triples: every
event carries its window, and a person stays in a few.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Literal

from schemas.events import WindowContext

_REMEMBERED = 4096  # (app, title) verdicts a policy keeps
DEFAULT_DENY_APPS: tuple[str, ...] = (
    "keepass*",
    "keepassxc",
    "1password",
    "bitwarden",
    "lastpass",
    "dashlane",
    "enpass",
    "nordpass",
    "proton-pass",
    "seahorse",
    "gnome-keyring*",
    "kwalletmanager*",
    "pinentry*",
    "gcr-prompter",
    "polkit-*",
    "*ssh-askpass*",
    "*-authentication-agent*",
)
DEFAULT_DENY_TITLES: tuple[str, ...] = (
    r"\b(private browsing|incognito|inprivate)\b",
    r"\b(passwor[dt]s?|passphrase|passcode|pin code)\b",
    r"\b(sign[ -]?in|sign[ -]?on|log[ -]?in|log[ -]?on|authenticat\w*)\b",
    r"\b(2fa|mfa|two[- ]factor|one[- ]time (code|password)|verification code|otp)\b",
    r"\b(password manager|keychain|credentials?)\b",
)

DEFAULT_BROWSER_APPS: tuple[str, ...] = (
    "chromium*",
    "google-chrome*",
    "chrome",
    "firefox*",
    "navigator",
    "librewolf*",
    "brave*",
    "microsoft-edge*",
    "msedge",
    "vivaldi*",
    "opera*",
    "epiphany*",
    "org.gnome.epiphany",
)
UnknownHosts = Literal["deny", "allow"]
_LABEL = r"[a-z0-9]([a-z0-9-]*[a-z0-9])?"
_HOST_PATTERN = re.compile(rf"^(\*?\.)?{_LABEL}(\.{_LABEL})*$|^\[[0-9a-f:.]+\]$")


@dataclass(frozen=True)
class Verdict:
    """Whether a window may be captured, and a sentence saying why."""

    allowed: bool
    reason: str


def normal_host(host: str) -> str:
    """A host as rules compare it: lower case, without a trailing dot."""
    return host.strip().lower().rstrip(".")


def validate_hosts(patterns: tuple[str, ...]) -> None:
    """Raise ``ValueError`` naming the first host pattern that is not a host (``docs.example.com``)
    or a suffix (``.example.com`` or ``*.example.com``: the domain and every host under it)."""
    for p in patterns:
        if not _HOST_PATTERN.match(normal_host(p)):
            raise ValueError(
                f"host pattern {p!r} is neither a host (docs.example.com) nor a suffix (.example.com); "
                "a URL, a path, a port or a wildcard elsewhere than at the start is not a host pattern"
            )


def host_matches(host: str, pattern: str) -> bool:
    """Whether ``host`` is the host ``pattern`` names, or under the suffix it names."""
    p = normal_host(pattern)
    if p.startswith("*."):
        p = p[1:]
    if p.startswith("."):
        return host == p[1:] or host.endswith(p)
    return host == p


@dataclass(frozen=True)
class HostRules:
    """Which sites a browser window may be captured on: deny wins, then allow, then ``unknown`` decides."""

    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    unknown: UnknownHosts = "deny"

    def decide(self, host: str) -> Verdict:
        name = normal_host(host)
        shown = name or "a page without a host"
        for pattern in self.deny:
            if host_matches(name, pattern):
                return Verdict(False, f"site {shown} is on the deny list ({pattern})")
        for pattern in self.allow:
            if host_matches(name, pattern):
                return Verdict(True, f"site {shown} is allowed ({pattern})")
        if self.unknown == "allow":
            return Verdict(True, f"site {shown} is on no list, and sites on no list are captured")
        return Verdict(False, f"site {shown} is not on the allow list (sites on no list are never captured)")


def host_rules(allow: tuple[str, ...], deny: tuple[str, ...], unknown: str) -> HostRules:
    """Site rules from a policy's fields; anything but ``allow`` for unknown sites denies them."""
    return HostRules(allow, deny, "allow" if unknown.strip().lower() == "allow" else "deny")


@dataclass(frozen=True)
class CapturePolicy:
    """Allow and deny lists for apps, deny patterns for titles, and the rules for sites.

    ``hosts`` None: no site rules here (the stream without a published policy); a browser
    window must still carry a host."""

    allow_apps: tuple[str, ...] = ()
    deny_apps: tuple[str, ...] = DEFAULT_DENY_APPS
    deny_title_patterns: tuple[str, ...] = DEFAULT_DENY_TITLES
    hosts: HostRules | None = None
    browser_apps: tuple[str, ...] = DEFAULT_BROWSER_APPS
    _titles: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)
    _verdicts: dict[tuple[str, str, str | None], Verdict] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        compiled = tuple(re.compile(p, re.IGNORECASE) for p in self.deny_title_patterns)
        object.__setattr__(self, "_titles", compiled)
        object.__setattr__(self, "_verdicts", {})

    def is_browser(self, app: str) -> bool:
        name = app.lower()
        return any(fnmatchcase(name, p.lower()) for p in self.browser_apps)

    def decide_window(self, app: str, title: str, host: str | None = None) -> Verdict:
        """The verdict for a window given by its app, title and (browsers) the host its active tab shows."""
        return self.decide(WindowContext(app, title, host=host))

    def decide(self, context: WindowContext | None) -> Verdict:
        """The verdict for the focused window (``None``: no window has focus, nothing to hide)."""
        if context is None:
            return Verdict(True, "no window has focus")
        key = (context.app, context.title, context.host)
        verdict = self._verdicts.get(key)
        if verdict is None:
            if len(self._verdicts) >= _REMEMBERED:
                self._verdicts.clear()
            verdict = self._verdicts[key] = self._decide(context.app, context.title, context.host)
        return verdict

    def _decide(self, app_name: str, title: str, host: str | None) -> Verdict:
        app = app_name.lower()
        for pattern in self.deny_apps:
            if fnmatchcase(app, pattern.lower()):
                return Verdict(False, f"app {app_name!r} is on the deny list ({pattern})")
        if self.allow_apps and not any(fnmatchcase(app, p.lower()) for p in self.allow_apps):
            return Verdict(False, f"app {app_name!r} is not on the allow list")
        for regex in self._titles:
            if regex.search(title):
                return Verdict(False, f"the title of {app_name!r} matches a denied pattern ({regex.pattern})")
        if host is not None and self.hosts is not None:
            return self.hosts.decide(host)
        if host is None and self.is_browser(app_name):
            return Verdict(
                False,
                f"browser {app_name!r}: no browser extension says which site this window shows "
                "(not installed, disabled, or a private window)",
            )
        return Verdict(True, f"app {app_name!r} is allowed")


def validate_patterns(patterns: tuple[str, ...]) -> None:
    """Raise ``ValueError`` naming the first title pattern that is not a valid regular expression."""
    for p in patterns:
        try:
            re.compile(p)
        except re.error as exc:
            raise ValueError(f"title pattern {p!r} is not a valid regular expression: {exc}") from exc
