"""Identity scrubbing on the device: real names out of window titles."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from producers.core.identity import Identities
from schemas.events import VisibleWindow, WindowContext

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
