"""The agent's capture gate: whether to capture, which listeners run, what queued input still counts (pure core).

The gate is open while the consent in force grants some scope the policy allows, the policy
has not halted capture (invalid, expired, kill switch: ``halted``), and the person has not
paused (``paused_until`` is POSIX seconds, ``inf`` until resumed; a pause that has run out
counts as none). :func:`next_gate` compares that with what runs now and returns a
:class:`Transition`, or None when nothing changes:

* ``ON`` / ``RESCOPED``: capture starts, or goes on with other scopes (listeners restarted);
* ``PAUSED``: consent still grants something, but the person paused;
* ``OFF``: no consent in force (none, or withdrawn), or none the policy allows;
* ``HALTED``: the policy halted capture.

When listeners that ran are stopped, the input they queued before the gate closed still
counts (it happened while consent covered it): ``cutoff`` is now, or the moment of a
withdrawal if that was earlier, and :func:`admitted` keeps the queued input before it that
the old scopes allowed.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from producers.core.consent import admits, granted_scopes
from producers.core.inputs import RawInput
from schemas.control_records import CaptureScope, ConsentRecord, ConsentState


class Turn(enum.Enum):
    """How a transition changes capture."""

    ON = "on"
    RESCOPED = "rescoped"
    PAUSED = "paused"
    OFF = "off: no consent in force"
    HALTED = "halted by the policy"


@dataclass(frozen=True)
class Gate:
    """What runs: whether capture is on, and the scopes the listeners run for (empty while off)."""

    capturing: bool = False
    listening: frozenset[CaptureScope] = frozenset()


@dataclass(frozen=True)
class Transition:
    gate: Gate  # what runs from now on
    turn: Turn
    cutoff: float | None  # listeners ran and stop: queued input before this counts; None: none ran


def pause_in_force(paused_until: float | None, now: float) -> float | None:
    """``paused_until`` while the pause lasts at ``now``; None once it has run out (or there was none)."""
    return None if paused_until is None or now >= paused_until else paused_until


ALL_SCOPES = frozenset(CaptureScope)


def scopes_in_force(
    consent: ConsentRecord | None, allowed: frozenset[CaptureScope] = ALL_SCOPES
) -> frozenset[CaptureScope]:
    """What consent grants and the policy allows."""
    return granted_scopes(consent) & allowed


def wants_capture(
    consent: ConsentRecord | None,
    paused_until: float | None,
    now: float,
    halted: bool = False,
    allowed: frozenset[CaptureScope] = ALL_SCOPES,
) -> bool:
    """True if consent grants some scope the policy allows, nothing halted capture, and no
    pause is in force at ``now``."""
    return not halted and bool(scopes_in_force(consent, allowed)) and pause_in_force(paused_until, now) is None


def cutoff(consent: ConsentRecord | None, now: float) -> float:
    """Until when queued input counts when the gate closes: now, or the withdrawal's moment if earlier."""
    if consent is not None and consent.state is ConsentState.WITHDRAWN:
        return min(now, consent.recorded_at.timestamp())
    return now


def next_gate(
    consent: ConsentRecord | None,
    paused_until: float | None,
    now: float,
    current: Gate,
    halted: bool = False,
    allowed: frozenset[CaptureScope] = ALL_SCOPES,
) -> Transition | None:
    """The transition from ``current`` at ``now``, or None if what runs stays as it is."""
    want = wants_capture(consent, paused_until, now, halted, allowed)
    scopes = scopes_in_force(consent, allowed)
    gate = Gate(want, scopes if want else frozenset())
    if gate == current:
        return None
    stop_at = cutoff(consent, now) if current.capturing else None
    if want:
        turn = Turn.RESCOPED if current.capturing else Turn.ON
    elif halted:
        turn = Turn.HALTED
    else:
        turn = Turn.PAUSED if scopes else Turn.OFF
    return Transition(gate, turn, stop_at)


def admitted(queued: Iterable[RawInput], cutoff: float, scopes: frozenset[CaptureScope]) -> list[RawInput]:
    """The queued input that still counts: before ``cutoff``, and of a kind ``scopes`` allowed."""
    return [raw for raw in queued if raw.t < cutoff and admits(raw, scopes)]
