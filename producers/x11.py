"""The focused window and the visible windows of an X11 session, through python-xlib and EWMH (edge).

The app is the class part of ``WM_CLASS``, lower-cased (``xterm``, ``firefox``); the title
is ``_NET_WM_NAME`` (UTF-8), else ``WM_NAME``. Visible windows come from
``_NET_CLIENT_LIST_STACKING`` (bottom to top) with their rectangles in root coordinates.
Windows can vanish between two requests: such windows are skipped, never an error.

Focus changes are pushed, not polled: the root window's and the focused window's
``PropertyNotify`` events (``_NET_ACTIVE_WINDOW``, titles) arrive on this connection, whose
:meth:`X11Windows.fileno` the agent's loop waits on; :meth:`X11Windows.changed` says whether
the focused window or its title may have changed since the last call.

The pointer is asked for at up to 20 Hz while it moves, so :meth:`X11Windows.pointer` calls
libX11's ``XQueryPointer`` through ctypes on a connection of its own (a quarter of the time
python-xlib takes to build and parse the same request in Python), and falls back to
python-xlib where libX11 cannot be loaded.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from typing import Any

from Xlib import X, Xatom
from Xlib import display as xdisplay
from Xlib.error import CatchError, DisplayError, XError

from schemas.errors import ConfigError
from schemas.events import VisibleWindow, WindowContext

_WINDOW, _INT = ctypes.c_ulong, ctypes.c_int


class _LibX11Pointer:
    """``XQueryPointer`` on the root window of a libX11 connection of its own (ctypes)."""

    def __init__(self, display_name: str | None) -> None:
        path = ctypes.util.find_library("X11")
        if path is None:
            raise OSError("libX11 not found")
        x = ctypes.cdll.LoadLibrary(path)
        x.XOpenDisplay.restype, x.XOpenDisplay.argtypes = ctypes.c_void_p, [ctypes.c_char_p]
        x.XDefaultRootWindow.restype, x.XDefaultRootWindow.argtypes = _WINDOW, [ctypes.c_void_p]
        x.XCloseDisplay.argtypes = [ctypes.c_void_p]
        out_window, out_int = ctypes.POINTER(_WINDOW), ctypes.POINTER(_INT)
        x.XQueryPointer.argtypes = [ctypes.c_void_p, _WINDOW, out_window, out_window, *[out_int] * 4]
        x.XQueryPointer.argtypes.append(ctypes.POINTER(ctypes.c_uint))
        dpy = x.XOpenDisplay(display_name.encode() if display_name else None)
        if not dpy:
            raise OSError(f"libX11 cannot open the display {display_name or '$DISPLAY'}")
        self._x, self._dpy = x, dpy
        self._x_out, self._y_out = _INT(), _INT()
        self._args = (
            dpy,
            x.XDefaultRootWindow(dpy),
            ctypes.byref(_WINDOW()),
            ctypes.byref(_WINDOW()),
            ctypes.byref(self._x_out),
            ctypes.byref(self._y_out),
            ctypes.byref(_INT()),
            ctypes.byref(_INT()),
            ctypes.byref(ctypes.c_uint()),
        )

    def position(self) -> tuple[int, int]:
        self._x.XQueryPointer(*self._args)
        return self._x_out.value, self._y_out.value

    def close(self) -> None:
        self._x.XCloseDisplay(self._dpy)


class X11Windows:
    def __init__(self, display_name: str | None = None) -> None:
        try:
            self._d = xdisplay.Display(display_name)
        except (DisplayError, OSError) as exc:
            raise ConfigError(
                f"cannot open the X display {display_name or '$DISPLAY'} ({exc}); run the agent inside the "
                "person's X session (DISPLAY set), e.g. as the systemd user unit"
            ) from exc
        self._root = self._d.screen().root
        atom = self._d.intern_atom
        self._active = atom("_NET_ACTIVE_WINDOW")
        self._stacking = atom("_NET_CLIENT_LIST_STACKING")
        self._wm_name = atom("_NET_WM_NAME")
        self._utf8 = atom("UTF8_STRING")
        self._state = atom("_NET_WM_STATE")
        self._hidden = atom("_NET_WM_STATE_HIDDEN")
        self._watched = {self._active, self._wm_name, Xatom.WM_NAME, Xatom.WM_CLASS}
        self._watching = 0  # the focused window whose property changes we receive
        self._root.change_attributes(event_mask=X.PropertyChangeMask)
        self._d.flush()
        try:
            self._pointer: _LibX11Pointer | None = _LibX11Pointer(display_name)
        except OSError:
            self._pointer = None

    def fileno(self) -> int:
        """Readable when the X server sent events (property changes) to this connection."""
        return int(self._d.fileno())

    def changed(self) -> bool:
        """Whether a focus or title change arrived since the last call (reads pending events)."""
        changed = False
        while self._d.pending_events():
            event = self._d.next_event()
            if event.type == X.PropertyNotify and event.atom in self._watched:
                changed = True
        return changed

    def pointer(self) -> tuple[int, int]:
        """The pointer's position in root coordinates."""
        if self._pointer is not None:
            return self._pointer.position()
        reply = self._root.query_pointer()
        return int(reply.root_x), int(reply.root_y)

    def focused(self) -> WindowContext | None:
        """The window that has the focus now, or None (the desktop, or no window manager)."""
        wid = self._window_prop(self._root, self._active)
        self._watch(wid)
        if not wid:
            return None
        try:
            win = self._d.create_resource_object("window", wid)
            return WindowContext(self._app(win), self._title(win), wid)
        except XError:
            return None

    def visible(self) -> list[VisibleWindow]:
        """Mapped, not minimised client windows, bottom to top, in root coordinates."""
        focused = self._window_prop(self._root, self._active)
        prop = self._root.get_full_property(self._stacking, Xatom.WINDOW)
        out: list[VisibleWindow] = []
        for wid in prop.value if prop is not None else ():
            try:
                win = self._d.create_resource_object("window", int(wid))
                if win.get_attributes().map_state != X.IsViewable or self._is_hidden(win):
                    continue
                geo = win.get_geometry()
                pos = self._root.translate_coords(win, 0, 0)
                out.append(
                    VisibleWindow(
                        self._app(win), self._title(win), pos.x, pos.y, geo.width, geo.height, int(wid) == focused
                    )
                )
            except XError:
                continue
        return out

    def close(self) -> None:
        if self._pointer is not None:
            self._pointer.close()
        self._d.close()

    def _watch(self, wid: int) -> None:
        """Receive the title changes of window ``wid`` (and no longer those of the previous one)."""
        if wid == self._watching:
            return
        for old, mask in ((self._watching, X.NoEventMask), (wid, X.PropertyChangeMask)):
            if old:
                self._d.create_resource_object("window", old).change_attributes(event_mask=mask, onerror=CatchError())
        self._watching = wid
        self._d.flush()

    def _window_prop(self, win: Any, atom: int) -> int:
        try:
            prop = win.get_full_property(atom, Xatom.WINDOW)
        except XError:
            return 0
        return int(prop.value[0]) if prop is not None and len(prop.value) else 0

    def _app(self, win: Any) -> str:
        cls = win.get_wm_class()
        if not cls:
            return "unknown"
        instance, klass = cls
        return str(klass or instance).lower()

    def _title(self, win: Any) -> str:
        prop = win.get_full_property(self._wm_name, self._utf8)
        if prop is not None and prop.value:
            value = prop.value
            return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        name = win.get_wm_name()
        return name.decode("latin-1") if isinstance(name, bytes) else str(name or "")

    def _is_hidden(self, win: Any) -> bool:
        prop = win.get_full_property(self._state, Xatom.ATOM)
        return prop is not None and self._hidden in prop.value
