"""Synthetic devices: realistic, seeded streams of interaction events and frame requests (pure core).

Each simulated person works in a few apps: focuses a window, moves the mouse to a spot,
clicks, types a sentence (sometimes with an email, a phone number or a card number in it),
scrolls. The output is what a real agent would publish, in event-time order per device,
including the ``TypingPause`` marker ``TYPING_PAUSE_S`` after the last key press when no
other press came in between (and no focus change).
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from schemas.events import (
    TYPING_PAUSE_S,
    InteractionEvent,
    KeyEvent,
    MouseButton,
    MouseMove,
    MouseScroll,
    Payload,
    TypingPause,
    WindowContext,
    WindowFocus,
)
from schemas.pseudonym import device_pseudonym, user_pseudonym

SCREEN_W, SCREEN_H = 1920, 1080
FIRST = ["alice", "bruno", "chen", "dara", "emil", "farah", "gita", "hugo", "ines", "jonas"]
LAST = ["martin", "okafor", "nguyen", "schmidt", "rossi", "kowalski", "silva", "haddad"]
APPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "firefox",
        ("Inbox - Mail - Mozilla Firefox", "Quarterly report - Docs - Mozilla Firefox", "Jira board - Mozilla Firefox"),
    ),
    ("code", ("main.py - billing - Visual Studio Code", "README.md - infra - Visual Studio Code")),
    ("gnome-terminal-server", ("Terminal", "ssh deploy@build-01")),
    ("libreoffice-calc", ("expenses-2026.ods - LibreOffice Calc",)),
    ("slack", ("Slack | #support | Acme",)),
)
BROWSER_HOSTS = {  # the host the browser extension reports for each browser title above
    "Inbox - Mail - Mozilla Firefox": "mail.example-corp.com",
    "Quarterly report - Docs - Mozilla Firefox": "docs.example-corp.com",
    "Jira board - Mozilla Firefox": "jira.example-corp.com",
}
PHRASES = (
    "thanks for the update, I will check it today",
    "please send the invoice to {email}",
    "call me back at {phone} when you can",
    "git status && git pull --rebase",
    "the card ending {card} was charged twice",
    "meeting moved to thursday 10:00",
    "ls -la /var/log | grep error",
    "=SUM(B2:B14)",
    "looks good to me, merging",
)
SHIFTED = {
    '"': "'",
    "!": "1",
    "@": "2",
    "#": "3",
    "$": "4",
    "%": "5",
    "^": "6",
    "&": "7",
    "*": "8",
    "(": "9",
    ")": "0",
    "_": "-",
    "+": "=",
    ":": ";",
    "<": ",",
    ">": ".",
    "?": "/",
    "|": "\\",
    "{": "[",
    "}": "]",
    "~": "`",
}
KEY_NAMES = {" ": "space", "\n": "enter", "\t": "tab"}


@dataclass(frozen=True)
class Profile:
    """How a simulated person works: how often they switch windows, type and scroll, and how long
    they sit still (reading, thinking) between two bursts of activity."""

    name: str
    idle_ms: tuple[float, float]  # between two activities, uniformly
    switch: float  # chance an activity starts in another window
    typing: float  # chance an activity types a phrase after its click
    scroll: float  # chance it scrolls instead (when it does not type)
    long_idle: float = 0.0  # chance of a long pause (a call, a document to read) after an activity
    long_idle_s: tuple[float, float] = (30.0, 120.0)


BUSY = Profile("busy", (300, 2500), switch=0.15, typing=0.6, scroll=0.625)
TYPICAL = Profile("typical", (1500, 12000), switch=0.1, typing=0.4, scroll=0.5, long_idle=0.05)
PROFILES = {p.name: p for p in (BUSY, TYPICAL)}


@dataclass(frozen=True)
class Person:
    name: str
    host: str
    user_id: str
    device_id: str


@dataclass(frozen=True)
class FrameRequest:
    """The simulated agent would take a screenshot here."""

    device_id: str
    user_id: str
    seq: int
    event_time: datetime
    trigger: str
    context: WindowContext
    pointer: tuple[int, int]


Emitted = InteractionEvent | FrameRequest


def people(count: int, key: bytes, rng: random.Random, tag: str = "") -> list[Person]:
    """``count`` people with their devices; a ``tag`` (a run's name) makes them differ from every other run's."""
    out = []
    for i in range(count):
        name = f"{rng.choice(FIRST)}.{rng.choice(LAST)}{i}{'-' + tag if tag else ''}"
        host = f"ws-{name.replace('.', '-')}.corp.example"
        out.append(Person(name, host, user_pseudonym(key, name), device_pseudonym(key, host)))
    return out


@dataclass
class _Device:
    person: Person
    rng: random.Random
    now: datetime
    seq: int = 0
    pointer: tuple[int, int] = (SCREEN_W // 2, SCREEN_H // 2)
    context: WindowContext | None = None
    last_keyframe: datetime | None = None
    last_press: datetime | None = None  # the last key press not yet followed by a TypingPause
    out: list[Emitted] = field(default_factory=list)

    def emit(self, payload: Payload, dt_ms: float) -> None:
        self._pause_before(self.now + timedelta(milliseconds=dt_ms))
        self.now += timedelta(milliseconds=dt_ms)
        self._event(self.now, payload)
        if isinstance(payload, KeyEvent) and payload.pressed:
            self.last_press = self.now
        elif isinstance(payload, WindowFocus):
            self.last_press = None

    def _pause_before(self, t: datetime) -> None:
        """The agent's TypingPause, if it falls before ``t``."""
        pause = timedelta(seconds=TYPING_PAUSE_S)
        if self.last_press is not None and t - self.last_press >= pause:
            self._event(self.last_press + pause, TypingPause(round(TYPING_PAUSE_S * 1000)))
            self.last_press = None

    def _event(self, t: datetime, payload: Payload) -> None:
        self.seq += 1
        self.out.append(
            InteractionEvent(self.person.device_id, self.person.user_id, self.seq, t, payload, self.context, 60)
        )

    def frame(self, trigger: str) -> None:
        if self.context is None:
            return
        self._pause_before(self.now)
        self.seq += 1
        self.out.append(
            FrameRequest(
                self.person.device_id, self.person.user_id, self.seq, self.now, trigger, self.context, self.pointer
            )
        )
        self.last_keyframe = self.now


def simulate(
    persons: list[Person], start: datetime, duration_s: float, seed: int, profile: Profile = BUSY
) -> Iterator[Emitted]:
    """Every device's events and frame requests within ``duration_s``, merged in event-time order."""
    streams = [_device_stream(p, start, duration_s, random.Random(f"{seed}:{p.device_id}"), profile) for p in persons]
    yield from heapq.merge(*streams, key=lambda e: e.event_time)


def events_per_second(profile: Profile, seed: int = 1, devices: int = 8, duration_s: float = 900.0) -> float:
    """The mean rate of interaction events one simulated device of ``profile`` publishes."""
    persons = people(devices, b"rate", random.Random(seed))
    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    events = sum(1 for e in simulate(persons, start, duration_s, seed, profile) if isinstance(e, InteractionEvent))
    return events / devices / duration_s


def _device_stream(
    person: Person, start: datetime, duration_s: float, rng: random.Random, profile: Profile
) -> Iterator[Emitted]:
    dev = _Device(person, rng, start + timedelta(milliseconds=rng.uniform(0, 500)))
    end = start + timedelta(seconds=duration_s)
    while dev.now < end:
        _activity(dev, profile)
        kept = [e for e in dev.out if e.event_time < end]
        yield from kept
        dev.out.clear()


def _activity(dev: _Device, profile: Profile) -> None:
    rng = dev.rng
    if dev.context is None or rng.random() < profile.switch:
        app, titles = rng.choice(APPS)
        previous = dev.context.app if dev.context else None
        title = rng.choice(titles)
        dev.context = WindowContext(app, title, rng.randrange(1, 1 << 24), BROWSER_HOSTS.get(title))
        dev.emit(WindowFocus(previous), rng.uniform(200, 800))
        dev.frame("focus")
    target = (rng.randrange(40, SCREEN_W - 40), rng.randrange(60, SCREEN_H - 40))
    _move(dev, target)
    dev.frame("click")
    dev.emit(MouseButton("left", True, *target), rng.uniform(50, 150))
    dev.emit(MouseButton("left", False, *target), rng.uniform(60, 120))
    roll = rng.random()
    if roll < profile.typing:
        dev.frame("typing")
        _type(dev, _phrase(rng) + ("\n" if rng.random() < 0.5 else ""))
    elif roll < profile.typing + (1 - profile.typing) * profile.scroll:
        for _ in range(rng.randrange(1, 6)):
            dev.emit(MouseScroll(*dev.pointer, 0, rng.choice((1, 1, -1))), rng.uniform(40, 120))
    if dev.last_keyframe is None or (dev.now - dev.last_keyframe) > timedelta(seconds=10):
        dev.frame("keyframe")
    dev.now += timedelta(milliseconds=rng.uniform(*profile.idle_ms))
    if profile.long_idle and rng.random() < profile.long_idle:
        dev.now += timedelta(seconds=rng.uniform(*profile.long_idle_s))


def _move(dev: _Device, target: tuple[int, int]) -> None:
    (x0, y0), (x1, y1) = dev.pointer, target
    steps = dev.rng.randrange(4, 12)
    for i in range(1, steps + 1):
        dev.pointer = (x0 + (x1 - x0) * i // steps, y0 + (y1 - y0) * i // steps)
        dev.emit(MouseMove(*dev.pointer), 50)  # coalesced at ~20 Hz like the agent


def _type(dev: _Device, text: str) -> None:
    for ch in text:
        key, mods = _key_for(ch)
        dev.emit(KeyEvent(True, key, ch if ch not in KEY_NAMES else None, mods), dev.rng.uniform(60, 220))
        dev.emit(KeyEvent(False, key, None, mods), dev.rng.uniform(30, 90))


def _key_for(ch: str) -> tuple[str, tuple[str, ...]]:
    if ch in KEY_NAMES:
        return KEY_NAMES[ch], ()
    if ch.isupper():
        return ch.lower(), ("shift",)
    if ch in SHIFTED:
        return SHIFTED[ch], ("shift",)
    return ch, ()


def _phrase(rng: random.Random) -> str:
    phrase = rng.choice(PHRASES)
    return phrase.format(
        email=f"{rng.choice(FIRST)}.{rng.choice(LAST)}@example.com",
        phone=f"+1 415 555 {rng.randrange(1000, 9999)}",
        card=rng.choice(("4111 1111 1111 1111", "5500-0000-0000-0004", "1111")),
    )
