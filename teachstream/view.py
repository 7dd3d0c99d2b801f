"""One session as a self-contained HTML page: each step's frame with its action drawn on it (pure core).

``render_session(entry, steps, frames)`` returns the page as a string. Frames are embedded
once each as ``data:`` URIs and reused by every step that shows them; nothing is loaded from
elsewhere and there is no JavaScript. A step's marker is drawn in an SVG whose coordinates are
the frame's image pixels, so it scales with the image: a screen point ``(x, y)`` lands at
``((x - frame_left) * frame_scale, (y - frame_top) * frame_scale)``.

Markers, all in ``MARK`` with a white outline: click = ring around a dot, double click = two
rings, right click = dashed ring, drag = path from a ring (start) to a dot (end), scroll =
arrow in the wheel's direction (``dy > 0`` is wheel up, ``dx > 0`` wheel right). Typed text
is a caption on the frame with placeholders such as ``<EMAIL>`` as chips; hotkeys and keys
are key caps. Boxes the screen redaction covered (column ``frame_removed``) are drawn as dark
blocks outlined in ``REMOVED``, each with its label. Everything taken from the data is escaped.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from html import escape
from typing import Any

from schemas.dataset import SessionEntry

MARK = "#ff0066"
_PLACEHOLDER = re.compile(r"(<[A-Z][A-Z_]*>)")
_POINTER = frozenset({"click", "double_click", "right_click", "drag", "scroll"})

_CSS = """
body{margin:0;background:#f3f3f6;color:#1d1d24;font:14px/1.4 system-ui,sans-serif}
main{width:min(960px,calc(100% - 32px));margin:0 auto;padding:16px 0 48px}
header h1{font-size:20px;margin:0 0 8px;overflow-wrap:anywhere}
header dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:0 0 16px}
header dt{color:#5a5a66}header dd{margin:0}
section.step{background:#fff;border:1px solid #dcdce4;border-radius:8px;margin:0 0 16px;padding:12px}
.head{display:flex;gap:12px;align-items:baseline;flex-wrap:wrap;margin:0 0 8px}
.num{font-weight:700}.action{color:#b0004a;font-weight:700}.offset{color:#5a5a66;font-variant-numeric:tabular-nums}
.where{color:#33333d;overflow-wrap:anywhere}.detail{margin:0 0 8px;color:#33333d;overflow-wrap:anywhere}
figure{position:relative;margin:0;line-height:0}
figure svg{display:block;width:100%;height:auto}
.missing{position:relative;aspect-ratio:16/10;display:flex;align-items:center;justify-content:center;
 background:repeating-linear-gradient(45deg,#ececf1 0 12px,#e2e2e9 12px 24px);color:#3a3a44;font-weight:600}
.typed{position:absolute;left:3%;right:3%;bottom:4%;padding:8px 12px;border-radius:6px;line-height:1.5;
 background:rgba(20,20,28,.85);color:#fff;font:16px/1.5 ui-monospace,monospace;white-space:pre-wrap;
 overflow-wrap:anywhere;outline:2px solid #fff}
.keys{position:absolute;top:4%;right:3%;line-height:1}
kbd{display:inline-block;margin-left:4px;padding:6px 10px;border:1px solid #1d1d24;border-bottom-width:3px;
 border-radius:6px;background:#fff;color:#1d1d24;font:600 15px ui-monospace,monospace}
.note{position:absolute;top:4%;left:3%;padding:4px 8px;border-radius:6px;background:#fff;color:#1d1d24;
 font:600 13px/1.4 system-ui,sans-serif}
.chip{display:inline-block;padding:0 6px;border-radius:9px;background:#ffd23f;color:#1d1d24;
 font:700 12px/1.6 system-ui,sans-serif;letter-spacing:.02em}
"""


REMOVED = "#f2b138"  # the outline of a covered box


def render_session(entry: SessionEntry, steps: Sequence[Mapping[str, Any]], frames: Mapping[str, bytes]) -> str:
    """The whole page as one string; frames are embedded as data: URIs, nothing is loaded from elsewhere."""
    ids: dict[str, str] = {}
    defs: list[str] = []
    for step in steps:
        key, size = _frame_key(step), _size(step)
        if key and key in frames and size and key not in ids:
            ids[key] = f"frame-{len(ids)}"
            defs.append(
                f'<image id="{ids[key]}" width="{size[0]}" height="{size[1]}" href="{_data_uri(frames[key])}"/>'
            )
    cards = "\n".join(_card(step, entry.start, ids) for step in steps)
    sid = escape(entry.session_id)
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Session {sid}</title>'
        f"<style>{_CSS}</style></head><body>\n"
        f'<svg width="0" height="0" style="position:absolute" aria-hidden="true"><defs>{"".join(defs)}</defs></svg>\n'
        f"<main>\n{_header(entry)}\n{cards}\n</main></body></html>\n"
    )


def frame_point(step: Mapping[str, Any], x: float, y: float) -> tuple[float, float] | None:
    """Where a screen point lands on the step's frame, in image pixels (None if the frame's geometry is unknown)."""
    scale, left, top = step.get("frame_scale"), step.get("frame_left"), step.get("frame_top")
    if scale is None or left is None or top is None:
        return None
    return (x - left) * scale, (y - top) * scale


def text_html(text: str) -> str:
    """Escaped text with placeholders such as ``<EMAIL>`` as chips."""
    return "".join(
        f'<span class="chip">{escape(part[1:-1])}</span>' if i % 2 else escape(part)
        for i, part in enumerate(_PLACEHOLDER.split(text))
    )


# -- the page's parts -------------------------------------------------------------------
def _header(entry: SessionEntry) -> str:
    rows = [
        ("Device pseudonym", entry.device_id),
        ("Person pseudonym", entry.user_id),
        ("Start", entry.start_time),
        ("End", entry.end_time),
        ("Duration", _duration(entry.end - entry.start)),
        ("End reason", entry.end_reason),
        ("Steps", str(entry.steps)),
        ("Events", str(entry.events)),
        ("Frames", str(entry.frames)),
        ("Redactions", str(entry.redactions)),
        ("Apps", ", ".join(entry.apps) or "none"),
    ]
    items = "".join(f"<dt>{name}</dt><dd>{escape(value)}</dd>" for name, value in rows)
    return f"<header><h1>Session {escape(entry.session_id)}</h1><dl>{items}</dl></header>"


def _card(step: Mapping[str, Any], start: datetime, ids: Mapping[str, str]) -> str:
    index, action = int(step["index"]), str(step["action"])
    offset = _duration(step["start_time"] - start, sign="+")
    where = f"{escape(step.get('app') or '')} — {text_html(step.get('title') or '')}"
    head = (
        f'<div class="head"><span class="num">Step {index + 1}</span><span class="action">{escape(action)}</span>'
        f'<span class="offset">{offset}</span><span class="where">{where}</span></div>'
    )
    return (
        f'<section class="step" id="step-{index}" data-action="{escape(action)}">{head}'
        f'<p class="detail">{_detail(step)}</p>{_frame(step, ids)}</section>'
    )


def _detail(step: Mapping[str, Any]) -> str:
    action, x, y = step["action"], step.get("x"), step.get("y")
    at = f" at ({x}, {y})" if x is not None and y is not None else ""
    if action == "drag":
        path = step.get("path") or []
        end = f" to ({path[-1]['x']}, {path[-1]['y']})" if path else ""
        return f"{escape(step.get('button') or '')} button from ({x}, {y}){end}, {len(path)} points"
    if action == "scroll":
        dx, dy = step.get("dx") or 0, step.get("dy") or 0
        moves = [f"{'up' if dy > 0 else 'down'} {abs(dy)}"] if dy else []
        moves += [f"{'right' if dx > 0 else 'left'} {abs(dx)}"] if dx else []
        return f"wheel {', '.join(moves) or 'still'}{at}"
    if action in _POINTER:
        return f"{escape(step.get('button') or '')} button{at}"
    if action == "type":
        return f"typed {len(step.get('text') or '')} characters"
    return "keys " + " + ".join(escape(k) for k in step.get("keys") or [])


def _frame(step: Mapping[str, Any], ids: Mapping[str, str]) -> str:
    extras = ""
    if step["action"] == "type":
        extras += f'<div class="typed">{text_html(step.get("text") or "")}</div>'
    if step.get("keys") and step["action"] in {"hotkey", "key"}:
        extras += '<div class="keys">' + "".join(f"<kbd>{escape(k)}</kbd>" for k in step["keys"]) + "</div>"
    key, size = _frame_key(step), _size(step)
    if not key or key not in ids or not size:
        why = "no frame for this step" if not step.get("frame_id") else "frame not available"
        return f'<div class="missing">{why}{extras}</div>'
    w, h = size
    point = frame_point(step, step["x"], step["y"]) if step.get("x") is not None and step.get("y") is not None else None
    if point and not (0 <= point[0] <= w and 0 <= point[1] <= h):
        extras += '<div class="note">pointer outside this frame</div>'
    return (
        f'<figure><svg viewBox="0 0 {w} {h}" role="img"><use href="#{ids[key]}"/>'
        f"{_removed(step, max(w, h) / 100)}{_marker(step, max(w, h) / 100)}</svg>{extras}</figure>"
    )


def _removed(step: Mapping[str, Any], u: float) -> str:
    """The boxes the screen redaction covered, as labelled blocks over the (already covered) pixels."""
    out = []
    for box in step.get("frame_removed") or []:
        x, y, w, h = box["x"], box["y"], box["width"], box["height"]
        size = min(max(h * 0.6, 1.1 * u), 2.4 * u)
        out.append(
            f'<g class="removed"><rect x="{x}" y="{y}" width="{w}" height="{h}" fill="#26262e" '
            f'stroke="{REMOVED}" stroke-width="{_n(0.25 * u)}"/>'
            f'<text x="{_n(x + 0.4 * u)}" y="{_n(y + min(h, size * 1.1) - 0.15 * size)}" font-size="{_n(size)}" '
            f'fill="#fff" font-family="sans-serif">{escape(box["label"])}</text></g>'
        )
    return "".join(out)


# -- markers, in image pixels; u is 1% of the frame's longer side -------------------------
def _marker(step: Mapping[str, Any], u: float) -> str:
    action, x, y = step["action"], step.get("x"), step.get("y")
    if action not in _POINTER or x is None or y is None:
        return ""
    point = frame_point(step, x, y)
    if point is None:
        return ""
    cx, cy = point
    if action == "drag":
        pts = [p for q in step.get("path") or [{"x": x, "y": y}] if (p := frame_point(step, q["x"], q["y"]))]
        line = " ".join(f"{_n(px)},{_n(py)}" for px, py in pts)
        ex, ey = pts[-1]
        return (
            _outlined("polyline", f'points="{line}" fill="none" stroke-linejoin="round"', 0.7 * u)
            + _ring(pts[0][0], pts[0][1], 1.8 * u, u)
            + _dot(ex, ey, 1.1 * u, u)
        )
    if action == "scroll":
        return _arrow(cx, cy, step.get("dx") or 0, step.get("dy") or 0, u)
    rings = _ring(cx, cy, 2.6 * u, u, dashed=action == "right_click")
    if action == "double_click":
        rings += _ring(cx, cy, 4.0 * u, u)
    return rings + _dot(cx, cy, 0.7 * u, u)


def _outlined(tag: str, attrs: str, width: float) -> str:
    """The shape twice: a wider white stroke under the marker colour, visible on any screenshot."""
    return (
        f'<{tag} {attrs} stroke="#fff" stroke-width="{_n(width * 2.2)}"/>'
        f'<{tag} {attrs} stroke="{MARK}" stroke-width="{_n(width)}"/>'
    )


def _ring(cx: float, cy: float, r: float, u: float, dashed: bool = False) -> str:
    attrs = f'cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(r)}" fill="none"'
    dash = f' stroke-dasharray="{_n(1.2 * u)} {_n(0.8 * u)}"' if dashed else ""
    return (
        f'<circle {attrs} stroke="#fff" stroke-width="{_n(1.4 * u)}"/>'
        f'<circle {attrs} stroke="{MARK}" stroke-width="{_n(0.6 * u)}"{dash}/>'
    )


def _dot(cx: float, cy: float, r: float, u: float) -> str:
    return f'<circle cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(r)}" fill="{MARK}" stroke="#fff" stroke-width="{_n(0.3 * u)}"/>'


def _arrow(cx: float, cy: float, dx: int, dy: int, u: float) -> str:
    length = math.hypot(dx, dy)
    if not length:
        return _dot(cx, cy, 0.9 * u, u)
    ux, uy = dx / length, -dy / length  # wheel up (dy > 0) points up the screen
    tx, ty = cx + ux * 7 * u, cy + uy * 7 * u
    bx, by = tx - ux * 2.2 * u, ty - uy * 2.2 * u
    head = [(tx, ty), (bx - uy * 1.6 * u, by + ux * 1.6 * u), (bx + uy * 1.6 * u, by - ux * 1.6 * u)]
    points = " ".join(f"{_n(px)},{_n(py)}" for px, py in head)
    return (
        _outlined("line", f'x1="{_n(cx)}" y1="{_n(cy)}" x2="{_n(bx)}" y2="{_n(by)}" stroke-linecap="round"', 0.7 * u)
        + f'<polygon points="{points}" fill="{MARK}" stroke="#fff" stroke-width="{_n(0.3 * u)}"/>'
        + _dot(cx, cy, 0.7 * u, u)
    )


# -- small helpers ----------------------------------------------------------------------
def _frame_key(step: Mapping[str, Any]) -> str | None:
    key = step.get("frame_key")
    return str(key) if key else None


def _size(step: Mapping[str, Any]) -> tuple[int, int] | None:
    w, h = step.get("frame_width"), step.get("frame_height")
    return (int(w), int(h)) if w and h else None


def _data_uri(image: bytes) -> str:
    kind = "png" if image.startswith(b"\x89PNG") else "jpeg"
    return f"data:image/{kind};base64,{base64.b64encode(image).decode()}"


def _duration(delta: timedelta, sign: str = "") -> str:
    seconds = delta.total_seconds()
    sign, seconds = ("-" if seconds < 0 else sign), abs(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{sign}{int(hours)}:{int(minutes):02d}:{secs:04.1f}" if hours else f"{sign}{int(minutes)}:{secs:04.1f}"


def _n(value: float) -> str:
    return f"{value:.1f}"
