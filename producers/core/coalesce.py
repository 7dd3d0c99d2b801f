"""Mouse moves: coalescing to at most ``rate_hz`` a second, never losing the last one; pointer sampling (pure core).

A move is emitted at once when the previous emitted move is at least one interval old;
otherwise it is held. A held move is emitted when its interval is up (on a tick) or right
before any other input (a click, a drag's release, a key, a scroll), so the position just
before a click or the end of a drag is always kept.
"""

from __future__ import annotations

from dataclasses import dataclass

from producers.core.inputs import RawMove


@dataclass
class MoveCoalescer:
    rate_hz: float = 20.0
    _last_emit: float = float("-inf")
    _pending: RawMove | None = None
    seen: int = 0
    emitted: int = 0

    @property
    def interval(self) -> float:
        return 1.0 / self.rate_hz if self.rate_hz > 0 else 0.0

    def move(self, m: RawMove) -> RawMove | None:
        """Offer a move; returns the move to emit now, if any."""
        self.seen += 1
        if m.t - self._last_emit >= self.interval:
            self._pending = None
            return self._emit(m)
        self._pending = m
        return None

    def due(self, now: float) -> RawMove | None:
        """A held move whose interval is up (call on ticks)."""
        if self._pending is not None and now - self._last_emit >= self.interval:
            return self.flush()
        return None

    def due_at(self) -> float | None:
        """When the held move is due, or None if no move is held."""
        return None if self._pending is None else self._last_emit + self.interval

    def flush(self) -> RawMove | None:
        """The held move, emitted regardless of the rate (call before any other input)."""
        m, self._pending = self._pending, None
        return None if m is None else self._emit(m)

    def drop(self) -> None:
        """Forget a held move (capture stopped)."""
        self._pending = None

    def _emit(self, m: RawMove) -> RawMove:
        self._last_emit = m.t
        self.emitted += 1
        return m


@dataclass
class PointerSampler:
    """When to sample the pointer's position, and which samples are moves (where moves are sampled).

    While the pointer moved (or a button went down) within ``active_s``, it is sampled at
    ``rate_hz``; otherwise every ``idle_s``, so an idle agent barely wakes. A sample is a
    move only if the position changed; the first sample after :meth:`reset` only sets the
    baseline.
    """

    rate_hz: float = 20.0
    idle_s: float = 0.25
    active_s: float = 1.0
    _last: tuple[int, int] | None = None
    _active_at: float = float("-inf")
    _sampled_at: float = float("-inf")

    def due(self, now: float) -> float:
        """When the next sample is due."""
        fast = now - self._active_at < self.active_s and self.rate_hz > 0
        return self._sampled_at + (1.0 / self.rate_hz if fast else self.idle_s)

    def sample(self, t: float, x: int, y: int) -> RawMove | None:
        self._sampled_at = t
        if self._last == (x, y):
            return None
        first, self._last = self._last is None, (x, y)
        if first:
            return None
        self._active_at = t
        return RawMove(t, x, y)

    def activity(self, t: float) -> None:
        """A button went down: sample fast (a drag may follow)."""
        self._active_at = max(self._active_at, t)

    def reset(self) -> None:
        self._last = None
        self._active_at = self._sampled_at = float("-inf")
