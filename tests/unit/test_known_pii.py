"""PII found in typed text is remembered per device, for the screen redaction to look for on screen."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from schemas.capture_policy import CapturePolicy
from schemas.events import KeyEvent
from streams.core.cleaner import Cleaner
from streams.core.known import PER_DEVICE, KnownPii
from streams.core.redaction import SegmentPolicy, redact_segment
from tests.unit.test_cleaner import CODEC, T0, run, typed


def test_a_segment_reports_the_pii_strings_as_they_stand_on_screen() -> None:
    events = typed("mail jane.doe@example.com card 4111 1111 1111 1111 ok\n")
    found = redact_segment(events).found
    assert "jane.doe@example.com" in found and "4111 1111 1111 1111" in found
    assert not any("mail" in f or "ok" in f for f in found)


def test_deleted_characters_are_not_part_of_what_is_on_screen() -> None:
    events = typed("x jane.doe@example.comx")
    seq, t = events[-1].seq, events[-1].event_time
    for i, pressed in enumerate((True, False)):
        key = KeyEvent(pressed, "backspace")
        events.append(
            replace(events[-1], seq=seq + 1 + i, event_time=t + timedelta(milliseconds=50 * (i + 1)), payload=key)
        )
    events += [replace(e, seq=e.seq + 100) for e in typed("\n")]
    assert redact_segment(events).found == ("jane.doe@example.com",)  # the deleted "x" is not on screen


def test_the_cleaner_hands_found_strings_to_the_device_s_memory() -> None:
    known = KnownPii()
    cleaner = Cleaner(CapturePolicy(), SegmentPolicy(), None, CODEC, {}, known)
    run(cleaner, typed("send to jane.doe@example.com\n", device="d-7"))
    assert known.around("d-7", T0) == ["jane.doe@example.com"]
    assert known.around("d-8", T0) == []
    assert not cleaner._devices[0]["d-7"].segmenter.found  # taken, not kept twice


def test_memory_is_bounded_and_forgets_outside_its_window() -> None:
    known = KnownPii(window=timedelta(minutes=10))
    known.add("d", T0, ["old@example.com"])
    known.add("d", T0 + timedelta(minutes=15), ["new@example.com"])
    assert known.around("d", T0 + timedelta(minutes=16)) == ["new@example.com"]
    known.add("d", T0, [f"s{i}@example.com" for i in range(PER_DEVICE * 2)])
    assert len(known.around("d", T0)) <= PER_DEVICE
