"""Each source partition's records handled once, in offset order, with no gap (pure core).

Faust may hand a stream a record twice: after a rebalance, records fetched before its seek to the
committed offsets are still queued when the same records come again. It may also not hand one at all:
a record that reaches the stream while its flow is suspended, or from an older generation, is
acknowledged without being handled, and the records after it then carry the committed offset past
it (``make chaos`` lost single events so, in a rebalance storm). The interactions agent asks
:class:`InOrder` about every record before it handles it:

* the next offset expected: handle it;
* an earlier one: handled already, skip it;
* a later one: records were skipped; read the partition again from the expected offset (the caller
  seeks), and skip what comes until it arrives. If it never does after a few seeks (the topic's
  retention deleted it), go on from the record that comes, and say which offsets were not read.

A seek back may be undone: faust seeks a partition taken over to its committed offset, and if that
happens after ours, the record after the expected one comes again and nothing earlier follows. When no
later record comes either (the last frames of a device that went quiet), nothing would ask again, so
the caller also asks :meth:`InOrder.overdue` on a timer (``make chaos`` lost the last two frames of a
partition so).

A partition taken over expects the record after the last one its table marks handled (``P`` in
``streams.core.store``), whatever offset faust committed: the table, written before any record is
acknowledged, is where the position is kept. Records after the mark that the previous owner handled too
are handled again: the store deduplicates events in open sessions, and the cleaner skips a device's events
up to its last close mark or its open segment (they went downstream already). The interactions agent
marks every record of a batch handled with the batch's table changes, so only a worker killed while those
went to Kafka leaves records to read again; a stream tick read again then does not close a re-held segment,
or an open session, that has an event from after the tick: held keys and open sessions' events keep the
offset of the record that brought them (:func:`with_offset`).
"""

from __future__ import annotations

from dataclasses import dataclass

Source = tuple[str, int]  # topic, partition
_AT = b"@"  # a table value with an offset: this, the offset (8 bytes, big-endian), then the record's Avro bytes


def with_offset(raw: bytes, offset: int | None) -> bytes:
    """What a table keeps of an event: its bytes, after the offset of the record that brought it, if known."""
    return raw if offset is None else _AT + offset.to_bytes(8, "big") + raw


def split_offset(value: bytes) -> tuple[bytes, int | None]:
    """An event's bytes and offset as :func:`with_offset` kept them (``None``: kept without one, by older code;
    Avro framings never start with ``@``)."""
    if value[:1] == _AT:
        return value[9:], int.from_bytes(value[1:9], "big")
    return value, None


@dataclass(frozen=True)
class Verdict:
    """What to do with one record: ``handle`` it, or skip it and, if ``seek_to`` is set, read its
    partition again from that offset. ``unreadable``: the offsets before this record that did not come
    after every seek back (deleted by the topic's retention): handled without them."""

    handle: bool
    seek_to: int | None = None
    unreadable: tuple[int, int] | None = None


class InOrder:
    """The next offset expected of each source partition a worker owns."""

    def __init__(self, retry_s: float = 2.0, seeks: int = 30) -> None:
        self.retry_s = retry_s  # a seek not answered by then (faust's own seek came after it) is asked again
        self.seeks = seeks  # seeks back to one offset before the records before it are taken as gone
        self._next: dict[Source, int] = {}
        self._asked: dict[Source, tuple[float, int]] = {}  # when a seek back was last asked, how many so far
        self.skipped = 0  # records that came after a gap, skipped until the gap was read again
        self.repeated = 0  # records that came a second time

    def owns(self, source: Source) -> bool:
        """Whether a record of ``source`` came since its partition was assigned."""
        return source in self._next

    def start(self, source: Source, handled_up_to: int | None, offset: int) -> None:
        """The first record of ``source`` since its partition was assigned is at ``offset``; the table
        marks ``handled_up_to`` (``None``: nothing of it was ever handled, start where faust does)."""
        self._next[source] = offset if handled_up_to is None else handled_up_to + 1

    def check(self, source: Source, offset: int, now: float) -> Verdict:
        """The record of ``source`` at ``offset`` has come (``now``: a monotonic clock, in seconds)."""
        want = self._next.get(source)
        if want is None or offset == want:
            self._next[source] = offset + 1
            self._asked.pop(source, None)
            return Verdict(True)
        if offset < want:
            self.repeated += 1
            return Verdict(False)
        asked, times = self._asked.get(source, (None, 0))
        if asked is not None and now - asked < self.retry_s:
            self.skipped += 1
            return Verdict(False)
        if times >= self.seeks:  # the partition starts after them now: go on without them
            self._next[source] = offset + 1
            self._asked.pop(source, None)
            return Verdict(True, unreadable=(want, offset - 1))
        self.skipped += 1
        self._asked[source] = (now, times + 1)
        return Verdict(False, want)

    def overdue(self, now: float) -> list[tuple[Source, int]]:
        """The seeks back asked at least ``retry_s`` ago whose offset has not come since: the caller seeks
        again to each offset given, or gives it up (:meth:`give_up`) if the topic no longer holds it. These
        do not count among the ``seeks`` after which records are given up when later ones come: a worker
        that stalls (a broker away, a long batch) must not give up records that still exist."""
        due = [source for source, (asked, _) in self._asked.items() if now - asked >= self.retry_s]
        for source in due:
            self._asked[source] = (now, self._asked[source][1])
        return [(source, self._next[source]) for source in due]

    def pending(self, source: Source) -> int | None:
        """The offset a seek back to which has not been answered yet, if any."""
        return self._next.get(source) if source in self._asked else None

    def give_up(self, source: Source, want: int, earliest: int) -> bool:
        """The partition's first record kept is at ``earliest``, after ``want``, the offset still awaited
        (its retention deleted the records between): expect ``earliest`` now. False, and nothing done,
        when ``want`` is no longer awaited (it came meanwhile, or the partition was revoked)."""
        if self.pending(source) != want or earliest <= want:
            return False
        self._next[source] = earliest
        self._asked.pop(source, None)
        return True

    def expected(self, source: Source) -> int | None:
        return self._next.get(source)

    def seeks_asked(self, source: Source) -> int:
        """How many seeks back to the offset expected were asked so far."""
        return self._asked.get(source, (None, 0))[1]

    def forget(self, partition: int) -> None:
        """The partition was revoked: its next owner, maybe this worker again, starts from the table."""
        for source in [s for s in self._next if s[1] == partition]:
            self._next.pop(source, None)
            self._asked.pop(source, None)
