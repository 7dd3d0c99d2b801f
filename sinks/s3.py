"""S3 access with boto3: client, bucket checks, uploads that wait out outages, reads, conditional writes (edge).

Every S3 call of the sink goes through this module, so an S3 quirk (a missing key, a failed
precondition, an outage) is handled in one place.
"""

from __future__ import annotations

import hashlib
import io
import logging
import time
from collections.abc import Callable, Iterator

import boto3
from boto3.exceptions import S3UploadFailedError
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError
from mypy_boto3_s3 import S3Client

from runtime.settings import Settings
from schemas.errors import StorageUnavailableError

log = logging.getLogger(__name__)


def s3_client(settings: Settings) -> S3Client:
    secret = settings.aws_secret_access_key.get_secret_value() if settings.aws_secret_access_key else None
    return boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint,
        aws_access_key_id=settings.aws_access_key_id,
        aws_secret_access_key=secret,
        region_name=settings.aws_region,
        config=Config(
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=5,
            read_timeout=60,
            s3={"addressing_style": "path"},
        ),
    )


def where(settings: Settings) -> str:
    return f"s3://{settings.s3_bucket} at {settings.s3_endpoint or 'AWS'}"


def check_bucket(client: S3Client, settings: Settings) -> None:
    """Raise a clear :class:`StorageUnavailableError` if the bucket cannot be used."""
    try:
        client.head_bucket(Bucket=settings.s3_bucket)
    except EndpointConnectionError as exc:
        raise StorageUnavailableError(
            f"cannot reach S3 at {settings.s3_endpoint}; is the stack running? "
            "Start it with `make stack-up` and load its settings with `. .stack/env`"
        ) from exc
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in {"404", "NoSuchBucket"}:
            raise StorageUnavailableError(
                f"bucket {settings.s3_bucket} does not exist at {settings.s3_endpoint or 'AWS'}; "
                "create it with `teachstream provision` or set TEACHSTREAM_S3_BUCKET"
            ) from exc
        if code in {"403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"}:
            raise StorageUnavailableError(
                f"access to {where(settings)} was denied ({code}); check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
            ) from exc
        raise StorageUnavailableError(f"S3 refused {where(settings)}: {exc}") from exc


def ensure_bucket(client: S3Client, settings: Settings) -> bool:
    """Create the bucket if missing; True if it was created."""
    try:
        check_bucket(client, settings)
        return False
    except StorageUnavailableError as exc:
        if "does not exist" not in str(exc):
            raise
    client.create_bucket(Bucket=settings.s3_bucket)
    return True


MULTIPART_THRESHOLD = 8 * 1024 * 1024
_TRANSFER = TransferConfig(
    multipart_threshold=MULTIPART_THRESHOLD, multipart_chunksize=MULTIPART_THRESHOLD, use_threads=False
)


def put(client: S3Client, bucket: str, key: str, body: bytes, content_type: str, metadata: dict[str, str]) -> None:
    """One upload: a single PUT, or a multipart upload for objects of 8 MiB and more."""
    if len(body) < MULTIPART_THRESHOLD:
        client.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type, Metadata=metadata)
    else:
        extra = {"ContentType": content_type, "Metadata": metadata}
        client.upload_fileobj(io.BytesIO(body), bucket, key, ExtraArgs=extra, Config=_TRANSFER)


def put_until_stored(
    client: S3Client,
    bucket: str,
    key: str,
    body: bytes,
    content_type: str,
    keep_trying: Callable[[], bool],
    metadata: dict[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    on_retry: Callable[[], None] | None = None,
) -> bool:
    """Upload, waiting out outages with capped backoff; False only if ``keep_trying`` turned false.
    ``on_retry`` is called for each failed attempt that is tried again."""
    delay = 0.5
    failures = 0
    while True:
        try:
            put(client, bucket, key, body, content_type, metadata or {})
            if failures:
                log.info("S3 is back: stored %s after %d failed attempts", key, failures)
            return True
        except (BotoCoreError, ClientError, S3UploadFailedError) as exc:
            failures += 1
            if not keep_trying():
                return False
            if on_retry is not None:
                on_retry()
            if failures == 1 or failures % 10 == 0:
                log.warning(
                    "S3 upload of %s failed (%s); retrying every %.0fs, nothing is committed meanwhile",
                    key,
                    type(exc).__name__,
                    min(delay * 2, 10.0),
                )
            sleep(delay)
            delay = min(delay * 2, 10.0)


def head_metadata(client: S3Client, bucket: str, key: str) -> tuple[int, dict[str, str]] | None:
    """(size, user metadata) of an object, or None if it does not exist; other errors propagate."""
    try:
        head = client.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code", "") in {"404", "NoSuchKey", "NotFound"}:
            return None
        raise
    return head["ContentLength"], head.get("Metadata", {})


def get_or_none(client: S3Client, bucket: str, key: str) -> bytes | None:
    """An object's bytes, or None if it does not exist; other errors propagate."""
    try:
        return client.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code", "") in {"404", "NoSuchKey", "NotFound"}:
            return None
        raise


def get_with_etag(client: S3Client, bucket: str, key: str) -> tuple[bytes, str] | None:
    """An object's bytes and ETag (for a conditional rewrite), or None if it does not exist."""
    try:
        answer = client.get_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code", "") in {"404", "NoSuchKey", "NotFound"}:
            return None
        raise
    return answer["Body"].read(), answer["ETag"]


def put_if_match(client: S3Client, bucket: str, key: str, body: bytes, content_type: str, etag: str) -> bool:
    """Overwrite an object only if it is still the version with ``etag``; False if someone wrote it meanwhile."""
    try:
        client.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type, IfMatch=etag)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "PreconditionFailed":
            raise
        return False
    return True


def put_if_absent(client: S3Client, bucket: str, key: str, body: bytes, content_type: str) -> bool:
    """Create an object only if there is none under ``key``; False if one was there already."""
    try:
        client.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type, IfNoneMatch="*")
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "PreconditionFailed":
            raise
        return False
    return True


def delete_key(client: S3Client, bucket: str, key: str) -> None:
    """Delete one object (deleting a missing one is not an error)."""
    client.delete_object(Bucket=bucket, Key=key)


def list_keys(client: S3Client, bucket: str, prefix: str) -> Iterator[str]:
    """Every key under ``prefix``, page by page."""
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            yield item["Key"]


def apply_lifecycle(client: S3Client, settings: Settings, prefix: str, days: int) -> str:
    """Expire objects under ``prefix`` after ``days`` (0 removes the rule); says what it did, or why it could not."""
    rule_id = f"teachstream-retention-{hashlib.sha256(prefix.encode()).hexdigest()[:12]}"  # one rule per prefix
    try:
        try:
            rules = client.get_bucket_lifecycle_configuration(Bucket=settings.s3_bucket).get("Rules", [])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code", "") != "NoSuchLifecycleConfiguration":
                raise
            rules = []
        others = [r for r in rules if r.get("ID") != rule_id]
        if days:
            others.append(
                {"ID": rule_id, "Status": "Enabled", "Filter": {"Prefix": prefix}, "Expiration": {"Days": days}}
            )
        if others:
            client.put_bucket_lifecycle_configuration(
                Bucket=settings.s3_bucket,
                LifecycleConfiguration={"Rules": others},
            )
        elif rules:
            client.delete_bucket_lifecycle(Bucket=settings.s3_bucket)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "") or str(exc)
        return f"the S3 server refused a lifecycle rule ({code}); expire s3://{settings.s3_bucket}/{prefix} another way"
    if not days:
        return f"s3://{settings.s3_bucket}/{prefix} is kept until deleted (no expiry)"
    return f"objects under s3://{settings.s3_bucket}/{prefix} expire after {days} days"


def list_prefixes(client: S3Client, bucket: str, prefix: str) -> Iterator[str]:
    """The 'directories' right under ``prefix`` (common prefixes with delimiter ``/``)."""
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
        for item in page.get("CommonPrefixes", []):
            yield item["Prefix"]


def delete_keys(client: S3Client, bucket: str, keys: list[str]) -> None:
    """Delete objects, 1,000 per request; raises if S3 refuses any of them."""
    for i in range(0, len(keys), 1000):
        batch = [{"Key": k} for k in keys[i : i + 1000]]
        answer = client.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})  # type: ignore[typeddict-item]
        if answer.get("Errors"):
            first = answer["Errors"][0]
            raise StorageUnavailableError(f"S3 refused to delete {first.get('Key')}: {first.get('Message')}")
