"""S3 keys per component (``S3_USERS_FILE`` of ``deploy/local/s3.sh``, made by ``make stack-up SECURE=1``):
the sink reads and writes the bucket, a reader only reads it, neither touches other buckets or rules."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.integration.conftest import ROOT

S3 = ROOT / "deploy" / "local" / "s3.sh"
ADMIN = ("teachstream", "teachstream-secret")
SINK = ("teachstream-sink", "sink-secret-for-tests")
READER = ("teachstream-reader", "reader-secret-for-tests")


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory, stack_env: dict[str, str]) -> Iterator[str]:
    stack = tmp_path_factory.mktemp("secure-s3")
    users = stack / "s3-users"
    users.write_text(f"sink {SINK[0]} {SINK[1]} teachstream\nreader {READER[0]} {READER[1]} teachstream\n")
    port = int((ROOT / ".stack" / "ports").read_text()) + 60  # beside the stack's own ports (base+33..51, 92, 93)
    env = {**os.environ, "TS_STACK": str(stack), "S3_PORT": str(port), "S3_USERS_FILE": str(users)}
    started = subprocess.run([str(S3), "start"], env=env, cwd=ROOT, check=False, timeout=600)
    try:
        assert started.returncode == 0, "the S3 server did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        subprocess.run([str(S3), "stop"], env=env, cwd=ROOT, check=False, timeout=120)


def _client(endpoint: str, key: tuple[str, str]) -> Any:
    return boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id=key[0], aws_secret_access_key=key[1], region_name="us-east-1"
    )


def _refused(call: Callable[[], object]) -> bool:
    try:
        call()
    except ClientError as exc:
        return str(exc.response["Error"]["Code"]) == "AccessDenied"
    return False


def test_the_sink_writes_the_dataset_readers_only_read_it(endpoint: str) -> None:
    admin, sink, reader = (_client(endpoint, k) for k in (ADMIN, SINK, READER))
    for bucket in ("teachstream", "elsewhere"):
        admin.create_bucket(Bucket=bucket)
    sink.put_object(Bucket="teachstream", Key="dataset/v1/a", Body=b"session", IfNoneMatch="*")
    assert reader.get_object(Bucket="teachstream", Key="dataset/v1/a")["Body"].read() == b"session"
    assert [o["Key"] for o in reader.list_objects_v2(Bucket="teachstream")["Contents"]] == ["dataset/v1/a"]
    assert _refused(lambda: reader.put_object(Bucket="teachstream", Key="dataset/v1/b", Body=b"forged"))
    assert _refused(lambda: reader.delete_object(Bucket="teachstream", Key="dataset/v1/a"))
    assert _refused(lambda: sink.put_object(Bucket="elsewhere", Key="a", Body=b"x"))
    assert _refused(lambda: sink.create_bucket(Bucket="sink-made"))
    rule = {"ID": "r", "Status": "Enabled", "Filter": {"Prefix": "x/"}, "Expiration": {"Days": 1}}
    assert _refused(
        lambda: sink.put_bucket_lifecycle_configuration(Bucket="teachstream", LifecycleConfiguration={"Rules": [rule]})
    )
    sink.delete_object(Bucket="teachstream", Key="dataset/v1/a")  # erasure
    assert "Contents" not in admin.list_objects_v2(Bucket="teachstream")
