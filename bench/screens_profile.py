"""``python -m bench.screens_profile``: where a typical frame's CPU goes in incremental screen redaction.

Runs the redactor with a ``FrameState`` per clip over the sequences of ``bench.screens_corpus``
(no oracle, nothing else in the process), prints the median CPU per frame, then profiles the
frames within 40% of that median (cProfile: its own overhead inflates Python-heavy parts) and
prints the functions with the most time of their own.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import time

from bench.screens_corpus import corpus
from bench.screens_eval import STORED, _blank
from streams.core.redaction import find_pii
from streams.core.screens import FrameState, redact_frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--top", type=int, default=15, help="functions to list")
    parser.add_argument("--sort", default="tottime", help="pstats order: tottime or cumulative")
    args = parser.parse_args()
    find_pii("warm up Maria Garcia")
    redact_frame(_blank(), [], None, [])
    clips = [clip for clip in corpus() if clip.kind == "sequence"]
    costs: list[float] = []
    for clip in clips:
        state = FrameState()
        for frame in clip.frames:
            start = time.process_time()
            redact_frame(frame.jpeg, frame.windows, None, frame.known, state=state, output_scale=STORED)
            costs.append(time.process_time() - start)
    median = statistics.median(costs)
    print(f"{len(costs)} frames: median {median * 1000:.1f} ms of CPU per frame")
    profile, profiled, index = cProfile.Profile(), 0, 0
    for clip in clips:
        state = FrameState()
        for frame in clip.frames:
            typical = 0.6 * median < costs[index] < 1.4 * median
            index += 1
            if typical:
                profile.enable()
            redact_frame(frame.jpeg, frame.windows, None, frame.known, state=state, output_scale=STORED)
            if typical:
                profile.disable()
                profiled += 1
    print(f"profile of the {profiled} frames within 40% of the median (totals over them):")
    pstats.Stats(profile).sort_stats(args.sort).print_stats(args.top)


if __name__ == "__main__":
    main()
