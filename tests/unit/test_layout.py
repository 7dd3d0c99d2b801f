"""The layout's promises: the dataset reader installs and imports without the pipeline."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PIPELINE = {"faust", "aiokafka", "spacy", "pynput", "mss", "Xlib", "producers", "streams", "sinks", "runtime"}


def test_the_dataset_extra_pulls_no_stream_ner_or_capture_library() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["dataset"]]
    names = {d.split(";")[0].split("[")[0].split("<")[0].split(">")[0].split("=")[0].strip().lower() for d in wanted}
    assert not names & {"faust-streaming", "aiokafka", "spacy", "pynput", "mss", "python-xlib", "phonenumbers"}


def test_the_dataset_reader_imports_nothing_of_the_pipeline() -> None:
    probe = "import sys, teachstream.dataset; print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    loaded = set(run.stdout.split())
    assert "teachstream" in loaded and "pyarrow" in loaded
    assert not loaded & PIPELINE
