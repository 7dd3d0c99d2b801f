"""The focused window and the visible windows of a Windows desktop, through ctypes (edge).

untested: written against the platform API documentation; no CI machine runs this platform.

Only the standard library is used: ``user32`` (``GetForegroundWindow``, ``GetWindowTextW``,
``GetWindowThreadProcessId``, ``EnumWindows``, ``IsWindowVisible``, ``IsIconic``,
``GetWindowRect``, ``GetCursorPos``), ``kernel32`` (``OpenProcess``,
``QueryFullProcessImageNameW``, ``CloseHandle``) and, when present, ``dwmapi``
(``DwmGetWindowAttribute`` with ``DWMWA_CLOAKED``, to skip windows of other virtual
desktops and suspended store apps). The app is the process image's file name without
``.exe``, lower-cased (``keepassxc``, ``firefox``); ``unknown`` when the process cannot be
opened (an elevated process seen from an unelevated agent). The window id is the ``HWND``.
Visible windows are the top-level windows that are visible, not minimised, not cloaked and
not empty, bottom to top, with ``GetWindowRect`` rectangles in virtual-screen coordinates
(they include the invisible resize borders, so a blacked-out window is covered generously).

Windows pushes no focus changes to this process without a message loop, so they are
polled (:class:`producers.focus_poll.FocusPoller`). The ctypes functions are loaded in the
constructor: the module imports on any platform, the class only works on Windows.
"""

from __future__ import annotations

import ntpath
from collections.abc import Iterable
from typing import Any

from producers.focus_poll import DEFAULT_INTERVAL_S, FocusPoller
from schemas.errors import ConfigError
from schemas.events import VisibleWindow, WindowContext

PROCESS_QUERY_LIMITED_INFORMATION = 0x1000
DWMWA_CLOAKED = 14
MAX_PATH_CHARS = 32768

# (hwnd, app, title, (left, top, right, bottom)) of one top-level window, as EnumWindows lists them
Row = tuple[int, str, str, tuple[int, int, int, int]]


def app_from_image_path(path: str) -> str:
    """``C:\\Program Files\\KeePassXC\\KeePassXC.exe`` -> ``keepassxc``; ``unknown`` for an empty path."""
    name = ntpath.basename(path.strip())
    if name.lower().endswith(".exe"):
        name = name[:-4]
    return name.lower() or "unknown"


def visible_from_top_down(rows: Iterable[Row], focused: int) -> list[VisibleWindow]:
    """EnumWindows' rows (top to bottom) as visible windows, bottom to top; empty rectangles dropped."""
    out = [
        VisibleWindow(app, title, left, top, right - left, bottom - top, hwnd == focused)
        for hwnd, app, title, (left, top, right, bottom) in rows
        if right > left and bottom > top
    ]
    out.reverse()
    return out


class _Api:
    """The user32/kernel32/dwmapi functions with their argument and result types."""

    def __init__(self) -> None:
        import ctypes
        from ctypes import wintypes

        self.ctypes, self.wt = ctypes, wintypes
        try:
            win_dll = ctypes.WinDLL  # type: ignore[attr-defined,unused-ignore]
            self.functype = ctypes.WINFUNCTYPE  # type: ignore[attr-defined,unused-ignore]
            u = self.user32 = win_dll("user32", use_last_error=True)
            k = self.kernel32 = win_dll("kernel32", use_last_error=True)
        except (AttributeError, OSError) as exc:
            raise ConfigError(
                f"the Windows window source needs user32 and kernel32, which this system lacks ({exc})"
            ) from exc
        try:
            self.dwmapi: Any = win_dll("dwmapi")
            self.dwmapi.DwmGetWindowAttribute.argtypes = [
                wintypes.HWND,
                wintypes.DWORD,
                ctypes.c_void_p,
                wintypes.DWORD,
            ]
            self.dwmapi.DwmGetWindowAttribute.restype = ctypes.c_long
        except OSError:
            self.dwmapi = None
        self.enum_proc = self.functype(wintypes.BOOL, wintypes.HWND, wintypes.LPARAM)
        u.GetForegroundWindow.argtypes, u.GetForegroundWindow.restype = [], wintypes.HWND
        u.GetWindowTextLengthW.argtypes, u.GetWindowTextLengthW.restype = [wintypes.HWND], ctypes.c_int
        u.GetWindowTextW.argtypes = [wintypes.HWND, wintypes.LPWSTR, ctypes.c_int]
        u.GetWindowTextW.restype = ctypes.c_int
        u.GetWindowThreadProcessId.argtypes = [wintypes.HWND, ctypes.POINTER(wintypes.DWORD)]
        u.GetWindowThreadProcessId.restype = wintypes.DWORD
        u.EnumWindows.argtypes, u.EnumWindows.restype = [self.enum_proc, wintypes.LPARAM], wintypes.BOOL
        u.IsWindowVisible.argtypes, u.IsWindowVisible.restype = [wintypes.HWND], wintypes.BOOL
        u.IsIconic.argtypes, u.IsIconic.restype = [wintypes.HWND], wintypes.BOOL
        u.GetWindowRect.argtypes = [wintypes.HWND, ctypes.POINTER(wintypes.RECT)]
        u.GetWindowRect.restype = wintypes.BOOL
        u.GetCursorPos.argtypes, u.GetCursorPos.restype = [ctypes.POINTER(wintypes.POINT)], wintypes.BOOL
        k.OpenProcess.argtypes = [wintypes.DWORD, wintypes.BOOL, wintypes.DWORD]
        k.OpenProcess.restype = wintypes.HANDLE
        k.QueryFullProcessImageNameW.argtypes = [
            wintypes.HANDLE,
            wintypes.DWORD,
            wintypes.LPWSTR,
            ctypes.POINTER(wintypes.DWORD),
        ]
        k.QueryFullProcessImageNameW.restype = wintypes.BOOL
        k.CloseHandle.argtypes, k.CloseHandle.restype = [wintypes.HANDLE], wintypes.BOOL


class Win32Windows:
    """Same interface as :class:`producers.x11.X11Windows`; ``display_name`` means nothing here."""

    def __init__(self, display_name: str | None = None, poll_interval: float = DEFAULT_INTERVAL_S) -> None:
        del display_name
        self._api = _Api()
        self._poller = FocusPoller(self.focused, poll_interval)

    def fileno(self) -> int:
        """A socket made readable at the poll rate (``select`` on Windows takes sockets only)."""
        return self._poller.fileno()

    def changed(self) -> bool:
        """Whether the focused window or its title changed (looked up at most once per poll interval)."""
        return self._poller.changed()

    def pointer(self) -> tuple[int, int]:
        """The pointer's position in virtual-screen coordinates."""
        point = self._api.wt.POINT()
        if not self._api.user32.GetCursorPos(self._api.ctypes.byref(point)):
            return 0, 0
        return int(point.x), int(point.y)

    def focused(self) -> WindowContext | None:
        """The foreground window now, or None (the desktop has it, or the screen is locked)."""
        hwnd = self._api.user32.GetForegroundWindow()
        if not hwnd:
            return None
        return WindowContext(self._app(int(hwnd), {}), self._title(int(hwnd)), int(hwnd))

    def visible(self) -> list[VisibleWindow]:
        """Visible, not minimised, not cloaked top-level windows, bottom to top."""
        api = self._api
        hwnds: list[int] = []

        def collect(hwnd: Any, _lparam: Any) -> bool:
            if hwnd:
                hwnds.append(int(hwnd))
            return True

        api.user32.EnumWindows(api.enum_proc(collect), 0)
        fg = api.user32.GetForegroundWindow()
        apps: dict[int, str] = {}
        rows: list[Row] = []
        for hwnd in hwnds:
            if not api.user32.IsWindowVisible(hwnd) or api.user32.IsIconic(hwnd) or self._cloaked(hwnd):
                continue
            rect = api.wt.RECT()
            if not api.user32.GetWindowRect(hwnd, api.ctypes.byref(rect)):
                continue  # the window went away meanwhile
            box = (int(rect.left), int(rect.top), int(rect.right), int(rect.bottom))
            rows.append((hwnd, self._app(hwnd, apps), self._title(hwnd), box))
        return visible_from_top_down(rows, int(fg or 0))

    def close(self) -> None:
        self._poller.close()

    def _title(self, hwnd: int) -> str:
        user32 = self._api.user32
        length = int(user32.GetWindowTextLengthW(hwnd))
        if length <= 0:
            return ""
        buf = self._api.ctypes.create_unicode_buffer(length + 1)
        user32.GetWindowTextW(hwnd, buf, length + 1)
        return str(buf.value)

    def _app(self, hwnd: int, cache: dict[int, str]) -> str:
        api = self._api
        pid = api.wt.DWORD()
        api.user32.GetWindowThreadProcessId(hwnd, api.ctypes.byref(pid))
        if not pid.value:
            return "unknown"
        if pid.value in cache:
            return cache[pid.value]
        handle = api.kernel32.OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, False, pid.value)
        app = "unknown"
        if handle:
            try:
                buf = api.ctypes.create_unicode_buffer(MAX_PATH_CHARS)
                size = api.wt.DWORD(MAX_PATH_CHARS)
                if api.kernel32.QueryFullProcessImageNameW(handle, 0, buf, api.ctypes.byref(size)):
                    app = app_from_image_path(str(buf.value))
            finally:
                api.kernel32.CloseHandle(handle)
        cache[pid.value] = app
        return app

    def _cloaked(self, hwnd: int) -> bool:
        api = self._api
        if api.dwmapi is None:
            return False
        value = api.wt.DWORD()
        hr = api.dwmapi.DwmGetWindowAttribute(hwnd, DWMWA_CLOAKED, api.ctypes.byref(value), api.ctypes.sizeof(value))
        return bool(hr == 0 and value.value != 0)
