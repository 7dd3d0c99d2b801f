"""Which site a browser window shows, from the browser extension's reports (pure core).

The extension (``deploy/browser-extension``) reports, for every browser window it can see, the
active tab's title and host, whether the window is private, and whether a password field has
focus; never a path, a query or page content. Its native messaging host
(:mod:`teachstream.browser_host`) hands each report to the agent. :class:`Tabs` keeps the
newest report of each browser (a *source*) and answers, for a window of a browser app, the
host to put on it, or why there is none:

* the window is found by its title, which the browser makes from the active tab's title
  (``<tab title> - Chromium``, ``<tab title> — Mozilla Firefox``), and by focus: the window
  that has the focus must be the one the extension reports as focused. A private window the
  extension is not allowed into, or a window of another profile, can have the very title of a
  reported one (Chromium does not mark private windows in the title); it is never the one the
  extension reports as focused. Among the windows without focus, there must be as many
  reported with the title as the screen shows;
* no fresh report names it: no extension answers for it (not installed, disabled, or a private
  window the extension is not allowed into), so nothing says which site it shows;
* the window is private, or a password field has focus in it;
* two reported windows with that title show different sites, or one of them is private.

Every "why" means no host, and a browser window without a host is denied
(:class:`schemas.capture_policy.CapturePolicy`). A report older than ``STALE_S`` no longer
counts: the extension reports every ``KEEPALIVE_S`` while it runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from schemas.capture_policy import normal_host

KEEPALIVE_S = 2.0  # the extension reports this often even when nothing changes
STALE_S = 3 * KEEPALIVE_S  # a source silent for this long has no extension behind it
DEFAULT_TOOLBAR = 160  # px blacked out above the page when a report does not say (tabs, address bar, info bar)
MAX_TOOLBAR = 1000
MAX_WINDOWS = 200
MAX_TEXT = 1024


@dataclass(frozen=True)
class TabReport:
    """One browser window as the extension sees it: its active tab."""

    title: str
    host: str
    private: bool = False
    password: bool = False
    focused: bool = False
    toolbar: int = DEFAULT_TOOLBAR  # the height of the browser's bars above the page (address bar included)


@dataclass(frozen=True)
class Lookup:
    """The host to put on a browser window, or None and why; ``toolbar``: the height of its bars above the page."""

    host: str | None
    why: str
    toolbar: int = DEFAULT_TOOLBAR


def parse(windows: object) -> tuple[TabReport, ...]:
    """The windows of one report (a list of JSON objects); ``ValueError`` says what is wrong."""
    if not isinstance(windows, list) or len(windows) > MAX_WINDOWS:
        raise ValueError(f"'windows' must be a list of at most {MAX_WINDOWS} objects")
    out = []
    for item in windows:
        if not isinstance(item, Mapping):
            raise ValueError("each window must be a JSON object")
        title, host = item.get("title", ""), item.get("host", "")
        if not isinstance(title, str) or not isinstance(host, str) or len(title) > MAX_TEXT or len(host) > 253:
            raise ValueError("a window's 'title' and 'host' must be short strings")
        if any(c in host for c in "/?#@ "):
            raise ValueError(f"host {host!r} is not a host name (no path, query or user may leave the browser)")
        flags = [item.get(k, False) for k in ("private", "password", "focused")]
        if not all(isinstance(f, bool) for f in flags):
            raise ValueError("'private', 'password' and 'focused' must be true or false")
        toolbar = item.get("toolbar", DEFAULT_TOOLBAR)
        if not isinstance(toolbar, int) or isinstance(toolbar, bool) or not 0 <= toolbar <= MAX_TOOLBAR:
            raise ValueError(f"'toolbar' must be a height in pixels, 0 to {MAX_TOOLBAR}")
        private, password, focused = flags
        out.append(TabReport(title, normal_host(host), private, password, focused, toolbar))
    return tuple(out)


def _shows(window_title: str, tab_title: str) -> bool:
    """Whether a browser window with ``window_title`` shows a tab titled ``tab_title``."""
    if not tab_title:
        return False
    return window_title == tab_title or (
        window_title.startswith(tab_title) and window_title[len(tab_title) : len(tab_title) + 1] in (" ", "\u2014")
    )


class Tabs:
    """The newest report of each source; not thread-safe (the agent guards it)."""

    def __init__(self) -> None:
        self._reports: dict[str, tuple[float, tuple[TabReport, ...]]] = {}
        self.version = 0  # bumped whenever what a lookup could answer changes

    def report(self, source: str, windows: Sequence[TabReport], now: float) -> None:
        previous = self._reports.get(source)
        self._reports[source] = (now, tuple(windows))
        if previous is None or previous[1] != tuple(windows):
            self.version += 1

    def gone(self, source: str) -> None:
        """The source's browser closed, or its extension was disabled."""
        if self._reports.pop(source, None) is not None:
            self.version += 1

    def expire(self, now: float) -> None:
        """Forget the sources silent for ``STALE_S``."""
        for source in [s for s, (at, _) in self._reports.items() if now - at > STALE_S]:
            self.gone(source)

    def sources(self) -> dict[str, int]:
        """Each source that answers, with how many windows it reported."""
        return {source: len(windows) for source, (_, windows) in sorted(self._reports.items())}

    def lookup(self, window_title: str, now: float, focused: bool = True, copies: int = 1) -> Lookup:
        """The host of a browser window: the one with the focus (``focused``), or one of ``copies``
        windows without it that show ``window_title``."""
        self.expire(now)
        if not self._reports:
            return Lookup(None, "no browser extension answers (not installed, disabled, or the browser is closed)")
        found = [
            tab
            for _, windows in self._reports.values()
            for tab in windows
            if _shows(window_title, tab.title) and tab.focused == focused
        ]
        if not found:
            return Lookup(
                None,
                "the browser extension does not report this window"
                + (" as focused" if focused else "")
                + " (a private window, another profile, or focus still moving)",
            )
        if len(found) < copies:
            return Lookup(None, "more windows show this title than the browser extension reports")
        if any(tab.private for tab in found):
            return Lookup(None, "this is a private window")
        if any(tab.password for tab in found):
            return Lookup(None, "a password field has focus")
        if len({tab.host for tab in found}) > 1:
            return Lookup(None, "two windows with this title show different sites")
        host = found[0].host
        return Lookup(host, f"the active tab shows {host or 'a page without a host'}", max(t.toolbar for t in found))


def message_windows(message: Mapping[str, Any]) -> tuple[str, tuple[TabReport, ...] | None]:
    """The source and windows of a ``browser`` control message (windows None: the source is gone)."""
    source = message.get("source")
    if not isinstance(source, str) or not source or len(source) > 200:
        raise ValueError("a browser report needs a 'source' (which browser and extension sent it)")
    if message.get("gone"):
        return source, None
    return source, parse(message.get("windows"))
