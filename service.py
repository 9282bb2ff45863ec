"""The composed triage service: one BentoML service graph over the per-model runners.

Each model runs in its own adaptive-batching service (``runners/``); this service owns
the public HTTP API, validates input (4xx JSON errors with stable codes) and calls the
runners through ``bentoml.depends``. Upload endpoints are FastAPI routes that read the
request body themselves so audio stays in memory (see ``triage.uploads``).
"""

from __future__ import annotations

import time

import bentoml
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from runners.audio_classifier import AudioClassifier
from runners.corrector import Corrector
from runners.text_classifier import TextClassifier
from runners.whisper import SpeechToText
from triage.audio import decode_audio
from triage.correction.schemas import CorrectRequest, CorrectResponse, to_items
from triage.errors import TriageError
from triage.sound.schemas import AudioPrediction
from triage.speech.schemas import Transcript
from triage.text.model import validate_texts
from triage.text.schemas import ClassifyTextRequest, ClassifyTextResponse, SentenceResult
from triage.uploads import read_audio_uploads

app = FastAPI(
    title="Korean emergency-speech triage",
    description="Transcribe, correct and classify Korean emergency calls.",
)


@app.exception_handler(TriageError)
async def _triage_error(_: Request, exc: TriageError) -> JSONResponse:
    return JSONResponse(exc.to_dict(), status_code=exc.status)


@app.exception_handler(RequestValidationError)
async def _invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
    """Wrong JSON gets the same error shape as every other refusal, naming the bad fields."""
    problems = [
        {"field": ".".join(str(p) for p in e["loc"] if p != "body"), "problem": e["msg"]}
        for e in exc.errors()
    ]
    fields = ", ".join(p["field"] or "body" for p in problems)
    error = TriageError(422, "invalid_request", f"Invalid request body: {fields}.", problems=problems)
    return JSONResponse(error.to_dict(), status_code=422)


async def _read_clip(request: Request):
    """The request's single audio upload, decoded to 16 kHz mono off the event loop."""
    uploads, _ = await read_audio_uploads(request)
    if len(uploads) != 1:
        raise TriageError(400, "one_file_expected", f"Send exactly one audio file, got {len(uploads)}.")
    return await run_in_threadpool(decode_audio, uploads[0].data, uploads[0].content_type)


@bentoml.service(name="triage", traffic={"timeout": 300})
@bentoml.asgi_app(app)
class Triage:
    """Public API of the triage server."""

    speech_to_text = bentoml.depends(SpeechToText)
    audio_classifier = bentoml.depends(AudioClassifier)
    text_classifier = bentoml.depends(TextClassifier)
    corrector = bentoml.depends(Corrector)

    @app.post("/transcribe", response_model=Transcript, tags=["speech"])
    async def transcribe(self, request: Request) -> Transcript:
        """Transcribe one clip sent as multipart field ``file`` (or as a raw ``audio/*`` body)."""
        clip = await _read_clip(request)
        [transcript] = await self.speech_to_text.to_async.transcribe([clip])
        return transcript

    @app.post("/classify/audio", response_model=AudioPrediction, tags=["sound"])
    async def classify_audio(self, request: Request) -> AudioPrediction:
        """Classify the sound of one clip (calm, distress, alarm, impact), sent like ``/transcribe``."""
        clip = await _read_clip(request)
        [prediction] = await self.audio_classifier.to_async.classify([clip])
        return prediction

    @app.post("/classify/text", response_model=ClassifyTextResponse, tags=["text"])
    async def classify_text(self, body: ClassifyTextRequest) -> ClassifyTextResponse:
        """Classify each sentence (normal, medical, fire, crime, accident); ``is_emergency`` if any is."""
        started = time.perf_counter()
        validate_texts(body.sentences)
        predictions = await self.text_classifier.to_async.classify(body.sentences)
        pairs = zip(body.sentences, predictions, strict=True)
        results = [SentenceResult(sentence=s, **p.model_dump()) for s, p in pairs]
        return ClassifyTextResponse(
            results=results,
            is_emergency=any(r.is_emergency for r in results),
            prediction_time_ms=round((time.perf_counter() - started) * 1000, 2),
        )

    @app.post("/ec/correct", response_model=CorrectResponse, tags=["correction"])
    async def ec_correct(self, body: CorrectRequest) -> CorrectResponse:
        """Correct ASR segments (the original corrector's JSON); a correct transcript comes back unchanged."""
        segments = await self.corrector.to_async.correct(to_items(body))
        return CorrectResponse(
            request_id=body.request_id, model_version=body.model_version, segments=segments
        )
