"""Window sources: the factory, focus polling, and the pure parts of the untested Windows and macOS adapters."""

from __future__ import annotations

import select
import sys
from typing import Any

import pytest

import producers.x11
from producers.focus_poll import FocusPoller
from producers.windows import window_source
from producers.windows_macos import MacWindows, parse_window_list
from producers.windows_win32 import Win32Windows, app_from_image_path, visible_from_top_down
from schemas.errors import ConfigError
from schemas.events import VisibleWindow, WindowContext


def _cg(
    pid: int, number: int, owner: str, name: str | None, x: float, y: float, w: float, h: float, **extra: Any
) -> dict[str, Any]:
    info: dict[str, Any] = {
        "kCGWindowOwnerPID": pid,
        "kCGWindowNumber": number,
        "kCGWindowOwnerName": owner,
        "kCGWindowLayer": 0,
        "kCGWindowAlpha": 1.0,
        "kCGWindowBounds": {"X": x, "Y": y, "Width": w, "Height": h},
    }
    if name is not None:
        info["kCGWindowName"] = name
    info.update(extra)
    return info


# front to back, as CGWindowListCopyWindowInfo answers
WINDOW_LIST = [
    _cg(500, 1, "Window Server", "Menubar", 0, 0, 1440, 24, kCGWindowLayer=24),
    _cg(200, 31, "KeePassXC", "secrets.kdbx - KeePassXC", 100.5, 80.2, 600, 400),
    _cg(300, 42, "Safari", "Apple", 0, 24, 1440, 876),
    _cg(300, 43, "Safari", None, 10, 10, 300, 200),  # no title: no Screen Recording permission
    _cg(400, 50, "Dock", "", 0, 0, 0, 0),
    _cg(600, 60, "Ghost", "invisible", 5, 5, 50, 50, kCGWindowAlpha=0.0),
]


def test_the_window_list_gives_ordinary_windows_bottom_to_top_and_the_front_apps_frontmost_window() -> None:
    focused, visible = parse_window_list(WINDOW_LIST, (300, "Safari"))
    assert focused == WindowContext("safari", "Apple", 42)
    assert visible == [
        VisibleWindow("safari", "", 10, 10, 300, 200, False),
        VisibleWindow("safari", "Apple", 0, 24, 1440, 876, True),
        VisibleWindow("keepassxc", "secrets.kdbx - KeePassXC", 100, 80, 601, 401, False),  # rounded outwards
    ]


def test_without_a_known_front_app_the_frontmost_window_is_focused_and_a_windowless_app_has_no_title() -> None:
    assert parse_window_list(WINDOW_LIST, None)[0] == WindowContext("keepassxc", "secrets.kdbx - KeePassXC", 31)
    focused, visible = parse_window_list(WINDOW_LIST, (700, "Finder"))
    assert focused == WindowContext("finder", "", 0)
    assert not any(w.focused for w in visible)
    assert parse_window_list([], None) == (None, [])


def test_windows_app_names_are_the_image_file_name_and_windows_are_listed_bottom_to_top() -> None:
    assert app_from_image_path(r"C:\Program Files\KeePassXC\KeePassXC.exe") == "keepassxc"
    assert app_from_image_path(r"C:\Windows\System32\notepad.EXE") == "notepad"
    assert app_from_image_path("") == "unknown"
    rows = [
        (0x10, "notepad", "a.txt - Notepad", (100, 100, 500, 400)),
        (0x20, "explorer", "", (0, 0, 0, 0)),
        (0x30, "firefox", "Mozilla Firefox", (-8, -8, 1928, 1048)),
    ]
    assert visible_from_top_down(rows, focused=0x10) == [
        VisibleWindow("firefox", "Mozilla Firefox", -8, -8, 1936, 1056, False),
        VisibleWindow("notepad", "a.txt - Notepad", 100, 100, 400, 300, True),
    ]


def test_the_poller_reports_a_focus_change_once_and_looks_up_at_most_once_per_interval() -> None:
    now = [0.0]
    current = [WindowContext("xterm", "a", 1)]
    lookups: list[float] = []

    def focused() -> WindowContext | None:
        lookups.append(now[0])
        return current[0]

    poller = FocusPoller(focused, interval=0.25, clock=lambda: now[0], ticking=False)
    try:
        assert poller.changed()  # the first lookup
        assert not poller.changed() and len(lookups) == 1  # too soon: no lookup
        now[0] = 0.3
        assert not poller.changed() and len(lookups) == 2
        current[0] = WindowContext("xterm", "b", 1)  # a title change
        now[0] = 0.6
        assert poller.changed()
        now[0] = 0.9
        assert not poller.changed()
    finally:
        poller.close()


def test_the_poller_wakes_a_select_at_its_rate() -> None:
    poller = FocusPoller(lambda: None, interval=0.02)
    try:
        readable, _, _ = select.select([poller.fileno()], [], [], 2.0)
        assert readable == [poller.fileno()]
        poller.changed()  # drains the ticks
        assert select.select([poller.fileno()], [], [], 0)[0] == []
    finally:
        poller.close()


def test_the_factory_picks_x11_on_linux(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[str | None] = []

    class FakeX11:
        def __init__(self, display: str | None) -> None:
            made.append(display)

    monkeypatch.setattr(producers.x11, "X11Windows", FakeX11)
    assert isinstance(window_source(":99", "linux"), FakeX11)
    assert made == [":99"]
    if sys.platform.startswith("linux"):
        assert isinstance(window_source(None), FakeX11)


def test_the_factory_refuses_an_unknown_platform_and_the_other_adapters_say_what_they_lack() -> None:
    with pytest.raises(ConfigError, match="cannot read windows on platform 'freebsd14'"):
        window_source(None, "freebsd14")
    if sys.platform.startswith("linux"):
        with pytest.raises(ConfigError, match="user32"):
            Win32Windows()
        with pytest.raises(ConfigError, match="pyobjc"):
            MacWindows()
