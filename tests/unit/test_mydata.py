"""The front page of a person's data export."""

from __future__ import annotations

from dataclasses import replace

from schemas.control_records import CaptureScope, ConsentRecord, ConsentState
from sinks.core.sessions import session_entry
from teachstream.mydata import render_summary
from tests.unit.test_sink_core import FRAMES, T0, trajectory


def test_the_summary_counts_sessions_apps_hours_and_redactions_and_escapes() -> None:
    entry = replace(session_entry(trajectory("u-1"), FRAMES, 1, 0, 1), apps=("<script>x</script>",))
    consent = [ConsentRecord("u-1", ConsentState.GRANTED, "p-1", T0, "u-1", (CaptureScope.KEYS,))]
    page = render_summary(["u-1"], [entry, entry], consent, T0)
    assert "2 recorded sessions" in page and "EMAIL (4)" in page and "PHONE (2)" in page
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "granted" in page and "keys" in page and "teachstream consent withdraw" in page


def test_a_person_without_data_gets_a_page_that_says_so() -> None:
    page = render_summary(["u-9"], [], [], T0)
    assert "0 recorded sessions" in page and "no record" in page and "nothing" in page
