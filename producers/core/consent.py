"""Which consent governs the agent now, and which raw input it admits (pure core).

The agent has two sources: the decision recorded on this device (works offline) and the
central ledger on ``control.consent`` (where an admin may record a decision for the person).
The newer of the two by ``recorded_at`` is in force; on a tie the ledger's (normally the
same decision, published). A record for another person never counts.
"""

from __future__ import annotations

from producers.core.inputs import RawButton, RawInput, RawKey, RawMove, RawScroll
from schemas.consent import scopes_of
from schemas.control_records import CaptureScope, ConsentRecord

SCOPE_WORDS = {CaptureScope.KEYS: "keys", CaptureScope.MOUSE: "mouse", CaptureScope.SCREENS: "screenshots"}


def in_force(user_id: str, local: ConsentRecord | None, ledger: ConsentRecord | None) -> ConsentRecord | None:
    """The person's newest decision of the two, or None if neither says anything about them."""
    candidates = [r for r in (local, ledger) if r is not None and r.user_id == user_id]
    if not candidates:
        return None
    return max(candidates, key=lambda r: (r.recorded_at, r is ledger))


def granted_scopes(record: ConsentRecord | None) -> frozenset[CaptureScope]:
    return frozenset() if record is None else scopes_of(record)


def admits(raw: RawInput, scopes: frozenset[CaptureScope]) -> bool:
    """True if consent covers this kind of input (keys need KEYS; buttons, wheel and moves need MOUSE)."""
    if isinstance(raw, RawKey):
        return CaptureScope.KEYS in scopes
    if isinstance(raw, RawButton | RawScroll | RawMove):
        return CaptureScope.MOUSE in scopes
    return False


def scope_words(scopes: frozenset[CaptureScope] | tuple[CaptureScope, ...]) -> str:
    """``keys, mouse and screenshots``; ``nothing`` for none."""
    words = [SCOPE_WORDS[s] for s in CaptureScope if s in scopes]
    if not words:
        return "nothing"
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def parse_scopes(text: str) -> tuple[CaptureScope, ...]:
    """``keys,mouse`` -> (KEYS, MOUSE); ``screens`` or ``screenshots`` both name SCREENS."""
    names = {"keys": CaptureScope.KEYS, "mouse": CaptureScope.MOUSE, "screens": CaptureScope.SCREENS}
    names["screenshots"] = CaptureScope.SCREENS
    chosen: set[CaptureScope] = set()
    for word in (w.strip().lower() for w in text.split(",")):
        if word not in names:
            raise ValueError(f"unknown scope {word!r}; use keys, mouse and/or screens, separated by commas")
        chosen.add(names[word])
    return tuple(s for s in CaptureScope if s in chosen)
