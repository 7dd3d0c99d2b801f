"""``python -m bench.screens_eval [--quick]``: screen redaction against full-frame OCR, in the same run.

Frames of ``bench.screens_corpus`` (single screens and sequences, fixed seed) arrive at full
scale, as the agent sends them; both redactors store them at ``STORED`` scale (0.5). The
baseline reads every frame in full (no state); ours keeps a ``FrameState`` per sequence and
reads only what changed. Both use the same OCR engine and detectors. The oracle is OCR at
3x of a frame at the stored scale (what a person sees in S3), and, to be strict about what
counts as readable in the original, also OCR of the full-scale frame (at 1.5x: the same
pixels per glyph as 3x of the stored frame; it reads more of the small fonts).

- PII recall: of the PII strings of 4+ letters and digits (and the words of denied windows)
  the oracle reads in the original (the unredacted frame as it would be stored, or the
  full-scale frame; approximate match, as for known strings), the share it does not read in
  the stored redacted frame;
- kept text: of the plain words of 4+ letters the oracle reads in the unredacted stored
  frame (the same approximate match), the share it still reads in the redacted one.
  A string counts as read in a line the oracle found where the string is drawn, or in the
  string's own box read alone (OCR reads a line as a whole: a word whose neighbour was
  covered is sometimes lost in its line while a person, and OCR of the word alone, still
  read it; the same union makes PII recall stricter);
- over-covered: covered area outside the PII words and the visible parts of denied windows
  (a denied window's fill over a window stacked above it counts), share of the frame;
- CPU ms per frame (``time.process_time``, this process; the OCR engine runs in process):
  median, p95, max, mean. Each redactor is timed on its own over the whole set before any
  oracle reading, the clips' frames in turn (the first frame of every clip, then the second,
  ...), as one worker serving many devices meets them; ``--passes`` times (ours, then the
  baseline, then ours again, ...), each frame's CPU the median of its passes (a frame of 20 ms
  moves by 10% or more from one pass to the next on a shared machine), its output the first
  pass's (every pass must give the same bytes).

The oracle's readings of the original frames are cached in ``bench-out/`` by the frames'
digests (they do not depend on the redactor); ``--no-cache`` reads them again.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import pickle
import platform
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from PIL import Image

from bench.screens_corpus import Clip, Frame, Token, corpus
from schemas.capture_policy import CapturePolicy
from streams.core.redaction import find_pii
from streams.core.screens import FrameState, Removed, redact_frame
from streams.core.screens.geometry import Box, union
from streams.core.screens.matching import fuzzy_find, max_edits, normalize
from streams.core.screens.ocr import Word, read_region
from streams.core.screens.pixels import Canvas, Gray
from streams.core.screens.redact import PAD

STORED = 0.5
QUALITY = 70
MIN_PII = 4  # letters and digits: shorter fragments (a value being typed) say nothing
OUT = Path("bench-out")
CACHE = OUT / ".screens_oracle-v7.pickle"
_POLICY = CapturePolicy()


class Reading:
    """What the oracle reads in one frame: every line (normalized text, box in screen pixels)
    and, on demand, a token's own box read alone (normalized)."""

    def __init__(self, jpeg: bytes, upscale: float, scale: float) -> None:
        self.jpeg, self.upscale, self.scale = jpeg, upscale, scale
        self.lines = [
            (normalize(line.text), _line_box(line.words, scale))
            for line in read_region(self._gray(), self._whole(), upscale)
        ]
        self.crops: dict[Box, str] = {}

    def _gray(self) -> Gray:
        return np.asarray(Image.open(io.BytesIO(self.jpeg)).convert("L"))

    def _whole(self) -> Box:
        width, height = Image.open(io.BytesIO(self.jpeg)).size
        return Box(0, 0, width, height)

    def near(self, token: Token) -> list[str]:
        """The lines read where the token is (so a word shown elsewhere too does not count), and
        the token's box read alone: a word OCR loses in its line (the line's other words
        changed, as when a neighbour is covered) but reads alone is readable."""
        texts = [text for text, box in self.lines if box.pad(4).intersects(token.box)]
        if token.box not in self.crops:
            region = token.box.scaled(self.scale).pad(2)
            lines = read_region(self._gray(), region, self.upscale)
            self.crops[token.box] = normalize(" ".join(line.text for line in lines))
        return [*texts, self.crops[token.box]]


class Oracle:
    """OCR of whole frames and of tokens' boxes; readings of originals cached."""

    def __init__(self, cache: bool) -> None:
        self.path = CACHE if cache else None
        self.memo: dict[tuple[bytes, float], Reading] = {}
        if self.path is not None and self.path.exists():
            self.memo = pickle.loads(self.path.read_bytes())

    def read(self, jpeg: bytes, upscale: float, scale: float, remember: bool = False) -> Reading:
        """What OCR at ``upscale`` reads in a frame at ``scale`` (image pixels per screen pixel)."""
        key = (hashlib.blake2b(jpeg, digest_size=16).digest(), upscale)
        if key in self.memo:
            return self.memo[key]
        reading = Reading(jpeg, upscale, scale)
        if remember:
            self.memo[key] = reading
        return reading

    def save(self) -> None:
        if self.path is not None:
            self.path.parent.mkdir(exist_ok=True)
            self.path.write_bytes(pickle.dumps(self.memo))


def _line_box(words: tuple[Word, ...], scale: float) -> Box:
    return union(w.box for w in words).scaled(1 / scale)


def stored(jpeg: bytes) -> bytes:
    """The frame as it would be stored without redaction: downsized the way ``redact_frame`` does."""
    return Canvas(jpeg, STORED).encode(QUALITY)


def pii_readable(token: Token, reading: Reading) -> bool:
    needle = normalize(token.text)
    return bool(needle) and any(fuzzy_find(text, needle, max_edits(needle)) for text in reading.near(token))


def word_readable(token: Token, lines: Reading) -> bool:
    """The same approximate match as for PII: reading noise at the edge of legibility (a
    redrawn JPEG block, a letter misread) is not counted as a word lost or kept."""
    return pii_readable(token, lines)


@dataclass
class Score:
    pii_read: int = 0
    pii_hidden: int = 0
    words_read: int = 0
    words_kept: int = 0
    over: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)

    def add(
        self,
        clip: str,
        frame: Frame,
        before: tuple[Reading, Reading],
        after: Reading | None,
        removed: list[Removed],
        cpu: float,
    ) -> None:
        self.cpu_ms.append(cpu * 1000)
        width, height = round(frame.width * STORED), round(frame.height * STORED)
        legit = np.zeros((height, width), dtype=bool)
        covered = np.zeros_like(legit)
        before_stored, before_full = before
        for token in frame.tokens:
            if token.label is not None:
                box = token.box.pad(PAD).scaled(STORED).pad(1).clip(width, height)
                legit[box.y0 : box.y1, box.x0 : box.x1] = True
                if after is None or len(normalize(token.text)) < MIN_PII:
                    continue
                if pii_readable(token, before_stored) or pii_readable(token, before_full):
                    self.pii_read += 1
                    hidden = not pii_readable(token, after)
                    self.pii_hidden += hidden
                    if not hidden:
                        self.leaks.append(f"{clip}: {token.label} {token.text!r} ({token.box.height} px)")
            elif after is not None and len(normalize(token.text)) >= 4 and word_readable(token, before_stored):
                self.words_read += 1
                kept = word_readable(token, after)
                self.words_kept += kept
                if not kept:
                    self.lost.append(f"{clip}: {token.text!r} ({token.box.height} px)")
        denied = np.zeros_like(legit)  # the visible parts of denied windows (records bottom to top)
        for window in frame.windows:
            box = Box(window.x, window.y, window.x + window.width, window.y + window.height).scaled(STORED)
            allowed = _POLICY.decide_window(window.app, window.title).allowed
            denied[max(0, box.y0) : box.y1, max(0, box.x0) : box.x1] = not allowed
        legit |= denied
        for r in removed:
            covered[r.y : r.y + r.h, r.x : r.x + r.w] = True
        self.over.append(float((covered & ~legit).mean()))

    def row(self, name: str, base_median: float | None) -> str:
        cpu = sorted(self.cpu_ms)
        p95 = cpu[min(len(cpu) - 1, round(0.95 * (len(cpu) - 1)))]
        median = statistics.median(cpu)
        ratio = f"{median / base_median:.2%}" if base_median else "100%"
        measured = self.pii_read > 0
        recall = f"{self.pii_hidden / self.pii_read:.3f} ({self.pii_hidden}/{self.pii_read})" if measured else "-"
        kept = f"{self.words_kept / self.words_read:.3f} ({self.words_kept}/{self.words_read})" if measured else "-"
        return (
            f"| {name} | {len(cpu)} | {recall} | {kept} | {statistics.mean(self.over):.2%} "
            f"| {median:.1f} | {p95:.0f} | {max(cpu):.0f} | {statistics.mean(cpu):.0f} | {ratio} |"
        )


Redacted = tuple[bytes, list[Removed], float]  # the stored frame, what was covered, CPU seconds


def redact_all(clips: list[Clip], stateful: bool) -> tuple[list[list[Redacted]], list[FrameState | None]]:
    """Every frame redacted and timed, before any oracle reading, the clips' frames in turn
    (the first of every clip, then the second, ...): one worker serving many devices, each
    with its own state when ``stateful`` (ours), none for the baseline."""
    states: list[FrameState | None] = [FrameState() if stateful else None for _ in clips]
    results: list[list[Redacted]] = [[] for _ in clips]
    for index in range(max(len(clip.frames) for clip in clips)):
        for clip, state, out in zip(clips, states, results, strict=True):
            if index < len(clip.frames):
                frame = clip.frames[index]
                start = time.process_time()
                jpeg, removed = redact_frame(
                    frame.jpeg, frame.windows, None, frame.known, state=state, output_scale=STORED
                )
                out.append((jpeg, removed, time.process_time() - start))
    return results, states


def timed(clips: list[Clip], passes: int) -> tuple[list[list[Redacted]], list[list[Redacted]], list[FrameState | None]]:
    """Ours and the baseline redacted ``passes`` times, in turns: the first pass's outputs, each
    frame's CPU the median over the passes, and our states after the first pass."""
    ours, states = redact_all(clips, stateful=True)
    ours_runs, base_runs = [ours], [redact_all(clips, stateful=False)[0]]
    for _ in range(passes - 1):
        ours_runs.append(redact_all(clips, stateful=True)[0])
        base_runs.append(redact_all(clips, stateful=False)[0])
    return _median_cpu(ours_runs), _median_cpu(base_runs), states


def _median_cpu(runs: list[list[list[Redacted]]]) -> list[list[Redacted]]:
    """The first run's outputs, each frame's CPU the median over the runs (which must store the same frames)."""
    out = []
    for clip_runs in zip(*runs, strict=True):
        row = []
        for frame_runs in zip(*clip_runs, strict=True):
            jpeg, removed, _ = frame_runs[0]
            if any(other[0] != jpeg for other in frame_runs):
                raise AssertionError("two timing passes stored different frames")
            row.append((jpeg, removed, statistics.median(other[2] for other in frame_runs)))
        out.append(row)
    return out


def evaluate(clips: list[Clip], oracle: Oracle, baseline_recall: bool, passes: int) -> dict[tuple[str, str], Score]:
    ours, base, states = timed(clips, passes)
    scores: dict[tuple[str, str], Score] = defaultdict(Score)
    for clip, our_frames, base_frames, state in zip(clips, ours, base, states, strict=True):
        for frame, (ours_jpeg, ours_removed, ours_cpu), (base_jpeg, base_removed, base_cpu) in zip(
            clip.frames, our_frames, base_frames, strict=True
        ):
            before = (oracle.read(stored(frame.jpeg), 3, STORED, True), oracle.read(frame.jpeg, 1.5, 1.0, True))
            base_after = oracle.read(base_jpeg, 3, STORED) if baseline_recall else None
            ours_after = oracle.read(ours_jpeg, 3, STORED)
            for kind in _sets(clip):
                scores[(kind, "baseline")].add(clip.name, frame, before, base_after, base_removed, base_cpu)
                scores[(kind, "ours")].add(clip.name, frame, before, ours_after, ours_removed, ours_cpu)
        scrolls = state.scrolls if state is not None else 0
        print(f"  {clip.name}: {len(clip.frames)} frames, {scrolls} scrolls followed", flush=True)
        oracle.save()
    return scores


def _sets(clip: Clip) -> set[str]:
    """The sets a clip counts in: its kind, and for sequences its scenario and its theme."""
    if clip.kind != "sequence":
        return {clip.kind}
    scenario, theme = clip.name.split("-")[:2]
    return {clip.kind, scenario, f"sequence {theme}"}


def _blank() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 32), "white").save(out, format="JPEG")
    return out.getvalue()


def table(scores: dict[tuple[str, str], Score], sets: list[str]) -> list[str]:
    out = [
        "| set / redactor | frames | PII recall | kept text | over-covered "
        "| CPU ms median | p95 | max | mean | median vs baseline |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for kind in sets:
        base = scores[(kind, "baseline")]
        out.append(base.row(f"{kind} / baseline (full-frame OCR)", None))
        out.append(scores[(kind, "ours")].row(f"{kind} / ours (incremental)", statistics.median(base.cpu_ms)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a small set (about 25 frames)")
    parser.add_argument("--no-cache", action="store_true", help="read the original frames again")
    parser.add_argument("--leaks", action="store_true", help="list the PII strings still readable")
    parser.add_argument("--out", type=Path, help="also write the markdown table to this file")
    parser.add_argument("--passes", type=int, default=3, help="timing passes; each frame's CPU is their median")
    args = parser.parse_args()
    find_pii("warm up Maria Garcia")  # load the NER model outside the timings
    redact_frame(_blank(), [], None, [])  # and the OCR engine
    clips = corpus(quick=args.quick)
    print(f"{sum(len(c.frames) for c in clips)} frames in {len(clips)} clips", flush=True)
    started = time.monotonic()
    scores = evaluate(clips, Oracle(not args.no_cache), baseline_recall=not args.quick, passes=args.passes)
    head = (
        f"{datetime.now(UTC):%Y-%m-%d}, {platform.machine()}, {os.cpu_count()} CPUs, "
        f"python {platform.python_version()}; frames at scale 1.0 in, {STORED} stored; "
        f"`python -m bench.screens_eval{' --quick' if args.quick else ''}` ({args.passes} timing passes, "
        f"{time.monotonic() - started:.0f} s)"
    )
    kinds = sorted({kind for kind, _ in scores} - {"single", "sequence"})
    lines = [head, "", *table(scores, ["single", "sequence"]), "", "By scenario:", "", *table(scores, kinds)]
    print("\n" + "\n".join(lines))
    if args.leaks:
        print("\nStill readable (ours):")
        for kind in ("single", "sequence"):
            for leak in scores[(kind, "ours")].leaks:
                print("  " + leak)
        print("\nNo longer readable (ours):")
        for kind in ("single", "sequence"):
            for lost in scores[(kind, "ours")].lost:
                print("  " + lost)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
