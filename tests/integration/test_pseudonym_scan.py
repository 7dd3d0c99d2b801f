"""The real agent, the stream and the sink: the person's real user name, host name and email
appear in no clean topic and in no S3 object (real Xvfb, xdotool, Kafka, S3)."""

from __future__ import annotations

import time
from pathlib import Path

from sinks.s3 import list_keys, s3_client
from tests.integration.conftest import Isolated, wait_for
from tests.integration.display import AgentProc, Display, display
from tests.integration.test_agent_consent import HOST, USER, agent
from tests.integration.test_dataset import BUCKET, open_dataset
from tests.integration.test_sessions import FAST_SESSIONS

__all__ = ["agent", "display"]
EMAIL = f"{USER}@example.com"


def test_no_real_name_host_or_email_reaches_a_clean_topic_or_s3(
    isolated: Isolated, display: Display, agent: AgentProc, tmp_path: Path
) -> None:
    env = {"TEACHSTREAM_STREAMS_DATA_DIR": str(tmp_path / "faust"), **FAST_SESSIONS}
    isolated.start("streams", log=tmp_path / "streams.log", extra_env=env)
    isolated.start("sink", log=tmp_path / "sink.log")
    assert agent.cli("consent", "accept").returncode == 0
    display.window(f"{USER}@{HOST}: ~", "#303040", 40, 40)
    agent.wait_capturing()
    display.xdotool("mousemove", "200", "150", "click", "1")
    display.type(f"mail {EMAIL} about the report\n")
    display.xdotool("mousemove", "260", "180", "click", "1")
    time.sleep(2)
    agent.stop()  # delivers what it spooled

    ds = open_dataset(isolated)
    wait_for(lambda: (ds.refresh(), len(ds.sessions()) >= 1)[1], 120, "the session in S3")
    time.sleep(3)  # and whatever the sink still writes

    secrets = [s.lower().encode() for s in (USER, HOST, EMAIL)]
    scanned = 0
    for topic in ("interactions.clean", "screens.clean", "trajectories"):
        for msg in isolated.read_all(topic, expect=isolated.end_offsets(topic)):
            value = (msg.value() or b"").lower() + (msg.key() or b"").lower()
            assert not [s for s in secrets if s in value], f"{topic} holds a real identity"
            scanned += 1
    s3 = s3_client(isolated.settings)
    keys = list(list_keys(s3, BUCKET, isolated.settings.s3_prefix))
    for key in keys:
        body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().lower()
        assert not [s for s in secrets if s in body or s in key.lower().encode()], f"{key} holds a real identity"
    assert scanned > 20 and any(k.endswith(".parquet") for k in keys) and any(k.endswith(".jpg") for k in keys)
    (session,) = ds.sessions()
    typed = " ".join(s["text"] or "" for s in ds.steps(session))
    assert "<EMAIL>" in typed and "about the report" in typed
    assert any("<USER>@<HOST>" in (s["title"] or "") for s in ds.steps(session))
