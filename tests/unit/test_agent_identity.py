"""Identity scrubbing on the device: real names out of window titles and out of typed text."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from producers.core.identity import Identities, TypedIdentities
from schemas.events import InteractionEvent, KeyEvent, MouseButton, VisibleWindow, WindowContext

ME = Identities("jdoe4711", "ws-4711.corp.example", ("Jane.Doe@example.com",))


def test_user_host_and_email_become_placeholders() -> None:
    assert ME.scrub("jdoe4711@ws-4711: ~") == "<USER>@<HOST>: ~"
    assert ME.scrub("ssh JDOE4711@ws-4711.corp.example") == "ssh <USER>@<HOST>"
    assert ME.scrub("Inbox - jane.doe@example.com - Thunderbird") == "Inbox - <EMAIL> - Thunderbird"
    assert ME.scrub("/home/jdoe4711/notes.txt") == "/home/<USER>/notes.txt"


def test_names_inside_longer_words_are_left_alone() -> None:
    ann = Identities("ann", "")
    assert ann.scrub("annual report - ann") == "annual report - <USER>"
    assert ann.scrub("joanna") == "joanna"


def test_nothing_known_changes_nothing() -> None:
    assert Identities().scrub("jdoe@ws: ~") == "jdoe@ws: ~"


def test_contexts_and_visible_windows() -> None:
    ctx = WindowContext("xterm", "jdoe4711@ws-4711: ~", 3)
    assert ME.context(ctx) == WindowContext("xterm", "<USER>@<HOST>: ~", 3)
    assert ME.context(None) is None
    win = VisibleWindow("xterm", "jdoe4711@ws-4711: ~", 0, 0, 10, 10, True)
    assert ME.window(win).title == "<USER>@<HOST>: ~" and ME.window(win).focused


@given(st.text(max_size=60))
def test_scrubbing_is_idempotent_and_removes_every_name(title: str) -> None:
    once = ME.scrub(f"{title} jdoe4711 {title}")
    assert ME.scrub(once) == once
    assert "jdoe4711" not in ME.scrub(" jdoe4711 ").lower()


# --- the same names typed as text ------------------------------------------------------------

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def keys(text: str, start: int = 0) -> list[InteractionEvent]:
    """Press and release per character, 100 ms apart, as the recorder emits them."""
    out: list[InteractionEvent] = []
    for ch in text:
        name = {" ": "space", "\n": "enter", "\b": "backspace"}.get(ch, ch.lower())
        char = None if ch == "\b" else ch
        for pressed in (True, False):
            seq = start + len(out)
            payload = KeyEvent(pressed, name, char if pressed else None)
            out.append(InteractionEvent("d", "u", seq, T0 + timedelta(milliseconds=100 * seq), payload))
    return out


def through(typed: TypedIdentities, events: list[InteractionEvent], end: bool = True) -> list[InteractionEvent]:
    out = [e for event in events for e in typed.push(event)]
    return out + (typed.release() if end else [])


def text_of(events: list[InteractionEvent]) -> str:
    parts = []
    for e in events:
        k = e.payload
        if isinstance(k, KeyEvent) and k.pressed:
            parts.append(f"<{k.redaction}>" if k.redaction else (k.char or ""))
    return "".join(parts)


def squeeze(text: str) -> str:
    """One placeholder per redacted word: "<USER><USER><USER>" -> "<USER>"."""
    return re.sub(r"(<[A-Z]+>)\1+", r"\1", text)


def test_typed_user_host_and_email_leave_the_device_redacted() -> None:
    events = keys("ssh jdoe4711@ws-4711 and mail jane.doe@example.com\n")
    out = through(TypedIdentities(ME), events)
    assert [e.seq for e in out] == [e.seq for e in events]  # every event, in order
    assert squeeze(text_of(out)) == "ssh <USER>@<HOST> and mail <EMAIL>\n"


def test_words_that_only_start_like_a_name_are_sent_unchanged() -> None:
    ann = TypedIdentities(Identities("ann", "box"))
    assert text_of(through(ann, keys("annual plan, joann and boxes"))) == "annual plan, joann and boxes"
    assert squeeze(text_of(through(ann, keys("hi ann, boxy box")))) == "hi <USER>, boxy <HOST>"


def test_backspace_inside_a_name_and_a_name_at_the_end() -> None:
    typed = TypedIdentities(ME)
    out = through(typed, keys("cd /home/jdx\boe4711"))
    assert squeeze(text_of(out)) == "cd /home/<USER>"
    assert typed.redacted == len("jdx") + 1 + len("oe4711")  # the backspace is one of the name's keys


def test_held_keys_are_released_after_hold_s_and_at_a_click() -> None:
    typed = TypedIdentities(ME, hold_s=10)
    events = keys("jdoe")
    assert through(typed, events, end=False) == []  # could still become jdoe4711
    assert typed.release(T0 + timedelta(seconds=5)) == []
    assert text_of(typed.release(T0 + timedelta(seconds=11))) == "jdoe"  # not the name: unchanged
    click = InteractionEvent("d", "u", 99, T0, MouseButton("left", True, 1, 1))
    out = through(typed, [*keys("jdoe4711", 100), click], end=False)
    assert squeeze(text_of(out)) == "<USER>" and out[-1] == click
