"""Push the model store to an S3 bucket, or pull it from one: a fresh machine serves without training.

    python -m training.model_sync push s3://bucket/triage-models     # after build_models
    python -m training.model_sync pull s3://bucket/triage-models     # on the serving machine
    bentoml serve service:Triage

Each model of the graph (``triage.model_store.GRAPH_MODELS``, the latest version of each) is
exported with ``bentoml.models.export_model`` as ``<prefix>/<name>/<version>.tar``, and
``<prefix>/<name>/latest`` names that version; ``pull`` reads the pointer, downloads the archive
and ``bentoml.models.import_model``\\ s it, skipping versions the store already has. ``bentoml
models export`` cannot write ``s3://`` without an extra filesystem plugin, hence this thin
command over boto3. The store is ``$BENTOML_HOME``; the S3 endpoint, region and credentials are
those of the server (``TRIAGE_S3_ENDPOINT_URL``, ``TRIAGE_S3_REGION``, else boto3's standard
chain). The archives pass through a temporary directory, deleted afterwards. They are plain tar,
not BentoML's default gzip ``.bentomodel``: model weights hardly compress, so gzip costs
minutes of CPU for a small saving (figures in docs/DEPLOY.md).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from triage.model_store import GRAPH_MODELS
from triage.object_store import s3_client


def _prefix(uri: str) -> tuple[str, str]:
    """``s3://bucket[/prefix]`` as (bucket, prefix without surrounding slashes)."""
    parts = urlsplit(uri)
    if parts.scheme != "s3" or not parts.netloc:
        raise SystemExit(f"expected s3://bucket[/prefix], got {uri!r}")
    return parts.netloc, parts.path.strip("/")


def _key(prefix: str, *parts: str) -> str:
    return "/".join(p for p in (prefix, *parts) if p)


def push(uri: str, names: tuple[str, ...] = GRAPH_MODELS) -> list[str]:
    """Upload the latest version of each model; returns the ``name:version`` tags pushed."""
    import bentoml

    bucket, prefix = _prefix(uri)
    client = s3_client()
    pushed = []
    with tempfile.TemporaryDirectory(prefix="triage-models-") as tmp:
        for name in names:
            model = bentoml.models.get(f"{name}:latest")
            started = time.perf_counter()
            archive = Path(tmp) / f"{model.tag.version}.tar"
            bentoml.models.export_model(str(model.tag), str(archive), output_format="tar")
            client.upload_file(str(archive), bucket, _key(prefix, name, archive.name))
            client.put_object(
                Bucket=bucket, Key=_key(prefix, name, "latest"), Body=model.tag.version.encode()
            )
            archive.unlink()
            took = time.perf_counter() - started
            print(f"pushed {model.tag} to s3://{bucket}/{_key(prefix, name)}/ in {took:.1f} s")
            pushed.append(str(model.tag))
    return pushed


def pull(uri: str, names: tuple[str, ...] = GRAPH_MODELS) -> list[str]:
    """Import the version ``latest`` names of each model, unless the store has it; returns the tags."""
    import bentoml
    from bentoml.exceptions import NotFound

    bucket, prefix = _prefix(uri)
    client = s3_client()
    pulled = []
    with tempfile.TemporaryDirectory(prefix="triage-models-") as tmp:
        for name in names:
            version = (
                client.get_object(Bucket=bucket, Key=_key(prefix, name, "latest"))["Body"].read().decode()
            )
            tag = f"{name}:{version.strip()}"
            try:
                bentoml.models.get(tag)
                print(f"{tag} already in the store")
                continue
            except NotFound:
                pass
            started = time.perf_counter()
            archive = Path(tmp) / f"{version.strip()}.tar"
            client.download_file(bucket, _key(prefix, name, archive.name), str(archive))
            bentoml.models.import_model(str(archive))
            archive.unlink()
            print(f"pulled {tag} in {time.perf_counter() - started:.1f} s")
            pulled.append(tag)
    return pulled


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("action", choices=["push", "pull"])
    parser.add_argument("uri", help="s3://bucket/prefix")
    parser.add_argument("--only", nargs="*", default=list(GRAPH_MODELS), choices=list(GRAPH_MODELS))
    args = parser.parse_args()
    (push if args.action == "push" else pull)(args.uri, tuple(args.only))


if __name__ == "__main__":
    main()
