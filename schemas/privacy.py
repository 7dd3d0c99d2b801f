"""The one privacy state: consent ledger, erasure requests and withdrawals (pure core).

The agent, the stream and the sink each hold one, fed by one follower of ``control.consent``
and ``control.erasure`` (``runtime.privacy_feed``), and ask it the same three questions:

* ``covers(user, scope, t)``: did the person's consent cover this kind of capture at ``t``?
  (the stream's gate; no record means no consent; an erased moment is never covered)
* ``withheld(user, t)``: must data of this person and moment not be stored? (erased, or
  recorded at or after their current withdrawal; the sink)
* ``erased(user, t)``: does the person's erasure request cover ``t``?

``apply(record)`` takes a record and returns what changed that a holder may have to act on:
a new withdrawal (the sink cleans up what it stored since) or a newer erasure request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from schemas.consent import ConsentLedger, erased, supersedes
from schemas.control_records import CaptureScope, ConsentRecord, ErasureRequest


@dataclass(frozen=True)
class Withdrawal:
    """The person's consent is withdrawn since ``since`` (newly, or from an earlier moment than before)."""

    user_id: str
    since: datetime


@dataclass(frozen=True)
class Erasure:
    """A person's newest erasure request."""

    request: ErasureRequest


Change = Withdrawal | Erasure


@dataclass
class PrivacyState:
    """Every person's consent history and newest erasure request; ``only_user`` keeps one person's (the agent)."""

    only_user: str | None = None
    ledger: ConsentLedger = field(default_factory=ConsentLedger)
    erasures: dict[str, ErasureRequest] = field(default_factory=dict)

    def apply(self, record: ConsentRecord | ErasureRequest) -> Change | None:
        if self.only_user is not None and record.user_id != self.only_user:
            return None
        if isinstance(record, ErasureRequest):
            if not supersedes(record, self.erasures.get(record.user_id)):
                return None
            self.erasures[record.user_id] = record
            return Erasure(record)
        before = self.ledger.withdrawn_since(record.user_id)
        self.ledger.add(record)
        since = self.ledger.withdrawn_since(record.user_id)
        return Withdrawal(record.user_id, since) if since is not None and since != before else None

    def erased(self, user_id: str, moment: datetime) -> bool:
        return erased(self.erasures.get(user_id), moment)

    def covers(self, user_id: str, scope: CaptureScope | None, moment: datetime) -> bool:
        return not self.erased(user_id, moment) and self.ledger.covers(user_id, scope, moment)

    def withdrawn_since(self, user_id: str) -> datetime | None:
        return self.ledger.withdrawn_since(user_id)

    def withheld(self, user_id: str, moment: datetime) -> bool:
        if self.erased(user_id, moment):
            return True
        withdrawn = self.ledger.withdrawn_since(user_id)
        return withdrawn is not None and moment >= withdrawn

    def latest(self, user_id: str) -> ConsentRecord | None:
        return self.ledger.latest(user_id)
