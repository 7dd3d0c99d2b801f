"""``make bench``: every benchmark, with the machine and the date, written to BENCHMARKS.md.

Set BENCH_COLD=0 to skip the cold stack start (it downloads and builds everything again).
"""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from bench import codec_bench, stack_bench

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


def main() -> None:
    cold = os.environ.get("BENCH_COLD", "1") != "0"
    print("bench: Avro codec ...", flush=True)
    rates = codec_bench.run()
    print("bench: stack start times ...", flush=True)
    starts = stack_bench.run(cold=cold)
    lines = [
        "# Benchmarks",
        "",
        "Produced by `make bench` (`python -m bench.run`); every comparison is measured in the same run.",
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: {machine()}",
        "",
        "## Avro encode/decode, one core",
        "",
        "Interaction events from the simulator (key, mouse, focus events with window context), 50,000 per",
        "measurement, best of 3. The baseline is plain `fastavro` on the same dicts without framing.",
        "",
        "| operation | events/s | bytes/event |",
        "| --- | ---: | ---: |",
        *[f"| {r.name} | {r.per_s:,.0f} | {r.bytes_per_record:.0f} |" for r in rates],
        "",
        "## Local stack start (`deploy/local/stack.sh up`, Kafka + S3 + topics + bucket, no workers)",
        "",
        "| case | seconds | what it does |",
        "| --- | ---: | --- |",
        *[f"| {s.name} | {s.seconds:.1f} | {s.note} |" for s in starts],
        "",
    ]
    (ROOT / "BENCHMARKS.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
