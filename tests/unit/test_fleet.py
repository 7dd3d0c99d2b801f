"""The fleet view: each device's newest heartbeat, stale devices and policies, filters, counts, output forms."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from schemas.control_records import Heartbeat
from teachstream.fleet import (
    ROW_KEYS,
    age,
    fleet_rows,
    latest,
    newest_policy,
    parse_duration,
    rows_json,
    select,
    summarize,
    summary_json,
    summary_lines,
    table,
)

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def beat(device: str, seconds_ago: float, **fields: object) -> Heartbeat:
    base = Heartbeat(device, "0.4.0", NOW - timedelta(seconds=seconds_ago), "capturing", "v2")
    return replace(base, **fields)  # type: ignore[arg-type]


def test_only_each_devices_newest_heartbeat_counts_whatever_the_order_read() -> None:
    old, new, other = beat("d-a", 60, state="paused"), beat("d-a", 5), beat("d-b", 10)
    assert latest([new, other, old]) == {"d-a": new, "d-b": other}
    (row, _) = fleet_rows([new, other, old], NOW)
    assert (row.device_id, row.state, round(row.age_s)) == ("d-a", "capturing", 5)


def test_a_device_silent_for_longer_than_the_threshold_is_stale_whatever_it_last_said() -> None:
    rows = fleet_rows([beat("d-a", 89), beat("d-b", 91, state="paused")], NOW)
    assert [(r.state, r.reported_state) for r in rows] == [("capturing", "capturing"), ("stale", "paused")]
    (a, b) = fleet_rows([beat("d-a", 89), beat("d-b", 91)], NOW, stale_after=timedelta(minutes=5))
    assert a.state == b.state == "capturing"


def test_a_device_not_on_the_newest_policy_of_the_fleet_is_flagged() -> None:
    rows = fleet_rows([beat("d-a", 1, policy_version="v9"), beat("d-b", 1, policy_version="v10"), beat("d-c", 1)], NOW)
    assert [r.policy_stale for r in rows] == [True, False, True]
    assert newest_policy(["2026-11-26.2", None, "2026-11-26.10", "2026-11-3.1"]) == "2026-11-26.10"
    assert newest_policy([None, None]) is None


def test_a_device_on_its_configured_policy_is_behind_a_published_one_but_not_alone() -> None:
    alone = fleet_rows([beat("d-a", 1, policy_version=None)], NOW)
    assert not alone[0].policy_stale
    (a, _) = fleet_rows([beat("d-a", 1, policy_version=None), beat("d-b", 1)], NOW)
    assert a.policy_stale and "configured" in table([a])[1] and "stale policy" in table([a])[1]


def test_filters_by_time_since_seen_agent_version_and_policy() -> None:
    rows = fleet_rows(
        [beat("d-a", 10), beat("d-b", 600, agent_version="0.3.9"), beat("d-c", 7200, policy_version=None)], NOW
    )
    assert [r.device_id for r in select(rows, stale_for=parse_duration("5m"))] == ["d-b", "d-c"]
    assert [r.device_id for r in select(rows, stale_for=parse_duration("1h"))] == ["d-c"]
    assert [r.device_id for r in select(rows, version="0.3.9")] == ["d-b"]
    assert [r.device_id for r in select(rows, policy="configured")] == ["d-c"]
    assert [r.device_id for r in select(rows, stale_for=timedelta(minutes=5), policy="v2")] == ["d-b"]
    assert select(rows) == rows


def test_the_summary_counts_stale_devices_as_stale_and_agents_by_version() -> None:
    beats = [
        beat("d-a", 5),
        beat("d-b", 5, state="paused", agent_version="0.3.9"),
        beat("d-c", 400),
        beat("d-d", 5, policy_version="v1", policy_valid=False, state="halted"),
    ]
    counts = summarize(fleet_rows(beats, NOW))
    assert counts.devices == 4
    assert counts.states == {"capturing": 1, "halted": 1, "paused": 1, "stale": 1}
    assert list(counts.agent_versions.items()) == [("0.4.0", 3), ("0.3.9", 1)]  # most common first
    assert (counts.newest_policy, counts.policy_stale, counts.policy_invalid) == ("v2", 1, 1)
    lines = summary_lines(counts)
    assert lines[0] == "4 devices; newest policy v2, 1 not on it; 1 with an invalid policy"
    assert [line.split() for line in lines[2:]] == [
        ["STATE", "DEVICES"],
        ["capturing", "1"],
        ["halted", "1"],
        ["paused", "1"],
        ["stale", "1"],
        [],
        ["AGENT", "DEVICES"],
        ["0.4.0", "3"],
        ["0.3.9", "1"],
    ]
    assert json.loads(json.dumps(summary_json(counts)))["states"]["stale"] == 1


def test_an_empty_fleet() -> None:
    assert fleet_rows([], NOW) == []
    assert table([]) == ["DEVICE  SEEN  STATE  AGENT  POLICY  SPOOL  DROPS  CPU  RSS  NOTES"]
    assert summary_lines(summarize([]))[0] == "0 devices"


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("5m", 300), ("2h", 7200), ("1d", 86400), ("1.5m", 90)])
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "5", "m", "5 minutes", "-5m", "5w", "1h30m"])
def test_a_duration_that_cannot_be_read_says_what_is_expected(text: str) -> None:
    with pytest.raises(ValueError, match=r"as a duration: write a number and a unit \(s, m, h or d\), such as 90s"):
        parse_duration(text)


def test_ages_are_short_and_rounded_down() -> None:
    assert [age(s) for s in (-3, 0, 12.9, 59, 60, 299, 3599, 7300, 90000)] == [
        "0s",
        "0s",
        "12s",
        "59s",
        "1m",
        "4m",
        "59m",
        "2h",
        "1d",
    ]


def test_the_table_has_one_aligned_line_per_device_with_spool_drops_cpu_memory_and_notes() -> None:
    beats = [
        beat("d-aaaa", 12, spooled=120, spool_bytes=3 * 2**20 // 2, oldest_spooled_s=250.0, dropped=3),
        beat("d-b", 200, frames_dropped=2, cpu_percent=4.25, rss_bytes=91 * 2**20, policy_version="v1"),
        beat("d-c", 3, policy_valid=False, policy_reason="the signature does not verify", state="halted"),
    ]
    header, a, b, c = table(fleet_rows(beats, NOW))
    assert header.split() == ["DEVICE", "SEEN", "STATE", "AGENT", "POLICY", "SPOOL", "DROPS", "CPU", "RSS", "NOTES"]
    assert a.split()[:6] == ["d-aaaa", "12s", "capturing", "0.4.0", "v2", "120"]
    assert "120 (1.5MiB, oldest 4m)" in a and " 3/0 " in a
    assert b.split()[:5] == ["d-b", "3m", "stale", "0.4.0", "v1"]
    assert b.split()[-4:] == ["4.2%", "91MiB", "stale", "policy"] and " 0/2 " in b
    assert c.endswith("policy invalid: the signature does not verify") and " 0 " in c
    state = header.index("STATE")  # left-aligned words, right-aligned numbers
    assert [line[state:].split()[0] for line in (a, b, c)] == ["capturing", "stale", "halted"]
    seen_end = header.index("SEEN") + len("SEEN")
    assert [line[:seen_end].split()[-1] for line in (a, b, c)] == ["12s", "3m", "3s"]


def test_the_json_form_has_stable_keys_and_plain_values() -> None:
    (row,) = rows_json(fleet_rows([beat("d-a", 600, rss_bytes=3 * 2**19, oldest_spooled_s=None)], NOW))
    assert tuple(row) == ROW_KEYS
    assert row["state"] == "stale" and row["reported_state"] == "capturing" and row["age_s"] == 600.0
    assert row["last_seen"] == "2026-11-26T11:50:00+00:00" and row["rss_mib"] == 1.5
    assert json.loads(json.dumps(row)) == row
