"""A window source that puts the active tab's host on browser windows (edge).

:class:`BrowserWindows` wraps the platform's window source (:mod:`producers.windows`) and
keeps its interface. Browser windows (an app the policy counts as a browser) get the host the
extension reported for them (:class:`producers.core.browser.Tabs`), or none, with the reason
in :attr:`BrowserWindows.why`. Reports arrive on the control socket's thread
(:meth:`BrowserWindows.report`); the agent's thread sees them as a change of the focused
window, so a tab switch or a password field taking focus is judged again at once.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace

from producers.core.browser import Lookup, TabReport, Tabs
from producers.windows import WindowSource
from schemas.events import VisibleWindow, WindowContext


class BrowserWindows:
    def __init__(
        self,
        inner: WindowSource,
        is_browser: Callable[[str], bool],
        wake: Callable[[], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.inner, self.is_browser, self.wake, self.clock = inner, is_browser, wake, clock
        self.tabs = Tabs()
        self.why: str | None = None  # why the focused browser window has no host (None: it has one, or no browser)
        self._lock = threading.Lock()
        self._seen = 0  # the tabs' version the agent's thread last judged

    # -- the control socket's thread -----------------------------------------------------
    def report(self, source: str, windows: Sequence[TabReport] | None) -> None:
        """A browser's report (``None``: the browser or its extension went away)."""
        with self._lock:
            if windows is None:
                self.tabs.gone(source)
            else:
                self.tabs.report(source, windows, self.clock())
        self.wake()

    def sources(self) -> dict[str, int]:
        with self._lock:
            return self.tabs.sources()

    # -- the window source interface (the agent's thread) --------------------------------
    def fileno(self) -> int:
        return self.inner.fileno()

    def changed(self) -> bool:
        inner = self.inner.changed()
        with self._lock:
            self.tabs.expire(self.clock())
            moved, self._seen = self.tabs.version != self._seen, self.tabs.version
        return inner or moved

    def pointer(self) -> tuple[int, int]:
        return self.inner.pointer()

    def focused(self) -> WindowContext | None:
        context = self.inner.focused()
        if context is None or not self.is_browser(context.app):
            self.why = None
            return context
        look = self._lookup(context.title, True, 1)
        self.why = None if look.host is not None else look.why
        return replace(context, host=look.host)

    def visible(self) -> list[VisibleWindow]:
        windows = self.inner.visible()
        copies = Counter(w.title for w in windows if self.is_browser(w.app) and not w.focused)
        return [
            replace(w, host=self._lookup(w.title, w.focused, 1 if w.focused else copies[w.title]).host)
            if self.is_browser(w.app)
            else w
            for w in windows
        ]

    def address_bars(self, windows: list[VisibleWindow]) -> list[VisibleWindow]:
        """The bars above the page (tabs, address bar) of the browser windows in ``windows`` that have a host:
        a frame blacks them out, so the address's path and query never leave the device in pixels either."""
        bars = []
        for w in windows:
            if w.host is not None:
                look = self._lookup(w.title, w.focused, 1)
                bars.append(replace(w, title="", height=min(w.height, look.toolbar)))
        return bars

    def close(self) -> None:
        self.inner.close()

    def _lookup(self, title: str, focused: bool, copies: int) -> Lookup:
        with self._lock:
            return self.tabs.lookup(title, self.clock(), focused, copies)
