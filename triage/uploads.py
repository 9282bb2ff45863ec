"""Read audio uploads from a raw HTTP request, in memory and within a size limit.

BentoML's own file inputs write each upload to a named temporary file whose name ends
with the client's file name; an emergency service must not put caller audio or caller
chosen names on disk. So the upload endpoints stream the request body themselves,
refuse it as soon as it passes ``max_upload_bytes`` (before it is all read), and parse
``multipart/form-data`` with python-multipart's push parser into memory.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from triage.config import get_settings
from triage.errors import TriageError


@dataclass
class FormPart:
    """One part of a multipart form: a file (``filename`` set) or a plain field."""

    name: str
    filename: str | None
    content_type: str | None
    data: bytearray = field(default_factory=bytearray)

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")


@dataclass
class AudioUpload:
    """One audio file of a request: its bytes, declared type and client-side name (never used as a path)."""

    data: bytes
    content_type: str | None
    filename: str | None = None


async def read_body(request: Request, limit: int | None = None) -> bytes:
    """Read the whole body, refusing with 413 as soon as it exceeds ``limit`` bytes."""
    limit = limit if limit is not None else get_settings().max_upload_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(int(declared), limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(size, limit)
        chunks.append(chunk)
    return b"".join(chunks)


def parse_multipart(body: bytes, content_type: str) -> list[FormPart]:
    """Split a ``multipart/form-data`` body into parts, in memory, or raise a 400."""
    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        raise TriageError(400, "malformed_multipart", "multipart/form-data without a boundary.")
    parts: list[FormPart] = []
    headers: dict[bytes, bytes] = {}
    header_field = bytearray()
    header_value = bytearray()

    def on_part_begin() -> None:
        headers.clear()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header_field.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header_value.extend(data[start:end])

    def on_header_end() -> None:
        headers[bytes(header_field).lower()] = bytes(header_value)
        header_field.clear()
        header_value.clear()

    def on_headers_finished() -> None:
        _, disposition = parse_options_header(headers.get(b"content-disposition", b""))
        name = disposition.get(b"name", b"").decode("utf-8", "replace")
        filename = disposition.get(b"filename")
        ctype = headers.get(b"content-type")
        parts.append(
            FormPart(
                name=name,
                filename=filename.decode("utf-8", "replace") if filename is not None else None,
                content_type=ctype.decode("latin-1") if ctype else None,
            )
        )

    def on_part_data(data: bytes, start: int, end: int) -> None:
        parts[-1].data.extend(data[start:end])

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
        },
    )
    try:
        parser.write(body)
        parser.finalize()
    except Exception as exc:
        raise TriageError(400, "malformed_multipart", f"Malformed multipart body: {exc}") from exc
    return parts


async def read_audio_uploads(
    request: Request, field_name: str = "file"
) -> tuple[list[AudioUpload], dict[str, str]]:
    """Every audio file of a request, and its plain form fields.

    Accepts ``multipart/form-data`` (file parts named ``field_name``, or any file part
    when none has that name) and a raw body whose content type is ``audio/*`` or
    ``application/octet-stream``.
    """
    content_type = request.headers.get("content-type", "")
    mime = content_type.split(";")[0].strip().lower()
    body = await read_body(request)
    if mime == "multipart/form-data":
        parts = parse_multipart(body, content_type)
        fields = {p.name: p.text for p in parts if p.filename is None}
        files = [p for p in parts if p.filename is not None and p.name == field_name]
        files = files or [p for p in parts if p.filename is not None]
        if not files:
            raise TriageError(
                400,
                "missing_file",
                f"The form holds no file; send the audio as field '{field_name}'.",
            )
        for part in files:
            if part.content_type and not is_allowed_type(part.content_type):
                raise _unsupported(part.content_type)
        uploads = [AudioUpload(bytes(p.data), p.content_type, p.filename) for p in files]
        return uploads, fields
    if is_allowed_type(content_type):
        return [AudioUpload(body, content_type)], {}
    raise _unsupported(content_type)


def is_allowed_type(content_type: str) -> bool:
    """Whether a declared type matches ``settings.allowed_content_types`` (``audio/*`` style)."""
    mime = content_type.split(";")[0].strip().lower()
    return any(fnmatch.fnmatchcase(mime, pattern) for pattern in get_settings().allowed_content_types)


async def read_one_audio_upload(
    request: Request, field_name: str = "file"
) -> tuple[AudioUpload, dict[str, str]]:
    """The request's single audio file (:func:`read_audio_uploads`) and its form fields; 400 if not one."""
    uploads, fields = await read_audio_uploads(request, field_name)
    if len(uploads) != 1:
        raise TriageError(400, "one_file_expected", f"Send exactly one audio file, got {len(uploads)}.")
    return uploads[0], fields


def _unsupported(content_type: str) -> TriageError:
    allowed = ", ".join(get_settings().allowed_content_types)
    return TriageError(
        415,
        "unsupported_media_type",
        f"Content type {content_type.split(';')[0]!r} is not accepted; send audio as "
        f"multipart/form-data (field 'file') or as a raw body of type {allowed}.",
    )


def _too_large(size: int, limit: int) -> TriageError:
    return TriageError(
        413,
        "upload_too_large",
        f"The upload is larger than the limit of {limit} bytes.",
        limit_bytes=limit,
        received_bytes_at_least=size,
    )
