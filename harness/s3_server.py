"""A real S3 API server on loopback for tests: moto's standalone server, started as a process.

The code under test talks to it over HTTP with boto3 exactly as to any S3-compatible store
(nothing in the client is patched). ``enforce_auth()`` switches the server from accepting
every request to checking signatures and IAM policies, so "access denied" is the store's own
answer to a user whose policy does not cover a bucket.
"""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

import httpx

from harness.server import free_port

REGION = "us-east-1"
ADMIN = {"aws_access_key_id": "setup", "aws_secret_access_key": "setup"}
"""Any key works before ``enforce_auth()``: moto accepts every request until then."""


class S3Server:
    """``python -m moto.server`` on ``127.0.0.1:<free port>``; a context manager."""

    def __init__(self, timeout_s: float = 60) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.timeout_s = timeout_s
        self.process: subprocess.Popen[bytes] | None = None
        self.credentials: dict[str, str] = {}
        """What the code under test signs with (set by the test, e.g. from :meth:`user_with_policy`)."""

    def __enter__(self) -> S3Server:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.url}/moto-api/", timeout=2)
                return self
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise TimeoutError(f"moto server not up after {self.timeout_s} s")

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def client(self, service: str = "s3", **credentials: str) -> Any:
        import boto3

        return boto3.client(service, endpoint_url=self.url, region_name=REGION, **(credentials or ADMIN))

    def user_with_policy(self, name: str, statements: list[dict[str, Any]]) -> dict[str, str]:
        """An IAM user with an inline policy; returns its ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``."""
        import json

        iam = self.client("iam")
        iam.create_user(UserName=name)
        policy = {"Version": "2012-10-17", "Statement": statements}
        iam.put_user_policy(UserName=name, PolicyName=f"{name}-policy", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}

    def enforce_auth(self) -> None:
        """From now on every request must be signed by a known user and allowed by its policies."""
        httpx.post(f"{self.url}/moto-api/reset-auth", content=b"0", timeout=10).raise_for_status()
