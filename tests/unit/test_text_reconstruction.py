"""Text reconstruction from key events: caret, case, deletions, snapshots, unknown segments."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from schemas.events import InteractionEvent, KeyEvent, MouseButton, Payload, WindowContext
from streams.core.text import SHIFTED, reconstruct

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
EDITOR = WindowContext("code", "notes.txt - Visual Studio Code", 7)
_UNSHIFTED = {v: k for k, v in SHIFTED.items()}
_NAMED = {" ": "space", "\n": "enter", "\t": "tab"}


@dataclass(frozen=True)
class Key:
    """Press and release a named key ``times`` times, holding ``modifiers``."""

    name: str
    times: int = 1
    modifiers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Click:
    """A left click somewhere in the window."""


Action = str | Key | Click


def _payloads(actions: Iterable[Action], *, with_char: bool) -> Iterator[Payload]:
    for action in actions:
        if isinstance(action, Click):
            yield MouseButton("left", True, 10, 10)
            yield MouseButton("left", False, 10, 10)
        elif isinstance(action, Key):
            for _ in range(action.times):
                yield KeyEvent(True, action.name, None, action.modifiers)
                yield KeyEvent(False, action.name, None, action.modifiers)
        else:
            for ch in action:
                if ch in _NAMED:
                    key, mods, char = _NAMED[ch], (), None
                elif ch.isupper() or ch in _UNSHIFTED:
                    key, mods, char = _UNSHIFTED.get(ch, ch.lower()), ("shift",), ch
                else:
                    key, mods, char = ch, (), ch
                yield KeyEvent(True, key, char if with_char else None, mods)
                yield KeyEvent(False, key, None, mods)


def typing(
    *actions: Action, context: WindowContext = EDITOR, with_char: bool = True, first_seq: int = 1
) -> list[InteractionEvent]:
    """Key events of a person doing ``actions`` in one window, like the capture agent sends them."""
    return [
        InteractionEvent("dev-1", "user-1", first_seq + i, T0 + timedelta(milliseconds=90 * i), p, context)
        for i, p in enumerate(_payloads(actions, with_char=with_char))
    ]


def test_plain_typing_is_rebuilt_with_seqs():
    events = typing("Hello, World!")
    recon = reconstruct(events)
    assert recon.text == "Hello, World!"
    assert recon.unknown == ()
    assert [c.seq for c in recon.runs[0]] == [e.seq for e in events if isinstance(e.payload, KeyEvent)][::2]


def test_case_comes_from_shift_and_caps_lock_when_the_agent_sends_no_char():
    events = typing("Hi ", Key("caps_lock"), "abc", Key("caps_lock"), "d!", with_char=False)
    assert reconstruct(events).text == "Hi ABCd!"


def test_backspace_fixes_a_typo_and_leaves_a_tombstone_and_a_snapshot():
    recon = reconstruct(typing("helo", Key("backspace"), "lo"))
    assert recon.text == "hello"
    assert [c.char for c in recon.runs[0] if not c.alive] == ["o"]
    assert ["".join(t.char for t in snap) for snap in recon.snapshots] == ["helo"]


def test_arrows_home_end_and_delete_move_and_edit_at_the_caret():
    recon = reconstruct(typing("wrld", Key("left", 3), "o", Key("end"), "!", Key("home"), "x", Key("delete")))
    assert recon.text == "xorld!"
    recon = reconstruct(typing("abc", Key("home"), Key("delete"), Key("right"), "X"))
    assert recon.text == "bXc"


def test_text_typed_then_deleted_is_kept_in_a_snapshot():
    recon = reconstruct(typing("secret words", Key("backspace", 12), "ok"))
    assert recon.text == "ok"
    assert "".join(t.char for t in recon.snapshots[0]) == "secret words"


def test_paste_click_and_selection_mark_the_segment_unknown_and_start_new_runs():
    recon = reconstruct(
        typing("abc", Key("v", modifiers=("ctrl",)), "def", Click(), "ghi", Key("left", modifiers=("shift",)))
    )
    assert recon.unknown == ("paste", "mouse click", "selection")
    assert ["".join(c.char for c in run) for run in recon.runs] == ["abc", "def", "ghi"]


def test_a_click_before_any_typing_is_not_a_jump():
    assert reconstruct(typing(Click(), "abc")).unknown == ()


def test_unknown_key_names_and_dead_keys_mark_the_segment_unknown():
    events = typing("a", Key("dead_acute"), "e")
    assert reconstruct(events).unknown == ("unknown key 'dead_acute'",)


def test_shortcuts_that_type_nothing_change_nothing():
    recon = reconstruct(typing("abc", Key("c", modifiers=("ctrl",)), Key("s", modifiers=("cmd",)), Key("f5")))
    assert recon.text == "abc"
    assert recon.unknown == ()


@given(st.text(alphabet=st.characters(codec="ascii", categories=("L", "N", "P", "S", "Zs")), max_size=60))
def test_typing_any_ascii_text_rebuilds_it(text: str):
    assert reconstruct(typing(text)).text == text
    assert reconstruct(typing(text, with_char=False)).text == text


@given(st.text(alphabet="abc xyz", max_size=30), st.integers(0, 40))
def test_backspaces_remove_exactly_the_last_characters(text: str, n: int):
    assert reconstruct(typing(text, Key("backspace", n))).text == text[: max(len(text) - n, 0)]
