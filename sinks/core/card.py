"""The dataset card: README.md at the dataset root, generated from the manifests (pure core)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime

from schemas.dataset import LAYOUT_VERSION, SessionEntry


def render_card(entries: Iterable[SessionEntry], columns: Mapping[str, tuple[str, str]], generated: datetime) -> str:
    """Markdown: what the dataset is, how to load it, its columns, counts and redaction statistics.

    ``columns`` maps a step column to (type, meaning).
    """
    sessions = list(entries)
    steps = sum(e.steps for e in sessions)
    frames = sum(e.frames for e in sessions)
    size = sum(e.bytes for e in sessions)
    days = sorted({e.dt for e in sessions})
    actions_note = "" if sessions else "\nNo session is complete yet.\n"
    labels: Counter[str] = Counter()
    boxes: Counter[str] = Counter()
    apps: Counter[str] = Counter()
    for e in sessions:
        labels.update(e.labels)
        boxes.update(e.frame_labels)
        apps.update({a: e.steps for a in e.apps})
    lines = [
        "# teachstream dataset",
        "",
        "Computer-use trajectories recorded with the consent of the people using the computers.",
        "Typed text and window titles are redacted: personal data is replaced by placeholders such as",
        "`<EMAIL>`; people and devices appear only as keyed pseudonyms (`u-…`, `d-…`).",
        "",
        f"Generated {generated.isoformat(timespec='seconds')} from the manifests; layout {LAYOUT_VERSION}.",
        actions_note,
        "## Load it",
        "",
        "```python",
        "from teachstream import dataset",
        'ds = dataset.open("s3://<bucket>/<prefix>dataset/v1/")  # or a local copy',
        "table = ds.to_table()            # pyarrow, one row per step",
        "for step in ds.iter_steps():     # dicts with the frame decoded (PIL image)",
        "    ...",
        "```",
        "",
        "`teachstream dataset ls|show|stats|export` and `teachstream view SESSION_ID` work on it too.",
        "",
        "## Counts",
        "",
        "| | |",
        "|---|---|",
        f"| sessions | {len(sessions)} |",
        f"| steps | {steps} |",
        f"| frames | {frames} |",
        f"| people | {len({e.user_id for e in sessions})} |",
        f"| devices | {len({e.device_id for e in sessions})} |",
        f"| days | {days[0] + ' to ' + days[-1] if days else '-'} |",
        f"| size | {size / 1e6:.1f} MB |",
        "",
        "## Redactions",
        "",
        f"{sum(e.redactions for e in sessions)} redacted key events; placeholders in typed text by label:",
        "",
        "| label | placeholders |",
        "|---|---|",
        *(f"| {label} | {n} |" for label, n in sorted(labels.items())),
        "",
        f"Screenshots: {sum(boxes.values())} boxes covered with a solid fill (PII read in the pixels, text the",
        "person typed, denied windows); column `frame_removed` lists them per step. Boxes by label:",
        "",
        "| label | boxes |",
        "|---|---|",
        *(f"| {label} | {n} |" for label, n in sorted(boxes.items())),
        "",
        "## Apps (steps)",
        "",
        "| app | steps |",
        "|---|---|",
        *(f"| {app} | {n} |" for app, n in apps.most_common(20)),
        "",
        "## Layout",
        "",
        "- `steps/dt=YYYY-MM-DD/user=<u>/<session_id>.parquet`: one row per step (zstd Parquet)",
        "- `frames/user=<u>/device=<d>/<frame_id>.jpg`: the frame each step refers to",
        "- `manifests/dt=YYYY-MM-DD/partition=NNN.json`: the complete sessions; only these are part of the dataset",
        "",
        "## Step columns",
        "",
        "| column | type | meaning |",
        "|---|---|---|",
        *(f"| {name} | {kind} | {doc} |" for name, (kind, doc) in columns.items()),
        "",
    ]
    return "\n".join(lines)
