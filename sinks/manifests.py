"""The manifests this worker owns, and the dataset card (edge, the worker loop's thread).

A session becomes part of the dataset when its entry is in the manifest of its day and
``trajectories`` partition (``manifests/dt=…/partition=NNN.json``). Only the worker that owns
a partition writes its manifests: it reads one once, keeps it, adds the entries of the
sessions whose steps are stored, and writes it back before their offsets are committed. The
card (``README.md``) is regenerated from all the manifests, at most every ``card_seconds``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from botocore.exceptions import BotoCoreError, ClientError
from mypy_boto3_s3 import S3Client

from schemas.dataset import CARD_NAME, Manifest, SessionEntry
from schemas.step_columns import STEP_DOCS, STEP_SCHEMA
from sinks.core.card import render_card
from sinks.core.privacy import drop_user
from sinks.janitor import Removed
from sinks.s3 import get_or_none, list_keys
from sinks.stats import SinkStats
from sinks.uploads import StorageStopped, Uploads

log = logging.getLogger(__name__)


class Listing(Protocol):
    """The record of a session waiting for its manifest; ``done`` once the manifest is written."""

    done: bool


class Manifests:
    def __init__(
        self,
        s3: S3Client,
        uploads: Uploads,
        stats: SinkStats,
        withheld: Callable[[str, datetime], bool],
        failpoint: Callable[[str], None],
        card_seconds: float,
        clock: Callable[[], float],
    ) -> None:
        self.s3, self.uploads, self.stats = s3, uploads, stats
        self.bucket, self.root = uploads.bucket, uploads.root
        self.withheld = withheld
        self.failpoint = failpoint
        self.card_seconds = card_seconds
        self.clock = clock
        self.owned: dict[tuple[str, int], Manifest] = {}  # (day, partition) -> manifest, as last written
        self.dirty: dict[tuple[str, int], list[tuple[SessionEntry, Listing]]] = {}
        self.card_due = 0.0
        self.card_stale = False

    def add(self, entry: SessionEntry, partition: int, listing: Listing) -> None:
        """A session whose steps are stored; it is listed at the next :meth:`write`."""
        self.dirty.setdefault((entry.dt, partition), []).append((entry, listing))

    def _manifest(self, dt: str, partition: int) -> Manifest:
        manifest = self.owned.get((dt, partition))
        if manifest is None:
            fresh = Manifest(dt, partition, {})
            body = get_or_none(self.s3, self.bucket, self.root + fresh.key())
            manifest = Manifest.from_bytes(body) if body is not None else fresh
            self.owned[(dt, partition)] = manifest
        return manifest

    def write(self) -> None:
        """List the stored sessions in their manifests (those withdrawn or erased meanwhile are deleted instead)."""
        for (dt, partition), listings in list(self.dirty.items()):
            try:
                manifest = self._manifest(dt, partition)
            except (BotoCoreError, ClientError) as exc:
                log.warning("cannot read the manifest of %s partition %d (%s); retrying", dt, partition, exc)
                return
            for entry, _ in listings:
                if self.withheld(entry.user_id, entry.start):  # withdrawn or erased while it was stored
                    self.uploads.delete(entry.steps_key)
                    self.stats.withheld += 1
                else:
                    manifest.sessions[entry.session_id] = entry
            self.failpoint("before_manifest")
            try:
                self.uploads.put(manifest.key(), manifest.to_bytes(), "application/json")
            except StorageStopped:
                return
            del self.dirty[(dt, partition)]
            for _, listing in listings:
                listing.done = True
                self.stats.sessions += 1
            self.card_stale = True

    def forget(self, user_id: str) -> Removed:
        """Take the person out of the manifests this worker owns, now: the janitor may run on another worker.

        Sessions stored but not yet listed are checked against the erasure when their manifest is written."""
        removed = Removed()
        for manifest in self.owned.values():
            if n := drop_user(manifest, user_id):
                self.uploads.put(manifest.key(), manifest.to_bytes(), "application/json")
                removed += Removed(sessions=n, manifests=1)
        return removed

    def drop_partition(self, partition: int) -> None:
        """Forget a ``trajectories`` partition this worker no longer owns: its new owner reads it again."""
        for key in [k for k in self.owned if k[1] == partition]:
            del self.owned[key]
        for key in [k for k in self.dirty if k[1] == partition]:
            del self.dirty[key]

    def write_card(self, force: bool = False) -> None:
        """Regenerate the card if a manifest changed, at most every ``card_seconds`` unless ``force``."""
        if not (self.card_stale and (force or self.clock() >= self.card_due)):
            return
        try:
            entries = [
                entry
                for key in list_keys(self.s3, self.bucket, self.root + "manifests/")
                if key.endswith(".json") and (body := get_or_none(self.s3, self.bucket, key)) is not None
                for entry in Manifest.from_bytes(body).sessions.values()
            ]
            columns = {f.name: (str(f.type), STEP_DOCS.get(f.name, "")) for f in STEP_SCHEMA}
            card = render_card(entries, columns, datetime.now(UTC))
            self.uploads.put(CARD_NAME, card.encode(), "text/markdown; charset=utf-8")
        except (BotoCoreError, ClientError, StorageStopped) as exc:
            log.warning("could not update the dataset card (%s); will try again", exc)
        self.card_stale = False
        self.card_due = self.clock() + self.card_seconds
