"""A labelled set of screen frames for screen redaction, generated at run time from a fixed seed.

Screens of 1280x800 (screen pixels) hold windows with title bars and text in light and dark
themes, fonts from 9 to 24 px (DejaVu Sans), rendered at screen resolution and sent the way
the agent sends them to the screens stage: at full scale (1.0), JPEG-encoded at quality 70
(the stream redacts at full resolution and stores the frame downsized to 0.5). Every visible
token carries its box in screen pixels and its label (a PII label, ``DENIED`` inside a denied
window, or ``None`` for plain words).

Single screens are random layouts; sequences are realistic: filling a form, typing in a chat,
scrolling a mail list, switching windows (with a password manager among them). For typed PII,
the frames' ``known`` strings are what the clean stage would have found in the typed text by
then (a value counts as known once typed in full). No binary file is stored in the repository.
"""

from __future__ import annotations

import functools
import io
import random
from dataclasses import dataclass, field

from PIL import Image, ImageDraw, ImageFont

from schemas.events import VisibleWindow
from streams.core.screens.geometry import Box

SCREEN = (1280, 800)
QUALITY = 70
TITLE_BAR = 24
FONT_PATHS = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/TTF/DejaVuSans.ttf")

FIRST = ("Maria", "James", "Olivia", "Robert", "Sophie", "David", "Emma", "Thomas", "Laura", "Daniel")
LAST = ("Garcia", "Smith", "Brown", "Johnson", "Miller", "Wilson", "Taylor", "Anderson", "Martin", "Clark")
DOMAINS = ("example.com", "acme-corp.io", "mail.example.org", "contoso.net")
WORDS = (
    "invoice", "meeting", "project", "report", "budget", "review", "status", "deploy", "server",
    "release", "quarter", "planning", "design", "update", "schedule", "customer", "ticket", "support",
    "account", "payment", "shipping", "order", "summary", "details", "network", "backup", "window",
    "message", "folder", "settings", "thanks", "please", "tomorrow", "monday", "agenda", "draft",
)  # fmt: skip

Part = tuple[str, str | None]  # (text, label)


@dataclass(frozen=True)
class Token:
    text: str
    label: str | None
    box: Box  # screen pixels (= image pixels of the full-scale frame)


@dataclass(frozen=True)
class Frame:
    jpeg: bytes  # full scale, as the agent sends it
    windows: tuple[VisibleWindow, ...]
    tokens: tuple[Token, ...]
    known: tuple[str, ...]
    width: int
    height: int


@dataclass(frozen=True)
class Clip:
    """One single screen (one frame) or one sequence of frames of one device."""

    name: str
    kind: str  # "single" or "sequence"
    frames: tuple[Frame, ...]


@dataclass
class Win:
    app: str
    title: str
    x: int
    y: int
    w: int
    h: int
    dark: bool
    font: int
    lines: list[list[Part]] = field(default_factory=list)
    scroll: int = 0  # screen pixels the content is scrolled up
    denied: bool = False


@functools.cache
def font(size: int) -> ImageFont.FreeTypeFont:
    for path in FONT_PATHS:
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            continue
    raise SystemExit("DejaVu Sans is needed: apt-get install fonts-dejavu-core")


def _luhn_digit(digits: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return str((10 - total % 10) % 10)


class Fake:
    """PII values from a seeded generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def person(self) -> str:
        return f"{self.rng.choice(FIRST)} {self.rng.choice(LAST)}"

    def email(self) -> str:
        return f"{self.rng.choice(FIRST)}.{self.rng.choice(LAST)}@{self.rng.choice(DOMAINS)}".lower()

    def card(self) -> str:
        body = "4" + "".join(self.rng.choice("0123456789") for _ in range(14))
        digits = body + _luhn_digit(body)
        return " ".join(digits[i : i + 4] for i in range(0, 16, 4))

    def iban(self) -> str:
        bban = "WEST" + "".join(self.rng.choice("0123456789") for _ in range(14))
        numeric = "".join(str(int(c, 36)) for c in bban + "GB00")
        check = 98 - int(numeric) % 97
        raw = f"GB{check:02d}{bban}"
        return " ".join(raw[i : i + 4] for i in range(0, len(raw), 4))

    def phone(self) -> str:
        return f"+44 20 7946 0{self.rng.randint(100, 999)}"

    def pii(self) -> Part:
        label = self.rng.choice(("EMAIL", "EMAIL", "CARD", "PERSON", "PHONE", "IBAN"))
        value = getattr(self, label.lower())()
        return value, label

    def words(self, n: int) -> list[Part]:
        return [(self.rng.choice(WORDS), None) for _ in range(n)]


def _colors(
    dark: bool,
) -> tuple[tuple[int, int, int], tuple[int, int, int], tuple[int, int, int], tuple[int, int, int]]:
    """Body background, body text, title bar background, title text."""
    if dark:
        return (32, 33, 36), (225, 225, 220), (52, 52, 56), (235, 235, 235)
    return (250, 250, 248), (28, 28, 30), (222, 222, 226), (20, 20, 24)


def render(wins: list[Win], known: tuple[str, ...] = ()) -> Frame:
    """Draw ``wins`` bottom to top; the last one has focus."""
    image = Image.new("RGB", SCREEN, (58, 76, 102))
    draw = ImageDraw.Draw(image)
    tokens: list[tuple[Token, int]] = []  # with the index of the window that drew it
    rects = [Box(w.x, w.y, w.x + w.w, w.y + w.h) for w in wins]
    for index, win in enumerate(wins):
        body_bg, body_fg, bar_bg, bar_fg = _colors(win.dark)
        draw.rectangle((win.x, win.y, win.x + win.w - 1, win.y + win.h - 1), fill=body_bg)
        draw.rectangle((win.x, win.y, win.x + win.w - 1, win.y + TITLE_BAR - 1), fill=bar_bg)
        title_font = font(13)
        tx: float = win.x + 10
        for word in win.title.split(" "):
            bbox = draw.textbbox((tx, win.y + 5), word, font=title_font)
            if bbox[2] > win.x + win.w - 8:
                break
            draw.text((tx, win.y + 5), word, font=title_font, fill=bar_fg)
            tokens.append((Token(word, "DENIED" if win.denied else None, _box(bbox)), index))
            tx = bbox[2] + title_font.getlength(" ")
        body = Box(win.x + 1, win.y + TITLE_BAR + 2, win.x + win.w - 1, win.y + win.h - 1)
        layer = Image.new("RGB", (body.width, body.height), body_bg)
        layer_draw = ImageDraw.Draw(layer)
        f = font(win.font)
        step = round(win.font * 1.6)
        for row, parts in enumerate(win.lines):
            y = 8 + row * step - win.scroll
            x = 10.0
            for text, label in parts:
                width = f.getlength(text)
                if x + width > body.width - 8:
                    break
                layer_draw.text((x, y), text, font=f, fill=body_fg)
                bbox = layer_draw.textbbox((x, y), text, font=f)
                screen_box = (bbox[0] + body.x0, bbox[1] + body.y0, bbox[2] + body.x0, bbox[3] + body.y0)
                if bbox[1] >= 0 and bbox[3] <= body.height:
                    shown = "DENIED" if win.denied else label
                    tokens.append((Token(text, shown, _box(screen_box)), index))
                x += width + f.getlength(" ")
        image.paste(layer, (body.x0, body.y0))
    visible = [token for token, index in tokens if not any(r.intersects(token.box) for r in rects[index + 1 :])]
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=QUALITY)
    windows = tuple(  # a browser window carries the host its extension reported (else the policy denies it)
        VisibleWindow(
            w.app,
            w.title,
            w.x,
            w.y,
            w.w,
            w.h,
            i == len(wins) - 1,
            "crm.example-corp.com" if w.app == "firefox" else None,
        )
        for i, w in enumerate(wins)
    )
    return Frame(out.getvalue(), windows, tuple(visible), known, image.width, image.height)


def _box(bbox: tuple[float, float, float, float]) -> Box:
    return Box(int(bbox[0]), int(bbox[1]), -int(-bbox[2] // 1), -int(-bbox[3] // 1))


def _text_lines(fake: Fake, n: int, pii_share: float = 0.35) -> list[list[Part]]:
    lines = []
    for _ in range(n):
        parts = fake.words(fake.rng.randint(2, 5))
        if fake.rng.random() < pii_share:
            parts.insert(fake.rng.randint(0, len(parts)), fake.pii())
        lines.append(parts)
    return lines


def single_screens(fake: Fake, n: int) -> list[Clip]:
    rng = fake.rng
    clips = []
    for i in range(n):
        wins = []
        for _ in range(rng.randint(1, 3)):
            w, h = rng.randint(420, 900), rng.randint(260, 600)
            x, y = rng.randint(0, SCREEN[0] - w), rng.randint(0, SCREEN[1] - h)
            size = rng.choice((9, 10, 11, 12, 13, 14, 16, 18, 20, 24))
            app = rng.choice(("firefox", "thunderbird", "xterm", "libreoffice", "slack"))
            wins.append(Win(app, f"{rng.choice(WORDS)} - {app}", x, y, w, h, rng.random() < 0.5, size))
            wins[-1].lines = _text_lines(fake, h // round(size * 1.6))
        if rng.random() < 0.3:
            wins.insert(0, _password_manager(fake, 40, 60))
        clips.append(Clip(f"single-{i}", "single", (render(wins),)))
    return clips


def _password_manager(fake: Fake, x: int, y: int) -> Win:
    win = Win("keepassxc", "Passwords.kdbx - KeePassXC", x, y, 520, 300, False, 13, denied=True)
    win.lines = [[("Entry", None), (fake.email(), "EMAIL")], [("secret", None), ("hunter2hunter", "PASSWORD")]]
    return win


def _typing(fake: Fake, fields: list[tuple[str, Part]], chunk: int) -> list[tuple[list[list[Part]], tuple[str, ...]]]:
    """Frames of a person filling ``fields`` (label, value) ``chunk`` characters at a time."""
    states = []
    for index, (name, (value, label)) in enumerate(fields):
        for end in [*range(chunk, len(value), chunk), len(value)]:
            lines: list[list[Part]] = [[(n + ":", None), v] for n, v in fields[:index]]
            lines.append([(name + ":", None), (value[:end] + "|", label)])
            known = tuple(v for _, (v, lab) in fields[:index] if lab is not None)
            states.append((lines, known))
    return states


def form_sequence(fake: Fake, dark: bool, frames: int) -> Clip:
    fields = [
        ("Name", (fake.person(), "PERSON")),
        ("Email", (fake.email(), "EMAIL")),
        ("Card", (fake.card(), "CARD")),
        ("Comment", (" ".join(w for w, _ in fake.words(3)), None)),
    ]
    term = Win("xterm", "user@host: ~", 700, 420, 560, 340, True, 12)
    term.lines = [
        [("$", None), ("cat", None), ("contacts.txt", None)],
        [(fake.email(), "EMAIL")],
        *_text_lines(fake, 8),
    ]
    form = Win("firefox", "Expense claim - Firefox", 60, 60, 760, 420, dark, 13)
    out = []
    for lines, known in _typing(fake, fields, 6)[:frames]:
        form.lines = [[("Expense", None), ("claim", None), ("details", None)], *lines]
        out.append(render([term, form], known))
    return Clip(f"form-{'dark' if dark else 'light'}", "sequence", tuple(out))


def chat_sequence(fake: Fake, dark: bool, frames: int) -> Clip:
    history: list[list[Part]] = [[(fake.rng.choice(FIRST) + ":", "PERSON"), *fake.words(4)] for _ in range(8)]
    chat = Win("slack", "general - Slack", 200, 80, 820, 560, dark, 14)
    out: list[Frame] = []
    known: list[str] = []
    while len(out) < frames:
        pii = fake.pii()
        message: list[Part] = [*fake.words(2), pii, *fake.words(1)]
        text = " ".join(t for t, _ in message)
        for end in [*range(5, len(text), 5), len(text)]:
            typed = text[:end]
            chat.lines = [*history[-12:], [], [("Message:", None), *_typed_parts(message, typed)]]
            out.append(render([chat], tuple(known)))
            if len(out) >= frames:
                break
        known.append(pii[0])
        history.append([("Me:", None), *message])
    return Clip(f"chat-{'dark' if dark else 'light'}", "sequence", tuple(out))


def _typed_parts(message: list[Part], typed: str) -> list[Part]:
    parts, pos = [], 0
    for text, label in message:
        if pos >= len(typed):
            break
        parts.append((typed[pos : pos + len(text)], label))
        pos += len(text) + 1
    return parts


def mail_sequence(fake: Fake, dark: bool, frames: int) -> Clip:
    rows: list[list[Part]] = []
    for _ in range(60):
        rows.append([(fake.person(), "PERSON"), (fake.email(), "EMAIL"), *fake.words(3)])
    mail = Win("thunderbird", "Inbox - Thunderbird", 0, 0, 1280, 800, dark, 13)
    mail.lines = rows
    out = []
    for i in range(frames):
        mail.scroll = i * 3 * round(13 * 1.6)  # three rows per wheel step
        out.append(render([mail]))
    return Clip(f"mail-{'dark' if dark else 'light'}", "sequence", tuple(out))


def switch_sequence(fake: Fake, dark: bool, frames: int) -> Clip:
    a = Win("libreoffice", "report.odt - LibreOffice", 40, 40, 700, 500, not dark, 14, _text_lines(fake, 12))
    b = Win("firefox", "CRM - Firefox", 420, 180, 820, 560, dark, 12, _text_lines(fake, 16))
    c = _password_manager(fake, 300, 300)
    stack = [a, b, c]
    out = []
    for i in range(frames):
        if i % 3 == 2:
            stack.append(stack.pop(0))  # raise the bottom window
        else:
            stack[-1].lines[-1] = [*stack[-1].lines[-1], *fake.words(1)]
        out.append(render(list(stack)))
    return Clip(f"switch-{'dark' if dark else 'light'}", "sequence", tuple(out))


def corpus(quick: bool = False, seed: int = 12) -> list[Clip]:
    """Single screens and sequences, light and dark; ``quick`` for a small run."""
    fake = Fake(random.Random(seed))
    frames = 5 if quick else 12
    clips = single_screens(fake, 3 if quick else 12)
    for dark in (False, True) if not quick else (fake.rng.random() < 0.5,):
        clips += [
            form_sequence(fake, dark, frames),
            chat_sequence(fake, not dark, frames),
            mail_sequence(fake, dark, frames),
            switch_sequence(fake, not dark, frames),
        ]
    return clips
