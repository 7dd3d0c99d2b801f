"""What each device recently typed that was PII, for the screen redaction to look for (pure core).

The clean stage for interaction events finds PII in what a person types; the same strings are
then on their screen. The screen redaction of the same device asks for the strings found
around a frame's time and covers them wherever OCR reads them, even where the detectors
alone would miss them (a name the model does not know, a card number cut by a line break).
The strings live in memory only, a bounded number per device, and are forgotten after
``window`` of event time; they never leave the worker.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

PER_DEVICE = 64
DEVICES = 50_000


@dataclass
class KnownPii:
    window: timedelta = timedelta(minutes=10)
    _by_device: OrderedDict[str, deque[tuple[datetime, str]]] = field(default_factory=OrderedDict)

    def add(self, device_id: str, moment: datetime, strings: Iterable[str]) -> None:
        found = self._by_device.get(device_id)
        if found is None:
            if len(self._by_device) >= DEVICES:
                self._by_device.popitem(last=False)
            found = self._by_device[device_id] = deque(maxlen=PER_DEVICE)
        self._by_device.move_to_end(device_id)
        for text in strings:
            found.append((moment, text))

    def around(self, device_id: str, moment: datetime) -> list[str]:
        """The device's strings found within ``window`` of ``moment`` (before or after), oldest first, once each."""
        found = self._by_device.get(device_id, ())
        return list(dict.fromkeys(text for t, text in found if abs(t - moment) <= self.window))
