"""Raw input as the listener callbacks enqueue it, and key bookkeeping (pure core).

Callbacks on pynput's threads only build one of these small frozen values and put it on
a queue; everything else happens on the agent's pipeline thread. Times are POSIX seconds
(wall clock, UTC) taken in the callback.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MODIFIER_NAMES: dict[str, str] = {
    "shift": "shift",
    "shift_l": "shift",
    "shift_r": "shift",
    "ctrl": "ctrl",
    "ctrl_l": "ctrl",
    "ctrl_r": "ctrl",
    "alt": "alt",
    "alt_l": "alt",
    "alt_r": "alt",
    "alt_gr": "alt",
    "cmd": "super",
    "cmd_l": "super",
    "cmd_r": "super",
}
SPECIAL_CHARS: dict[str, str] = {"space": " ", "enter": "\n", "tab": "\t"}


@dataclass(frozen=True)
class RawKey:
    t: float
    pressed: bool
    key: str  # a special key's name (enter, shift_l) or the character itself
    char: str | None = None


@dataclass(frozen=True)
class RawButton:
    t: float
    button: str
    pressed: bool
    x: int
    y: int


@dataclass(frozen=True)
class RawScroll:
    t: float
    x: int
    y: int
    dx: int
    dy: int  # positive scrolls down


@dataclass(frozen=True)
class RawMove:
    t: float
    x: int
    y: int


RawInput = RawKey | RawButton | RawScroll | RawMove


@dataclass
class KeyState:
    """Which keys and modifiers are held, to mark auto-repeat and list modifiers.

    X reports the release of a shifted symbol under its unshifted name (``!`` goes down,
    ``1`` comes up), so a release that matches no held key releases the newest held
    non-modifier key.
    """

    held: list[str] = field(default_factory=list)
    caps_lock: bool = False

    def press(self, key: str) -> tuple[bool, tuple[str, ...]]:
        """Record a press; returns (is_repeat, modifiers held besides this key)."""
        mods = self.modifiers(exclude=key)
        name = key.lower()
        if name == "caps_lock":
            self.caps_lock = not self.caps_lock
        repeat = name in self.held
        if not repeat:
            self.held.append(name)
        return repeat, mods

    def release(self, key: str) -> tuple[str, ...]:
        name = key.lower()
        if name in self.held:
            self.held.remove(name)
        else:
            for i in range(len(self.held) - 1, -1, -1):
                if self.held[i] not in MODIFIER_NAMES:
                    del self.held[i]
                    break
        return self.modifiers(exclude=key)

    def modifiers(self, exclude: str = "") -> tuple[str, ...]:
        mods = {MODIFIER_NAMES[k] for k in self.held if k in MODIFIER_NAMES and k != exclude.lower()}
        if self.caps_lock:
            mods.add("caps_lock")
        return tuple(sorted(mods))
