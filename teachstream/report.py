"""What a set of sessions holds: distributions for `teachstream dataset stats` and its HTML report.

:func:`collect` reads each session's steps once (no frames); :func:`html` draws the distributions
with matplotlib (the ``report`` extra) into one self-contained page.
"""

from __future__ import annotations

import base64
import html as markup
import io
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from schemas.dataset import SessionEntry
from schemas.errors import ConfigError
from teachstream.quality import FLAGS, Thresholds, flags

if TYPE_CHECKING:
    from teachstream.dataset import Dataset


@dataclass
class Stats:
    sessions: int = 0
    steps: int = 0
    frames: int = 0
    people: int = 0
    devices: int = 0
    hours: float = 0.0
    bytes: int = 0
    redacted_key_events: int = 0
    steps_per_session: list[int] = field(default_factory=list)
    minutes_per_session: list[float] = field(default_factory=list)
    steps_per_frame: list[int] = field(default_factory=list)  # how many steps share each stored frame
    steps_without_frame: int = 0
    actions: Counter[str] = field(default_factory=Counter)
    apps: Counter[str] = field(default_factory=Counter)  # steps by app
    placeholders: Counter[str] = field(default_factory=Counter)  # in typed text, by label
    frame_boxes: Counter[str] = field(default_factory=Counter)  # covered in frames, by label
    flagged: Counter[str] = field(default_factory=Counter)

    def summary(self) -> dict[str, Any]:
        """The numbers as JSON-ready values (what ``teachstream dataset stats`` prints)."""
        return {
            "sessions": self.sessions,
            "steps": self.steps,
            "frames": self.frames,
            "people": self.people,
            "devices": self.devices,
            "hours": round(self.hours, 2),
            "bytes": self.bytes,
            "redacted_key_events": self.redacted_key_events,
            "placeholders": dict(sorted(self.placeholders.items())),
            "frame_boxes": dict(sorted(self.frame_boxes.items())),
            "actions": dict(self.actions.most_common()),
            "apps": dict(self.apps.most_common()),
            "steps_per_session": spread(self.steps_per_session),
            "minutes_per_session": spread(self.minutes_per_session),
            "steps_per_frame": spread(self.steps_per_frame),
            "steps_without_frame": self.steps_without_frame,
            "flagged": {name: self.flagged[name] for name in FLAGS},
        }


def spread(values: Sequence[float]) -> dict[str, float]:
    """Minimum, quartiles, 90th percentile, maximum and mean (zeros for no values)."""
    if not values:
        return {"min": 0, "p25": 0, "median": 0, "p75": 0, "p90": 0, "max": 0, "mean": 0}
    ordered = sorted(values)
    cuts = statistics.quantiles(ordered, n=20, method="inclusive") if len(ordered) > 1 else [ordered[0]] * 19
    return {
        "min": ordered[0],
        "p25": round(cuts[4], 2),
        "median": round(cuts[9], 2),
        "p75": round(cuts[14], 2),
        "p90": round(cuts[17], 2),
        "max": ordered[-1],
        "mean": round(statistics.fmean(ordered), 2),
    }


def add_session(stats: Stats, entry: SessionEntry, steps: Sequence[Mapping[str, Any]], limits: Thresholds) -> None:
    """Count one session and its steps into ``stats`` (pure)."""
    stats.sessions += 1
    stats.steps += len(steps)
    stats.frames += entry.frames
    stats.bytes += entry.bytes
    stats.redacted_key_events += entry.redactions
    minutes = (entry.end - entry.start).total_seconds() / 60
    stats.hours += minutes / 60
    stats.steps_per_session.append(len(steps))
    stats.minutes_per_session.append(round(minutes, 2))
    stats.placeholders.update(entry.labels)
    stats.frame_boxes.update(entry.frame_labels)
    sharing: Counter[str] = Counter()
    for s in steps:
        stats.actions[s["action"]] += 1
        stats.apps[s.get("app") or "(unknown)"] += 1
        if s.get("frame_key"):
            sharing[s["frame_key"]] += 1
        else:
            stats.steps_without_frame += 1
    stats.steps_per_frame.extend(sharing.values())
    stats.flagged.update(flags(entry, steps, limits))


def collect(ds: Dataset, sessions: Sequence[SessionEntry], limits: Thresholds | None = None) -> Stats:
    stats = Stats()
    columns = ["action", "app", "text", "frame_key"]
    for entry in sessions:
        add_session(stats, entry, ds.steps_table(entry).select(columns).to_pylist(), limits or Thresholds())
    stats.people = len({s.user_id for s in sessions})
    stats.devices = len({s.device_id for s in sessions})
    return stats


def html(stats: Stats, title: str) -> str:
    """One self-contained page: the summary table and a plot per distribution."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot
    except ImportError as exc:
        raise ConfigError("the HTML report needs matplotlib: pip install 'teachstream[report]'") from exc

    def figure(draw: Any, caption: str) -> str:
        fig, axes = pyplot.subplots(figsize=(6, 3.2), dpi=90)
        draw(axes)
        axes.set_title(caption)
        fig.tight_layout()
        out = io.BytesIO()
        fig.savefig(out, format="png")
        pyplot.close(fig)
        data = base64.b64encode(out.getvalue()).decode()
        return f'<figure><img alt="{markup.escape(caption)}" src="data:image/png;base64,{data}"></figure>'

    def bars(counts: Mapping[str, int], top: int = 12) -> Any:
        items = sorted(counts.items(), key=lambda kv: -kv[1])[:top]

        def draw(axes: Any) -> None:
            axes.barh([k for k, _ in reversed(items)], [v for _, v in reversed(items)], color="#4a7ab5")

        return draw

    def histogram(values: Sequence[float], unit: str) -> Any:
        def draw(axes: Any) -> None:
            axes.hist(values or [0], bins=min(30, max(5, len(values) // 3)), color="#4a7ab5")
            axes.set_xlabel(unit)
            axes.set_ylabel("count")

        return draw

    plots = [
        figure(histogram(stats.steps_per_session, "steps"), "Steps per session"),
        figure(histogram(stats.minutes_per_session, "minutes"), "Session length"),
        figure(bars(stats.actions), "Actions by kind"),
        figure(bars(stats.apps), "Steps by app"),
        figure(histogram(stats.steps_per_frame, "steps sharing one frame"), "Steps per frame"),
        figure(bars(stats.placeholders + stats.frame_boxes or Counter({"none": 0})), "Redactions by label"),
        figure(bars({name: stats.flagged[name] for name in FLAGS}), "Sessions by quality flag"),
    ]
    rows = "".join(
        f"<tr><th>{markup.escape(k)}</th><td>{markup.escape(str(v))}</td></tr>"
        for k, v in stats.summary().items()
        if not isinstance(v, dict)
    )
    return (
        f"<!doctype html><meta charset='utf-8'><title>{markup.escape(title)}</title>"
        "<style>body{font:14px sans-serif;margin:2em}table{border-collapse:collapse}"
        "th,td{padding:2px 10px;text-align:left;border-bottom:1px solid #ddd}"
        "figure{display:inline-block;margin:8px}</style>"
        f"<h1>{markup.escape(title)}</h1><table>{rows}</table>{''.join(plots)}"
    )
