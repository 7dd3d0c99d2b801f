"""The sender thread: spooled records to Kafka, in order, committed only once acknowledged (edge).

It keeps up to ``window`` records in the Kafka client at a time. The producer retries for
ever (``message.timeout.ms=0``) and is idempotent, so a broker outage only stalls the
window while the spool grows on disk; when the broker is back everything goes out once and
in order. Work is grouped: while records are in flight the thread runs one cycle (read
the spool, hand new records to the client, serve delivery reports, commit) every
``GROUP_S`` instead of waking for each record or each report; idle, it sleeps until the
pipeline wakes it. On :meth:`Sender.stop` it hands over what is left in the spool and gives
the client a few seconds to deliver it. A record Kafka refuses for good (too large, unknown
topic) is counted in ``failed``, logged and skipped. After a crash the records of the last unacknowledged window
are sent again; consumers drop them by (device, seq).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from confluent_kafka import KafkaError

from producers.publisher import Publisher
from producers.spool import Position, Spool, Spooled

log = logging.getLogger(__name__)
GROUP_S, IDLE_S, SAVE_S = 0.2, 1.0, 0.5


class Sender:
    def __init__(
        self,
        spool: Spool,
        publisher: Publisher,
        topic_name: Callable[[str], str],
        window: int = 5000,
        window_bytes: int = 32 * 1024 * 1024,
    ) -> None:
        self.spool, self.publisher, self.topic_name = spool, publisher, topic_name
        self.window, self.window_bytes = window, window_bytes
        self.failed = 0
        self._inflight: deque[list[object]] = deque()  # [end position, done]
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="teachstream-sender", daemon=True)
        self._pending: deque[Spooled] = deque()  # read from the spool, not yet taken by the client

    @property
    def in_flight(self) -> int:
        """Records read from the spool and not yet acknowledged."""
        return len(self._inflight) + len(self._pending)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        """New records were spooled."""
        self._wake.set()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Hand what is left in the spool to the client and give it ``timeout_s`` to deliver.

        What is not acknowledged by then stays in the spool for the next start.
        """
        self._stop.set()
        self._wake.set()
        self._thread.join()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self._cycle()
            if not self._pending and not self.spool.unread:
                break
            self.publisher.poll(0.05)
        self.publisher.flush(max(0.0, deadline - time.monotonic()))
        self._commit()
        self.spool.save_cursor()

    def _run(self) -> None:
        last_save = 0.0
        dirty = False
        while not self._stop.is_set():
            dirty = self._cycle() or dirty
            now = time.monotonic()
            if dirty and now - last_save >= SAVE_S:
                self.spool.save_cursor()
                dirty, last_save = False, now
            if self._inflight or self._pending:
                self._stop.wait(GROUP_S)
            else:
                self._wake.wait(IDLE_S if not dirty else SAVE_S)
                self._wake.clear()
                self._stop.wait(GROUP_S)  # let a few more records gather

    def _cycle(self) -> bool:
        """One round: new records to the client, delivery reports served; True if the cursor moved."""
        room = self.window - len(self._inflight)
        if room > 0 and not self._pending:
            self._pending.extend(self.spool.read(room, self.window_bytes))
        while self._pending and len(self._inflight) < self.window:
            if not self._send(self._pending[0]):
                break  # the client's queue is full: try again after serving deliveries
            self._pending.popleft()
        self.publisher.poll(0)
        return self._commit()

    def _send(self, rec: Spooled) -> bool:
        entry: list[object] = [rec.end, False]

        def done(err: KafkaError | None) -> None:
            if err is not None:
                self.failed += 1
                log.error("Kafka refused a record for %s for good (%s); skipped", rec.topic, err.str())
            entry[1] = True

        if not self.publisher.try_publish(self.topic_name(rec.topic), rec.key, rec.value, done):
            return False
        self._inflight.append(entry)
        return True

    def _commit(self) -> bool:
        end: Position | None = None
        while self._inflight and self._inflight[0][1]:
            end = self._inflight.popleft()[0]  # type: ignore[assignment]
        if end is not None:
            self.spool.commit(end)
        return end is not None
