"""A load run's ledger and the check of what landed against it (pure core).

The simulator writes one JSON line per record it published, once the broker answered::

    {"k": "e", "d": "<device>", "s": 12, "ok": true}            an interaction event
    {"k": "e", "d": "<device>", "s": 13, "ok": true, "m": 1}    a marker (TypingPause): cleaning consumes it
    {"k": "f", "d": "<device>", "s": 14, "id": "<frame id>", "ok": true}
    {"k": "e", "d": "<device>", "s": 15, "ok": false, "err": "..."}   never acknowledged by the broker

The check compares the acknowledged records with three views of the pipeline's output: the
sessions in the dataset (each lists the sequence numbers of its events), the frames in
``screens.clean``, and the dead letters. Per device and in total it counts what was lost
(acknowledged, yet neither landed nor dead-lettered), duplicated (one sequence number in two
sessions, or twice in one), out of order (a session whose events interleave with an earlier
session's) and landed without being in the ledger.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

SAMPLE = 5  # sequence numbers shown per problem and device


@dataclass(frozen=True)
class LedgerRecord:
    kind: str  # "e" event, "f" frame
    device_id: str
    seq: int
    delivered: bool
    marker: bool = False
    frame_id: str = ""
    error: str = ""

    def to_line(self) -> str:
        body: dict[str, Any] = {"k": self.kind, "d": self.device_id, "s": self.seq, "ok": self.delivered}
        if self.marker:
            body["m"] = 1
        if self.frame_id:
            body["id"] = self.frame_id
        if self.error:
            body["err"] = self.error
        return json.dumps(body, separators=(",", ":")) + "\n"

    @classmethod
    def from_line(cls, line: str) -> LedgerRecord:
        body = json.loads(line)
        if body.get("k") not in ("e", "f"):
            raise ValueError(f"not a ledger line: {line[:80]!r}")
        return cls(
            body["k"], body["d"], int(body["s"]), bool(body["ok"]), bool(body.get("m")), body.get("id", ""),
            body.get("err", ""),
        )  # fmt: skip


def read_ledger(lines: Iterable[str]) -> Iterator[LedgerRecord]:
    for number, line in enumerate(lines, 1):
        if line.strip():
            try:
                yield LedgerRecord.from_line(line)
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"ledger line {number}: {exc}") from exc


def write_record(out: TextIO, record: LedgerRecord) -> None:
    out.write(record.to_line())


@dataclass(frozen=True)
class LandedSession:
    """What the check needs of one session in the dataset."""

    session_id: str
    device_id: str
    start_time: str
    seqs: tuple[tuple[int, int], ...]


@dataclass
class DeviceReport:
    device_id: str
    sent: int = 0  # acknowledged events the dataset should hold (markers left out)
    landed: int = 0  # of those, in a session
    dead: int = 0  # of those, not in a session but in the dead letters
    undelivered: int = 0  # never acknowledged: the producer's loss, reported apart
    lost: list[int] = field(default_factory=list)
    duplicated: list[int] = field(default_factory=list)
    unexpected: list[int] = field(default_factory=list)  # in a session, not in the ledger
    out_of_order: list[str] = field(default_factory=list)  # session ids
    sessions: int = 0
    frames_sent: int = 0
    frames_clean: int = 0
    frames_dead: int = 0
    frames_lost: list[str] = field(default_factory=list)
    frames_redelivered: int = 0  # copies beyond the first in screens.clean (the sink stores a frame once)

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.unexpected or self.out_of_order or self.frames_lost)


@dataclass
class LedgerReport:
    devices: dict[str, DeviceReport]
    sessions_elsewhere: int = 0  # sessions of devices the ledger does not know (other traffic)

    @property
    def ok(self) -> bool:
        return all(d.ok for d in self.devices.values())

    def total(self, name: str) -> int:
        values = (getattr(d, name) for d in self.devices.values())
        return sum(v if isinstance(v, int) else len(v) for v in values)

    def lines(self) -> list[str]:
        """The report an operator reads: totals, then every device with a problem."""
        t = self.total
        out = [
            f"ledger check: {len(self.devices)} devices, {t('sent')} events acknowledged "
            f"({t('undelivered')} never acknowledged), {t('frames_sent')} frames",
            f"  events: {t('landed')} landed in {t('sessions')} sessions, {t('dead')} dead-lettered, "
            f"{t('lost')} lost, {t('duplicated')} duplicated, {t('unexpected')} not in the ledger, "
            f"{t('out_of_order')} sessions out of order",
            f"  frames: {t('frames_clean')} in screens.clean, {t('frames_dead')} dead-lettered, "
            f"{t('frames_lost')} lost ({t('frames_redelivered')} redelivered copies, stored once)",
        ]
        for d in sorted(self.devices.values(), key=lambda d: d.device_id):
            if d.ok:
                continue
            problems = [
                f"{label} {len(items)} (e.g. {', '.join(map(str, items[:SAMPLE]))})"
                for label, items in (
                    ("lost", d.lost),
                    ("duplicated", d.duplicated),
                    ("not in the ledger", d.unexpected),
                    ("sessions out of order", d.out_of_order),
                    ("frames lost", d.frames_lost),
                )
                if items
            ]
            out.append(f"  device {d.device_id}: " + "; ".join(problems))
        out.append("ledger check: OK, nothing lost or duplicated" if self.ok else "ledger check: FAILED")
        return out


def check(
    ledger: Iterable[LedgerRecord],
    sessions: Iterable[LandedSession],
    dead_events: Iterable[tuple[str, int]] = (),
    clean_frames: Iterable[tuple[str, str]] = (),
    dead_frames: Iterable[tuple[str, str]] = (),
) -> LedgerReport:
    """Compare the ledger with the landed sessions, the frames in screens.clean and the dead letters.

    ``dead_events`` are (device, seq) of dead-lettered events (a dead-lettered session counts
    for every event it held); ``clean_frames`` and ``dead_frames`` are (device, frame id).
    """
    expected: dict[str, set[int]] = defaultdict(set)
    frames: dict[str, set[str]] = defaultdict(set)
    reports: dict[str, DeviceReport] = {}
    for rec in ledger:
        report = reports.setdefault(rec.device_id, DeviceReport(rec.device_id))
        if not rec.delivered:
            report.undelivered += 1
        elif rec.kind == "f":
            frames[rec.device_id].add(rec.frame_id)
        elif not rec.marker:
            expected[rec.device_id].add(rec.seq)
    elsewhere = 0
    landed: dict[str, Counter[int]] = defaultdict(Counter)
    spans: dict[str, list[tuple[str, str, int, int]]] = defaultdict(list)
    for s in sessions:
        if s.device_id not in reports:
            elsewhere += 1
            continue
        reports[s.device_id].sessions += 1
        for first, last in s.seqs:
            landed[s.device_id].update(range(first, last + 1))
        if s.seqs:
            spans[s.device_id].append((s.start_time, s.session_id, s.seqs[0][0], s.seqs[-1][1]))
    dead: dict[str, set[int]] = defaultdict(set)
    for device, seq in dead_events:
        dead[device].add(seq)
    clean: dict[str, Counter[str]] = defaultdict(Counter)
    for device, frame_id in clean_frames:
        clean[device][frame_id] += 1
    dead_f: dict[str, set[str]] = defaultdict(set)
    for device, frame_id in dead_frames:
        dead_f[device].add(frame_id)
    for device, report in reports.items():
        want, got = expected[device], landed[device]
        report.sent = len(want)
        report.landed = sum(1 for seq in want if seq in got)
        report.dead = sum(1 for seq in want if seq not in got and seq in dead[device])
        report.lost = sorted(seq for seq in want if seq not in got and seq not in dead[device])
        report.duplicated = sorted(seq for seq, n in got.items() if n > 1)
        report.unexpected = sorted(seq for seq in got if seq not in want)
        report.out_of_order = _interleaved(spans[device])
        sent_frames = frames[device]
        report.frames_sent = len(sent_frames)
        report.frames_clean = sum(1 for f in sent_frames if clean[device][f])
        report.frames_dead = sum(1 for f in sent_frames if not clean[device][f] and f in dead_f[device])
        report.frames_lost = sorted(f for f in sent_frames if not clean[device][f] and f not in dead_f[device])
        report.frames_redelivered = sum(n - 1 for n in clean[device].values() if n > 1)
    return LedgerReport(reports, elsewhere)


def _interleaved(spans: list[tuple[str, str, int, int]]) -> list[str]:
    """Sessions (in start order) whose first event comes before an earlier session's last one."""
    out, high = [], -1
    for _, session_id, low, top in sorted(spans):
        if low <= high:
            out.append(session_id)
        high = max(high, top)
    return out
