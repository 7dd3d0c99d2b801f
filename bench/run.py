"""``make bench``: every benchmark, with the machine and the date, written to BENCHMARKS.md.

Each section measures its baseline in the same run. ``BENCH_COLD=0`` skips the cold stack
start (it downloads and builds everything again); ``BENCH_ONLY=codec,pipeline`` runs a subset.
The pipeline and sink sections need the local stack (``make bench`` starts it); the agent section
needs Xvfb and xdotool (``make setup`` installs them).
"""

from __future__ import annotations

import os
import platform
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench import codec_bench, pipeline_bench, stack_bench

ROOT = Path(__file__).resolve().parents[1]


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem_kb = int(
        next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    )
    java = subprocess.run(["java", "-version"], capture_output=True, text=True, check=False).stderr.splitlines()[0]
    return (
        f"{cpu}, {os.cpu_count()} cores, {mem_kb / 1024 / 1024:.0f} GiB RAM; {platform.system()} "
        f"{platform.release()}; Python {platform.python_version()}; {java}"
    )


def codec_section() -> str:
    rates = codec_bench.run()
    return "\n".join(
        [
            "## Avro encode/decode, one core",
            "",
            "Interaction events from the simulator (key, mouse, focus events with window context), 50,000 per",
            "measurement, best of 3. The baseline is plain `fastavro` on the same dicts without framing.",
            "",
            "| operation | events/s | bytes/event |",
            "| --- | ---: | ---: |",
            *[f"| {r.name} | {r.per_s:,.0f} | {r.bytes_per_record:.0f} |" for r in rates],
            "",
        ]
    )


def stack_section() -> str:
    starts = stack_bench.run(cold=os.environ.get("BENCH_COLD", "1") != "0")
    return "\n".join(
        [
            "## Local stack start (`deploy/local/stack.sh up`, Kafka + S3 + topics + bucket, no workers)",
            "",
            "| case | seconds | what it does |",
            "| --- | ---: | --- |",
            *[f"| {s.name} | {s.seconds:.1f} | {s.note} |" for s in starts],
            "",
        ]
    )


def pipeline_section() -> str:
    return pipeline_bench.markdown(pipeline_bench.run())


def sink_section() -> str:
    from bench import sink_bench

    return sink_bench.markdown(sink_bench.run())


def reader_section() -> str:
    from bench import reader_bench

    return reader_bench.markdown(reader_bench.run())


def erasure_section() -> str:
    from bench import erasure_bench

    return erasure_bench.markdown(erasure_bench.run())


def redaction_section() -> str:
    from bench import redaction_eval

    return redaction_eval.markdown()


def screens_section() -> str:
    """The screen redaction's evaluation (``make eval-screens``), with its full-frame OCR baseline from the same run."""
    import sys

    out = ROOT / "bench-out" / "screens_eval.md"
    out.parent.mkdir(exist_ok=True)
    subprocess.run([sys.executable, "-m", "bench.screens_eval", "--out", str(out)], check=True, cwd=ROOT)
    return "\n".join(
        [
            "## Screen redaction: ours against full-frame OCR of every frame",
            "",
            "A generated, labelled set (`bench/screens_corpus.py`, fixed seed): single screens and sequences",
            "(filling a form, typing in a chat, scrolling a mail list, switching windows), light and dark, fonts",
            "9 to 24 px, frames at full scale in and stored at 0.5. PII recall: share of the PII strings readable",
            "in the unredacted frame (OCR at 3x of the stored frame, or of the full-scale frame) that are no",
            "longer readable in the stored, redacted frame (OCR at 3x); kept text: share of the other words still",
            "readable; CPU per frame from `time.process_time`. The baseline reads every whole frame with the same",
            "OCR and detectors, in the same run.",
            "",
            out.read_text().strip(),
            "",
        ]
    )


def browser_section() -> str:
    from bench import browser_bench

    return browser_bench.markdown(browser_bench.run())


def agent_section() -> str:
    from bench import agent_bench, agent_profile

    return "\n".join([agent_bench.markdown(agent_bench.run()), agent_profile.markdown(agent_profile.run())])


def load_section() -> str:
    from bench import load_curve

    return load_curve.section()


def chaos_section() -> str:
    import sys

    subprocess.run([sys.executable, "-m", "bench.chaos"], check=False, cwd=ROOT)  # its table says what failed
    summary = (ROOT / ".stack" / "chaos" / "summary.md").read_text()
    return "\n".join([
        "## Faults under load (`make chaos`)",
        "",
        "`bench/chaos.py` on a stack of its own: three Kafka nodes (replication factor 3, `min.insync.replicas` 2),",
        "S3, two stream workers and a sink. Each scenario: 20 simulated typical people with frames at 0.5 for 100 s,",
        "the fault while they work, then `teachstream ledger-check` until it passes (or 7 minutes).",
        "",
        summary.strip(),
        "",
    ])  # fmt: skip


def hostile_section() -> str:
    from bench import hostile

    port = int((ROOT / ".stack" / "ports").read_text()) + 50  # the stack's stream worker's metrics
    burst = 1_000_000
    return hostile.markdown(hostile.run(burst, 1800.0, f"http://127.0.0.1:{port}/metrics"), burst)


SECTIONS: dict[str, Callable[[], str]] = {
    "codec": codec_section,
    "stack": stack_section,
    "pipeline": pipeline_section,
    "sink": sink_section,
    "reader": reader_section,
    "erasure": erasure_section,
    "redaction": redaction_section,
    "screens": screens_section,
    "agent": agent_section,
    "browser": browser_section,
    "load": load_section,
    "hostile": hostile_section,
    "chaos": chaos_section,
}


def main() -> None:
    only = [s for s in os.environ.get("BENCH_ONLY", "").split(",") if s] or list(SECTIONS)
    parts = [
        "# Benchmarks",
        "",
        "Produced by `make bench` (`python -m bench.run`); every comparison is measured in the same run.",
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: {machine()}",
        "",
    ]
    for name in only:
        print(f"bench: {name} ...", flush=True)
        try:
            parts.append(SECTIONS[name]())
        except Exception as exc:  # one section failing must not hide the others
            parts.append(f"## {name}\n\nnot measured in this run: {type(exc).__name__}: {exc}\n")
    target = ROOT / "BENCHMARKS.md"
    if os.environ.get("BENCH_ONLY") and target.exists():  # a subset: replace those sections, keep the others
        old = _sections(target.read_text())
        kept = [s for s in old[1:] if s.split("\n", 1)[0] not in {p.split("\n", 1)[0] for p in parts[7:]}]
        # the header keeps the full run's date; the sections of this run say when they were measured
        header = [line for line in old[0].rstrip("\n").split("\n") if not line.startswith(f"- {', '.join(only)}:")]
        when = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
        stamp = f"- {', '.join(only)}: measured {when} (`BENCH_ONLY`), the rest on the date above"
        parts = [*header, stamp, "", *kept, *parts[7:]]
    text = "\n".join(parts)
    target.write_text(text)
    print(text)


def _sections(text: str) -> list[str]:
    """The header, then each ``## `` section of a BENCHMARKS.md."""
    chunks = text.split("\n## ")
    return [chunks[0], *("## " + c.rstrip("\n") + "\n" for c in chunks[1:])]


if __name__ == "__main__":
    main()
