"""The consent ledger: what each person agreed to, and since when (pure core).

Records come from the compacted ``control.consent`` topic (key: the person's pseudonym). The
agent, the stream and the sink each keep a ledger and ask it the same questions: does this
person's consent cover this kind of capture at this moment, and since when is it withdrawn?
No record means no consent.
"""

from __future__ import annotations

from bisect import insort
from dataclasses import dataclass, field
from datetime import datetime

from schemas.control_records import CaptureScope, ConsentRecord, ConsentState, ErasureRequest
from schemas.events import InteractionEvent, KeyEvent, MouseButton, MouseMove, MouseScroll

ALL_SCOPES = frozenset(CaptureScope)


def scopes_of(record: ConsentRecord) -> frozenset[CaptureScope]:
    """The scopes a record grants; a grant that names none grants all (device records before scopes existed)."""
    if record.state is not ConsentState.GRANTED:
        return frozenset()
    return frozenset(record.scopes) or ALL_SCOPES


def scope_of(event: InteractionEvent) -> CaptureScope | None:
    """The scope an interaction needs; None for context (focus, suppression, typing pauses), covered by any grant."""
    payload = event.payload
    if isinstance(payload, KeyEvent):
        return CaptureScope.KEYS
    if isinstance(payload, MouseMove | MouseButton | MouseScroll):
        return CaptureScope.MOUSE
    return None


def erased(request: ErasureRequest | None, moment: datetime) -> bool:
    """True if data of ``moment`` falls under the person's erasure request."""
    return request is not None and moment <= request.requested_at


def supersedes(request: ErasureRequest, known: ErasureRequest | None) -> bool:
    """True if ``request`` is the person's newest erasure request so far (it covers more)."""
    return known is None or known.requested_at <= request.requested_at


@dataclass
class ConsentLedger:
    """Every person's consent records in time order."""

    _history: dict[str, list[tuple[datetime, int, ConsentRecord]]] = field(default_factory=dict)
    _seen: int = 0

    def add(self, record: ConsentRecord) -> None:
        self._seen += 1  # ties on recorded_at: the record read later wins
        insort(self._history.setdefault(record.user_id, []), (record.recorded_at, self._seen, record))

    def latest(self, user_id: str) -> ConsentRecord | None:
        history = self._history.get(user_id)
        return history[-1][2] if history else None

    def at(self, user_id: str, moment: datetime) -> ConsentRecord | None:
        """The record in force at ``moment``: the last one recorded at or before it."""
        current = None
        for recorded_at, _, record in self._history.get(user_id, ()):
            if recorded_at > moment:
                break
            current = record
        return current

    def covers(self, user_id: str, scope: CaptureScope | None, moment: datetime) -> bool:
        """True if the person's consent at ``moment`` grants ``scope`` (None: any grant)."""
        record = self.at(user_id, moment)
        granted = scopes_of(record) if record is not None else frozenset()
        return bool(granted) if scope is None else scope in granted

    def withdrawn_since(self, user_id: str) -> datetime | None:
        """When the person's current withdrawal was recorded, or None if their latest record grants."""
        latest = self.latest(user_id)
        if latest is None or latest.state is ConsentState.GRANTED:
            return None
        return latest.recorded_at

    def users(self) -> list[str]:
        return sorted(self._history)
