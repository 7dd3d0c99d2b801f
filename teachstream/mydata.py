"""A person's copy of their data: everything stored about them, with a readable summary.

``export(...)`` writes a zip: ``index.html`` (sessions, apps, hours, what was redacted, consent
history, how to withdraw or ask for erasure), one page per session with its frames and
actions, and every stored object filed under the person (Parquet steps, frames), with their manifest entries.
"""

from __future__ import annotations

import html
import json
import zipfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

from schemas.control_records import ConsentRecord
from schemas.dataset import SessionEntry
from teachstream.dataset import Dataset
from teachstream.view import render_session

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;color:#222}"
    "table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left}"
    "h1{font-size:1.5em}.note{background:#f4f4f8;padding:1em;border-radius:6px}"
)


def render_summary(
    users: Sequence[str], sessions: Sequence[SessionEntry], consent: Sequence[ConsentRecord], generated: datetime
) -> str:
    """The readable front page of a person's export."""
    e = html.escape
    hours = sum((s.end - s.start).total_seconds() for s in sessions) / 3600
    apps: Counter[str] = Counter()
    labels: Counter[str] = Counter()
    boxes: Counter[str] = Counter()
    for s in sessions:
        apps.update({a: s.steps for a in s.apps})
        labels.update(s.labels)
        boxes.update(s.frame_labels)
    rows = "".join(
        f"<tr><td><a href='sessions/{e(s.session_id)}.html'>{e(s.start_time[:19])}</a></td>"
        f"<td>{(s.end - s.start).total_seconds() / 60:.1f} min</td><td>{s.steps}</td>"
        f"<td>{e(', '.join(s.apps))}</td><td>{s.redactions}</td></tr>"
        for s in sessions
    )
    consent_rows = "".join(
        f"<tr><td>{e(c.recorded_at.isoformat(timespec='seconds'))}</td><td>{e(c.state.value.lower())}</td>"
        f"<td>{e(', '.join(x.value.lower() for x in c.scopes) or 'all')}</td><td>{e(c.source)}</td>"
        f"<td>{e(c.policy_version)}</td></tr>"
        for c in consent
    )
    label_list = ", ".join(f"{e(k)} ({n})" for k, n in sorted(labels.items())) or "nothing"
    box_list = ", ".join(f"{e(k)} ({n})" for k, n in sorted(boxes.items())) or "nothing"
    app_list = ", ".join(f"{e(a)} ({n} steps)" for a, n in apps.most_common()) or "none"
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Your teachstream data</title>
<style>{_STYLE}</style></head><body>
<h1>Your data in teachstream</h1>
<p>Generated {e(generated.isoformat(timespec="seconds"))} for the pseudonym(s) {e(", ".join(users))}.
teachstream never stores your name, user name or host name: your data is filed under these pseudonyms.</p>
<div class="note"><b>In short:</b> {len(sessions)} recorded sessions, {hours:.2f} hours in all,
{sum(s.steps for s in sessions)} steps and {sum(s.frames for s in sessions)} screenshots.
Apps: {app_list}. What you typed that was replaced before storage, by kind: {label_list}
({sum(s.redactions for s in sessions)} key presses). What was covered in your screenshots before storage,
by kind: {box_list}.</div>
<h2>Sessions</h2>
<table><tr><th>start (UTC)</th><th>length</th><th>steps</th><th>apps</th><th>redacted keys</th></tr>{rows}</table>
<h2>Your consent, as recorded</h2>
<table><tr><th>recorded (UTC)</th><th>decision</th><th>covers</th><th>recorded by</th><th>policy</th></tr>
{consent_rows or "<tr><td colspan=5>no record</td></tr>"}</table>
<h2>What you can do</h2>
<ul><li>Pause recording: <code>teachstream agent pause --minutes 30</code></li>
<li>Withdraw consent: <code>teachstream consent withdraw</code> (recording stops within seconds)</li>
<li>Have all of this deleted: ask your administrator to run <code>teachstream erase --user YOU</code></li></ul>
<p>The folder <code>data/</code> holds the stored objects themselves: steps as Parquet, screenshots as JPEG,
and, in <code>packs/</code> folders if there are any, copies of a session's screenshots in one tar file that a
training snapshot reads (they are deleted with the rest on an erasure).</p>
</body></html>
"""


def export(
    ds: Dataset, users: Sequence[str], consent: Sequence[ConsentRecord], target: Path, generated: datetime
) -> int:
    """Write the person's zip; returns the number of sessions in it."""
    sessions = [s for u in users for s in ds.sessions(user=u)]
    written: set[str] = set()
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as out:
        out.writestr("index.html", render_summary(users, sessions, consent, generated))
        out.writestr("data/sessions.json", json.dumps([asdict(s) for s in sessions], indent=1, default=list))
        for entry in sessions:
            steps = ds.steps(entry)
            frames = {key: ds.frame_bytes(key) for key in entry.frame_keys}
            out.writestr(f"sessions/{entry.session_id}.html", render_session(entry, steps, frames))
            for key, body in [(entry.steps_key, ds.storage.read(entry.steps_key)), *frames.items()]:
                out.writestr(f"data/{key}", body)
                written.add(key)
        # and every other object filed under the person: frames no step refers to, sessions still being written
        for key in _objects_of(ds, users):
            if key not in written:
                out.writestr(f"data/{key}", ds.storage.read(key))
    return len(sessions)


def _objects_of(ds: Dataset, users: Sequence[str]) -> list[str]:
    keys = [k for u in users for k in ds.storage.list(f"frames/user={u}/")]
    keys += [k for k in ds.storage.list("steps/") if any(f"/user={u}/" in k for u in users)]
    return keys
