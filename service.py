"""The composed triage service: one BentoML service graph over the per-model runners.

Each model runs in its own adaptive-batching service (``runners/``); this service owns
the public HTTP API, validates input (4xx JSON errors with stable codes) and calls the
runners through ``bentoml.depends``. Upload endpoints are FastAPI routes that read the
request body themselves so audio stays in memory (see ``triage.uploads``).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import bentoml
import numpy as np
from fastapi import FastAPI, Request, WebSocket
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from runners.audio_classifier import AudioClassifier
from runners.corrector import Corrector
from runners.text_classifier import TextClassifier
from runners.whisper import Whisper
from triage.analyze import Analysis, BatchAnalysis, BatchItem, analyze_clip
from triage.audio import decode_audio
from triage.audio_classifier.schemas import AudioPrediction
from triage.calls.endpoint import serve_call
from triage.calls.session import Runners
from triage.clip_sources import (
    S3_REFERENCE,
    S3_REFERENCES,
    PendingClip,
    read_batch,
    read_clip,
    with_references,
)
from triage.config import get_settings
from triage.corrector.schemas import CorrectRequest, CorrectResponse, to_items
from triage.errors import TriageError
from triage.fusion import MODEL_NAME as FUSION_MODEL
from triage.fusion.model import LogisticFusion
from triage.http_errors import install_error_handlers
from triage.object_store import fetch_upload, is_json, read_json
from triage.openapi_bodies import CLIP_WITH_TRANSCRIPT, CLIPS, ONE_CLIP
from triage.overload import ConcurrencyLimit
from triage.runner_calls import call_runner
from triage.runner_health import runners_ready
from triage.security.install import install_security
from triage.seed_routes import SeedAudioPrediction, SeedTextPrediction, s3_reference
from triage.text_classifier.schemas import ClassifyTextRequest, ClassifyTextResponse, SentenceResult
from triage.text_validation import validate_texts
from triage.uploads import AudioUpload, read_one_audio_upload
from triage.whisper.schemas import Transcript

app = FastAPI(
    title="Korean emergency-speech triage",
    description="Transcribe, correct and classify Korean emergency calls.",
)
install_error_handlers(app)


async def _decode(upload: AudioUpload) -> np.ndarray:
    """An upload decoded to 16 kHz mono off the event loop (decoding is CPU work)."""
    return await run_in_threadpool(decode_audio, upload.data, upload.content_type)


async def _read_clip(request: Request) -> np.ndarray:
    """The request's single audio upload, decoded."""
    upload, _ = await read_one_audio_upload(request)
    return await _decode(upload)


def _known_text(value: str | None) -> str | None:
    """A transcript the client sent (stripped and validated like any text), or None when blank."""
    text = (value or "").strip() or None
    if text:
        validate_texts([text])
    return text


WEB = Path(__file__).parent / "triage" / "web"
UPLOAD_PAGE = (WEB / "index.html").read_text(encoding="utf-8")
PAGE_SCRIPT = (WEB / "app.js").read_text(encoding="utf-8")
PAGE_STYLE = (WEB / "style.css").read_text(encoding="utf-8")
PAGE_AUDIO_TAP = (WEB / "pcm-tap.js").read_text(encoding="utf-8")


@bentoml.service(name="triage", traffic={"timeout": 300})
@bentoml.asgi_app(app)
class Triage:
    """Public API of the triage server."""

    # In-graph by default; ``TRIAGE_<MODEL>_URL`` points a runner at its own deployment (JSON wire).
    whisper = bentoml.depends(Whisper, url=get_settings().whisper_url or None)
    audio_classifier = bentoml.depends(AudioClassifier, url=get_settings().audio_classifier_url or None)
    text_classifier = bentoml.depends(TextClassifier, url=get_settings().text_classifier_url or None)
    corrector = bentoml.depends(Corrector, url=get_settings().corrector_url or None)
    # Fusion is a few dozen weights: it runs inside this service, where a call costs
    # microseconds, rather than behind another network hop that would cost milliseconds.
    fusion_ref = bentoml.models.BentoModel(f"{FUSION_MODEL}:latest")

    def __init__(self) -> None:
        self.fusion = LogisticFusion.load(Path(self.fusion_ref.path))
        self.settings = get_settings()

    async def __is_ready__(self) -> bool:
        """``/readyz``: 503 while any runner is unreachable (BentoML's own probe would answer 500)."""
        return await runners_ready(
            {
                "whisper": self.whisper,
                "audio_classifier": self.audio_classifier,
                "text_classifier": self.text_classifier,
                "corrector": self.corrector,
            }
        )

    async def _analyze(self, clip: np.ndarray, transcript: str | None) -> Analysis:
        return await analyze_clip(
            clip,
            transcript,
            whisper=self.whisper,
            audio_classifier=self.audio_classifier,
            corrector=self.corrector,
            text_classifier=self.text_classifier,
            fusion=self.fusion,
        )

    @app.get("/ui", response_class=HTMLResponse, tags=["triage"])
    async def upload_page(self) -> HTMLResponse:
        """A page to upload or record a clip and read the analysis."""
        return HTMLResponse(UPLOAD_PAGE)

    @app.get("/ui/app.js", include_in_schema=False)
    async def upload_page_script(self) -> Response:
        """The page's script, a file of its own so the page's CSP can forbid inline script."""
        return Response(PAGE_SCRIPT, media_type="text/javascript")

    @app.get("/ui/style.css", include_in_schema=False)
    async def upload_page_style(self) -> Response:
        return Response(PAGE_STYLE, media_type="text/css")

    @app.get("/ui/pcm-tap.js", include_in_schema=False)
    async def upload_page_audio_tap(self) -> Response:
        """The live mode's AudioWorklet: a worklet loads from a URL, and the CSP forbids blob: ones."""
        return Response(PAGE_AUDIO_TAP, media_type="text/javascript")

    @app.post(
        "/analyze",
        response_model=Analysis,
        tags=["triage"],
        openapi_extra=with_references(CLIP_WITH_TRANSCRIPT, S3_REFERENCE),
    )
    async def analyze(self, request: Request) -> Analysis:
        """Triage one call: audio as multipart field ``file`` or JSON ``{"s3_uri": "s3://bucket/key"}``
        (``triage.object_store``), optionally a known ``transcript`` field (which skips speech-to-text).
        Whisper and the sound model run concurrently; the text classifier reads the corrected
        transcript; fusion decides."""
        upload, fields = await read_clip(request)  # uploaded, or {"s3_uri": ...} from object storage
        clip = await _decode(upload)
        return await self._analyze(clip, _known_text(fields.get("transcript")))

    @app.post(
        "/analyze/batch",
        response_model=BatchAnalysis,
        tags=["triage"],
        openapi_extra=with_references(CLIPS, S3_REFERENCES),
    )
    async def analyze_batch(self, request: Request) -> BatchAnalysis:
        """Triage many clips at once (several ``file`` parts, or JSON ``{"s3_uris": [...]}``); each gets
        its analysis or its own error."""
        clips = await read_batch(request)
        if len(clips) > self.settings.max_batch_files:
            raise TriageError(
                413,
                "too_many_files",
                f"At most {self.settings.max_batch_files} files per batch, got {len(clips)}.",
            )

        async def one(clip: PendingClip) -> BatchItem:
            try:
                upload = await clip.load()
                return BatchItem(
                    filename=clip.name, analysis=await self._analyze(await _decode(upload), None)
                )
            except TriageError as exc:
                return BatchItem(filename=clip.name, error=exc.to_dict()["error"])

        return BatchAnalysis(results=list(await asyncio.gather(*(one(c) for c in clips))))

    @app.post("/transcribe", response_model=Transcript, tags=["speech"], openapi_extra=ONE_CLIP)
    async def transcribe(self, request: Request) -> Transcript:
        """Transcribe one clip sent as multipart field ``file`` (or as a raw ``audio/*`` body)."""
        clip = await _read_clip(request)
        [transcript] = await call_runner(self.whisper.to_async.transcribe, [clip])
        return transcript

    @app.post("/classify/audio", response_model=AudioPrediction, tags=["sound"], openapi_extra=ONE_CLIP)
    async def classify_audio(self, request: Request) -> AudioPrediction:
        """Classify the sound of one clip (calm, distress, alarm, impact), sent like ``/transcribe``."""
        clip = await _read_clip(request)
        [prediction] = await call_runner(self.audio_classifier.to_async.classify, [clip])
        return prediction

    @app.post("/classify/text", response_model=ClassifyTextResponse, tags=["text"])
    async def classify_text(self, body: ClassifyTextRequest) -> ClassifyTextResponse:
        """Classify each sentence (normal, medical, fire, crime, accident); ``is_emergency`` if any is."""
        return await self._classify_sentences(body.sentences)

    async def _classify_sentences(self, sentences: list[str]) -> ClassifyTextResponse:
        started = time.perf_counter()
        validate_texts(sentences)
        predictions = await call_runner(self.text_classifier.to_async.classify, sentences)
        pairs = zip(sentences, predictions, strict=True)
        results = [SentenceResult(sentence=s, **p.model_dump()) for s, p in pairs]
        return ClassifyTextResponse(
            results=results,
            is_emergency=any(r.is_emergency for r in results),
            prediction_time_ms=round((time.perf_counter() - started) * 1000, 2),
        )

    @app.post("/predict", response_model=SeedAudioPrediction | SeedTextPrediction, tags=["compatibility"])
    async def predict(self, request: Request) -> SeedAudioPrediction | SeedTextPrediction:
        """The seeds' ``/predict``: seed 000's multipart ``audio_file`` with an optional ``text_input``
        (speech-to-text when it is absent), or seed 002's JSON ``{"sentences": [...]}``."""
        if is_json(request):
            try:
                body = ClassifyTextRequest.model_validate(await read_json(request))
            except ValidationError as exc:
                raise TriageError(422, "invalid_request", 'Send {"sentences": ["...", ...]}.') from exc
            return SeedTextPrediction.of(await self._classify_sentences(body.sentences))
        upload, fields = await read_one_audio_upload(request, field_name="audio_file")
        clip = await _decode(upload)
        return SeedAudioPrediction.of(await self._analyze(clip, _known_text(fields.get("text_input"))))

    @app.post("/predict_s3", response_model=SeedAudioPrediction, tags=["compatibility"])
    async def predict_s3(self, request: Request) -> SeedAudioPrediction:
        """Seed 000's ``/predict_s3``: JSON ``{"s3_uri": "s3://bucket/key", "text": "..."}`` (``s3_key``
        and ``text_input`` are read too); the text is optional."""
        uri, text = s3_reference(await read_json(request))
        clip = await _decode(await fetch_upload(uri))
        return SeedAudioPrediction.of(await self._analyze(clip, _known_text(text)))

    @app.post("/s3predict", response_model=SeedAudioPrediction, tags=["compatibility"])
    async def s3predict(self, request: Request) -> SeedAudioPrediction:
        """Seed 000's code spelt ``/predict_s3`` as ``/s3predict``: the same route."""
        return await self.predict_s3(request)

    @app.post("/ec/correct", response_model=CorrectResponse, tags=["correction"])
    async def ec_correct(self, body: CorrectRequest) -> CorrectResponse:
        """Correct ASR segments (the original corrector's JSON); a correct transcript comes back unchanged."""
        segments = await call_runner(self.corrector.to_async.correct, to_items(body))
        return CorrectResponse(
            request_id=body.request_id, model_version=body.model_version, segments=segments
        )

    @app.websocket("/calls")
    async def calls(self, websocket: WebSocket) -> None:
        """A live call: PCM frames in; partials, segments, sounds, triage, one alert, a summary out
        (protocol in docs/LIVE_CALLS.md)."""
        runners = Runners(
            self.whisper, self.audio_classifier, self.corrector, self.text_classifier, self.fusion
        )
        await serve_call(websocket, runners, self.settings.whisper_language)


install_security(Triage)  # before the in-flight limit: refused and rate-limited calls take no slot
Triage.add_asgi_middleware(ConcurrencyLimit, limit=get_settings().max_concurrency)
