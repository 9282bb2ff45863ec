"""Audio by reference: ``{"s3_uri": "s3://bucket/key"}`` read from any S3-compatible store.

Recording systems already keep calls in object storage; sending the reference spares them the
upload. The object is read in memory, in chunks, and the read stops as soon as it passes
``max_upload_bytes`` (the same limit as an upload), so a huge object cannot exhaust memory;
nothing is written to disk. Only buckets named in ``s3_allowed_buckets`` are read, so a caller
cannot make the server fetch whatever its credentials reach. The endpoint, region and
credentials come from boto3's standard chain (environment, shared files, instance or pod
role), the endpoint and region optionally from settings. Every failure is a ``TriageError``:
a malformed reference 400, a bucket not allowed 403, access denied 403, a missing object 404,
too large 413, a store that cannot be reached 503 (not audio: 415, from ``decode_audio``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from triage.config import Settings, get_settings
from triage.errors import TriageError
from triage.uploads import AudioUpload, is_allowed_type, read_body

CHUNK_BYTES = 256 * 1024
MAX_JSON_BYTES = 64 * 1024
"""A JSON body of references is small; anything larger is refused before parsing."""
NOT_FOUND = {"NoSuchKey", "NoSuchBucket", "NotFound", "404"}
DENIED = {
    "AccessDenied",
    "Forbidden",
    "403",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "AllAccessDisabled",
}


@dataclass(frozen=True)
class S3Reference:
    bucket: str
    key: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def parse_s3_uri(value: Any) -> S3Reference:
    """``s3://bucket/key`` split, or a 400 ``invalid_s3_uri``."""
    try:
        parts = urlsplit(value) if isinstance(value, str) else None
    except ValueError:  # e.g. an unbalanced "[" read as an IPv6 host
        parts = None
    if parts is None or parts.scheme != "s3" or not parts.netloc or not parts.path.lstrip("/"):
        raise TriageError(400, "invalid_s3_uri", f"Expected 's3://bucket/key', got {str(value)[:200]!r}.")
    return S3Reference(parts.netloc, parts.path.lstrip("/"))


def is_json(request: Request) -> bool:
    """Whether the request carries JSON (references) rather than audio or a form."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower() == "application/json"


async def read_json(request: Request) -> dict[str, Any]:
    body = await read_body(request, limit=MAX_JSON_BYTES)
    try:
        data = json.loads(body or b"null")
    except ValueError as exc:
        raise TriageError(400, "invalid_json", f"The body is not valid JSON: {exc}.") from exc
    if not isinstance(data, dict):
        raise TriageError(422, "invalid_request", 'Send a JSON object, e.g. {"s3_uri": "s3://bucket/key"}.')
    return data


def s3_client(settings: Settings | None = None) -> Any:
    """The S3 client of these settings: endpoint and region from settings, else boto3's standard chain."""
    settings = settings or get_settings()
    return _client(settings.s3_endpoint_url, settings.s3_region, settings.s3_timeout_s)


@lru_cache(maxsize=4)
def _client(endpoint_url: str, region: str, timeout_s: float) -> Any:
    """One S3 client per configuration and process (clients are thread-safe and slow to build)."""
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=timeout_s,
        read_timeout=timeout_s,
        retries={"max_attempts": 2, "mode": "standard"},
    )
    return boto3.client("s3", endpoint_url=endpoint_url or None, region_name=region or None, config=config)


def fetch_object(ref: S3Reference, settings: Settings | None = None) -> AudioUpload:
    """The object's bytes and declared type, read in memory within ``settings.max_upload_bytes``."""
    from botocore.exceptions import BotoCoreError, ClientError

    settings = settings or get_settings()
    if ref.bucket not in settings.s3_allowed_buckets:
        raise TriageError(
            403, "bucket_not_allowed", f"Bucket {ref.bucket!r} is not on this server's allow-list."
        )
    limit = settings.max_upload_bytes
    client = s3_client(settings)
    try:
        response = client.get_object(Bucket=ref.bucket, Key=ref.key)
        body = response["Body"]
        try:
            if int(response.get("ContentLength") or 0) > limit:
                raise _too_large(ref, limit)
            chunks, size = [], 0
            for chunk in body.iter_chunks(CHUNK_BYTES):
                size += len(chunk)
                if size > limit:  # a store may not send the length, or send a wrong one
                    raise _too_large(ref, limit)
                chunks.append(chunk)
        finally:
            body.close()
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        if code in NOT_FOUND or status == 404:
            raise TriageError(404, "object_not_found", f"No object at {ref.uri}.") from exc
        if code in DENIED or status == 403:
            raise TriageError(403, "access_denied", f"The object store refused to read {ref.uri}.") from exc
        raise _unavailable(ref, code or str(status)) from exc
    except BotoCoreError as exc:  # unreachable endpoint, timeouts, no credentials
        raise _unavailable(ref, type(exc).__name__) from exc
    declared = response.get("ContentType") or ""
    # Stores label objects loosely (binary/octet-stream); the decoder sniffs the bytes anyway.
    return AudioUpload(b"".join(chunks), declared if is_allowed_type(declared) else None, ref.uri)


async def fetch_upload(uri: Any) -> AudioUpload:
    """``fetch_object`` of a URI, off the event loop (boto3 blocks)."""
    ref = parse_s3_uri(uri)
    return await run_in_threadpool(fetch_object, ref)


def _too_large(ref: S3Reference, limit: int) -> TriageError:
    return TriageError(413, "object_too_large", f"{ref.uri} is larger than {limit} bytes.")


def _unavailable(ref: S3Reference, why: str) -> TriageError:
    return TriageError(
        503, "object_store_unavailable", f"Could not read {ref.uri} from the object store ({why})."
    )
