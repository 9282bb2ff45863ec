"""One place for every tunable of the server, read from ``TRIAGE_*`` environment variables.

Limits and engine choices are configuration, not code: operators change them per
deployment (``TRIAGE_MAX_AUDIO_SECONDS=120 bentoml serve ...``) and benchmarks flip
them without editing source.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from triage.whisper import MODEL_NAME as WHISPER_MODEL_NAME

SAMPLE_RATE = 16_000
"""Whisper and every other model here consume 16 kHz mono float32 audio."""


RUNNER_CONNECTION = {"max_requests": 1_000_000_000, "max_age": 1e9}
"""``runner_connection`` of every runner service: keep one client session for the server's life.

BentoML 1.4.40's client for ``bentoml.depends`` replaces its aiohttp session every 100
calls or 300 s and closes the old one at once, aborting the calls still in flight on it
(the caller sees ``ServerDisconnectedError``). Limits out of reach keep the session.
"""


def _env(name: str, default: str) -> str:
    return os.environ.get(f"TRIAGE_{name}", default)


def _env_bool(name: str, default: bool) -> bool:
    return _env(name, "1" if default else "0").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    """Runtime settings; build with :func:`get_settings` so every module sees the same values."""

    max_upload_bytes: int = field(
        default_factory=lambda: int(_env("MAX_UPLOAD_BYTES", str(20 * 1024 * 1024)))
    )
    max_audio_seconds: float = field(default_factory=lambda: float(_env("MAX_AUDIO_SECONDS", "60")))
    min_audio_seconds: float = field(default_factory=lambda: float(_env("MIN_AUDIO_SECONDS", "0.1")))
    """Shorter clips hold too little to classify and are refused (422 ``audio_too_short``)."""
    silence_dbfs: float = field(default_factory=lambda: float(_env("SILENCE_DBFS", "-60")))
    """Clips whose RMS level is below this many dB full scale are refused as silent."""
    whisper_engine: str = field(default_factory=lambda: _env("WHISPER_ENGINE", "ctranslate2"))
    """``ctranslate2`` (faster-whisper, int8 on CPU) or ``openai`` (openai-whisper, PyTorch)."""
    whisper_model: str = field(default_factory=lambda: _env("WHISPER_MODEL", WHISPER_MODEL_NAME))
    """Name of the Whisper model in the BentoML model store (``triage.whisper.MODEL_NAME``)."""
    whisper_language: str = field(default_factory=lambda: _env("WHISPER_LANGUAGE", "ko"))
    whisper_beam_size: int = field(default_factory=lambda: int(_env("WHISPER_BEAM_SIZE", "5")))
    """Beam width (1: greedy). ``benchmarks.bench_whisper_decoding`` compares the choices on the
    corpus dev speakers: beam 5 with VAD and the short context lowers the CER of the short-context
    greedy decode by 14 % for twice its time per clip (README, "Whisper decoding"). The corpus
    transcripts the text model, corrector and fusion learn from are made with these settings."""
    whisper_word_timestamps: bool = field(default_factory=lambda: _env_bool("WHISPER_WORD_TIMESTAMPS", True))
    whisper_temperature_fallback: bool = field(
        default_factory=lambda: _env_bool("WHISPER_TEMPERATURE_FALLBACK", True)
    )
    """Re-decode windows whose text is too repetitive or improbable at rising temperatures, with
    the thresholds faster-whisper and openai-whisper share: the guard against the
    repetition loops beam search can fall into ("맘따카어어어어..." on a dialect clip). It never
    fires on most speech, so it costs nothing there. Off: one decode per window."""
    whisper_alternatives: bool = field(default_factory=lambda: _env_bool("WHISPER_ALTERNATIVES", True))
    """Keep every hypothesis beam search finishes with (``Transcript.alternatives``): the corrector
    chooses among them (README, "Accuracy"). Off: the best one only, as faster-whisper does."""
    whisper_initial_prompt: str = field(default_factory=lambda: _env("WHISPER_INITIAL_PROMPT", ""))
    """Text Whisper reads as the preceding context of every window, biasing its vocabulary and
    spelling toward it (empty: none)."""
    whisper_hotwords: str = field(default_factory=lambda: _env("WHISPER_HOTWORDS", ""))
    """Words placed ahead of the prompt to bias decoding toward them, faster-whisper's ``hotwords``
    (empty: none; the ``openai`` engine prepends them to the prompt)."""
    whisper_vad: bool = field(default_factory=lambda: _env_bool("WHISPER_VAD", True))
    """Decode only what Silero VAD (its model ships inside the faster-whisper wheel) hears as
    speech, so pauses, open lines and hum cannot make Whisper invent text, nor make beam search
    loop on them for seconds. Off: every window is decoded whole."""
    whisper_vad_pad_ms: int = field(default_factory=lambda: int(_env("WHISPER_VAD_PAD_MS", "800")))
    """Silence kept around each stretch of speech VAD finds. Silero's own 400 ms trims nearly
    every clip's edges and cost 0.6 CER points on the corpus dev speakers (0.0823 -> 0.0884, read
    aloud); at 800 ms the speech of 177 of 180 dev clips is decoded whole and the CER is beam
    search's without VAD, while windows without speech are still skipped."""
    max_text_chars: int = field(default_factory=lambda: int(_env("MAX_TEXT_CHARS", "2000")))
    """Texts longer than this many characters are refused (413); shorter ones are cut by tokens."""
    max_sentences: int = field(default_factory=lambda: int(_env("MAX_SENTENCES", "128")))
    """Most sentences one ``/classify/text`` request may carry."""
    max_segments: int = field(default_factory=lambda: int(_env("MAX_SEGMENTS", "512")))
    """Most segments one ``/ec/correct`` request may carry."""
    max_lexicon_words: int = field(default_factory=lambda: int(_env("MAX_LEXICON_WORDS", "20000")))
    """Most hotwords plus domain-lexicon entries one ``/ec/correct`` request may carry."""
    allowed_content_types: tuple[str, ...] = field(
        default_factory=lambda: tuple(
            t.strip()
            for t in _env("ALLOWED_CONTENT_TYPES", "audio/*,video/webm,application/octet-stream").split(",")
            if t.strip()
        )
    )
    """Declared types accepted for audio (raw bodies and multipart file parts); others get 415."""
    max_batch_files: int = field(default_factory=lambda: int(_env("MAX_BATCH_FILES", "16")))
    """Most clips one ``/analyze/batch`` request may carry."""
    max_concurrency: int = field(default_factory=lambda: int(_env("MAX_CONCURRENCY", "64")))
    """Requests in flight beyond which the API answers 503 ``overloaded`` at once (0: no limit)."""
    whisper_threads: int = field(default_factory=lambda: int(_env("WHISPER_THREADS", "0")))
    """CTranslate2 intra-op threads of the Whisper runner (0: one per core the process may use)."""
    text_classifier_threads: int = field(default_factory=lambda: int(_env("TEXT_CLASSIFIER_THREADS", "0")))
    """PyTorch threads of the text classifier runner (0: one per core)."""
    text_category_head: bool = field(default_factory=lambda: _env_bool("TEXT_CATEGORY_HEAD", True))
    """Whether the text classifier shares the category with its category head (frozen Gemma 3
    270M under it). Off: the members alone name the category (held-out category accuracy 0.886
    instead of 0.943) and the text runner needs about 0.7 GB less memory."""
    audio_classifier_threads: int = field(default_factory=lambda: int(_env("AUDIO_CLASSIFIER_THREADS", "1")))
    """PyTorch threads of the audio classifier runner. One: a 0.3 M-parameter network gains
    nothing from more, and on a CPU shared with Whisper, threads spinning on both cores thrash."""
    corrector_threads: int = field(default_factory=lambda: int(_env("CORRECTOR_THREADS", "1")))
    """PyTorch threads of the corrector runner and its training. One: its batches are short,
    and spinning OpenMP threads lose to the other runners' processes on a small CPU."""
    batching: bool = field(default_factory=lambda: _env_bool("BATCHING", True))
    """Adaptive batching switch for benchmarks: off means every runner sees batches of one."""
    call_whisper_beam_size: int = field(default_factory=lambda: int(_env("CALL_WHISPER_BEAM_SIZE", "1")))
    """Beam width of live calls' decodes (1: greedy), which never use the temperature fallback
    (``triage.whisper.engines.call_decoding``). With beam 5 and the fallback one call's
    committed-text p95 went from 1.7 to 4.5 s and its alert came 5 s after the decisive
    utterance instead of at once (docs/LIVE_CALLS.md)."""
    call_max_seconds: float = field(default_factory=lambda: float(_env("CALL_MAX_SECONDS", "1800")))
    """Longest live call (``WS /calls``), in audio seconds and in wall seconds; then it is closed 4009."""
    call_max_concurrent: int = field(default_factory=lambda: int(_env("CALL_MAX_CONCURRENT", "16")))
    """Live calls one API worker serves at once; the next is refused with close code 1013."""
    call_idle_timeout_s: float = field(default_factory=lambda: float(_env("CALL_IDLE_TIMEOUT_S", "10")))
    """A live call that sends nothing for this long is closed (4008)."""
    call_min_frame_ms: float = field(default_factory=lambda: float(_env("CALL_MIN_FRAME_MS", "20")))
    call_max_frame_ms: float = field(default_factory=lambda: float(_env("CALL_MAX_FRAME_MS", "1000")))
    """Audio per binary frame of a live call; other sizes are refused (4006)."""
    call_sample_rates: tuple[int, ...] = field(
        default_factory=lambda: tuple(
            int(r) for r in _env("CALL_SAMPLE_RATES", "8000,16000,22050,24000,32000,44100,48000").split(",")
        )
    )
    """PCM sample rates a live call may declare (resampled to 16 kHz); others are refused (4004)."""
    call_silence_ms: float = field(default_factory=lambda: float(_env("CALL_SILENCE_MS", "500")))
    """Silence that ends an utterance of a live call (then it is decoded and committed). Longer
    than the pause at a comma, so Whisper hears whole sentences, whose context it needs; every
    millisecond of it is also waited before a sentence's text is committed, and once a decode
    takes less than this, it is most of the committed-text latency (``bench_calls`` measures
    the transcript against ``/transcribe`` at this setting)."""
    call_min_speech_ms: float = field(default_factory=lambda: float(_env("CALL_MIN_SPEECH_MS", "150")))
    """Utterances with less speech than this are dropped as clicks or breaths."""
    call_max_utterance_s: float = field(default_factory=lambda: float(_env("CALL_MAX_UTTERANCE_S", "20")))
    """An utterance without a pause is cut here, within Whisper's 30-s window."""
    call_vad_floor_dbfs: float = field(default_factory=lambda: float(_env("CALL_VAD_FLOOR_DBFS", "-45")))
    call_vad_margin_db: float = field(default_factory=lambda: float(_env("CALL_VAD_MARGIN_DB", "10")))
    """A 30 ms hop is speech above the floor and this far above the line's running noise level."""
    call_partial_interval_s: float = field(
        default_factory=lambda: float(_env("CALL_PARTIAL_INTERVAL_S", "1.0"))
    )
    """New audio of the open utterance after which it is re-decoded for a ``partial``."""
    call_sound_window_s: float = field(default_factory=lambda: float(_env("CALL_SOUND_WINDOW_S", "4")))
    call_sound_hop_s: float = field(default_factory=lambda: float(_env("CALL_SOUND_HOP_S", "2")))
    """The sound model hears the last ``window`` seconds of the call every ``hop`` seconds."""
    call_context_chars: int = field(default_factory=lambda: int(_env("CALL_CONTEXT_CHARS", "300")))
    """Corrected text of the latest segments the text classifier reads at each update."""
    whisper_short_context: bool = field(default_factory=lambda: _env_bool("WHISPER_SHORT_CONTEXT", True))
    """Encode windows shorter than 30 s over their own length plus a second of padding instead of
    Whisper's full 30 s (``ctranslate2`` engine; see ``triage.whisper.short_context``). Off: the
    full window, as the models' training transcripts were made."""
    whisper_url: str = field(default_factory=lambda: _env("WHISPER_URL", ""))
    """Base URL of a Whisper runner served on its own (``bentoml serve runners.whisper:Whisper``);
    empty: ``bentoml serve service:Triage`` starts it in-graph. Likewise the three below."""
    corrector_url: str = field(default_factory=lambda: _env("CORRECTOR_URL", ""))
    text_classifier_url: str = field(default_factory=lambda: _env("TEXT_CLASSIFIER_URL", ""))
    audio_classifier_url: str = field(default_factory=lambda: _env("AUDIO_CLASSIFIER_URL", ""))
    s3_allowed_buckets: tuple[str, ...] = field(
        default_factory=lambda: tuple(
            b.strip() for b in _env("S3_ALLOWED_BUCKETS", "").split(",") if b.strip()
        )
    )
    """Buckets ``s3_uri`` requests may read (empty: none, so object storage is off until listed)."""
    s3_endpoint_url: str = field(default_factory=lambda: _env("S3_ENDPOINT_URL", ""))
    """An S3-compatible endpoint (MinIO, Ceph, ...); empty: boto3's standard chain decides
    (``AWS_ENDPOINT_URL_S3``, ``AWS_ENDPOINT_URL``, then AWS itself). Credentials and region always
    come from that chain (environment, shared files, instance or pod role)."""
    s3_region: str = field(default_factory=lambda: _env("S3_REGION", ""))
    """Region for the S3 client (empty: boto3's standard chain)."""
    s3_timeout_s: float = field(default_factory=lambda: float(_env("S3_TIMEOUT_S", "10")))
    """Connect and read timeout of one S3 call; an unreachable store becomes a 503, not a hang."""
    auth: bool = field(default_factory=lambda: _env_bool("AUTH", True))
    """API keys required on every endpoint but health, readiness and metrics. Turning this off
    takes an explicit ``TRIAGE_AUTH=0`` and the server logs a warning at start."""
    api_keys_file: str = field(
        default_factory=lambda: _env("API_KEYS_FILE", str(Path.home() / ".config" / "triage" / "api_keys"))
    )
    """File of ``name sha256:<hex>`` lines (``python -m triage.security.keys``); re-read when it
    changes, so a removed (revoked) key stops working without a restart."""
    api_key_hashes: str = field(default_factory=lambda: _env("API_KEY_HASHES", ""))
    """More keys from the environment: ``name:<sha256 hex>`` entries separated by commas."""
    metrics_require_key: bool = field(default_factory=lambda: _env_bool("METRICS_REQUIRE_KEY", False))
    """``/metrics`` holds counts and latencies only, so scrapers on the internal network read it
    without a key; on an exposed port, set this and give the scraper a key of its own."""
    public_docs: bool = field(default_factory=lambda: _env_bool("PUBLIC_DOCS", False))
    """Serve the OpenAPI spec and the Swagger page without a key (they describe the API, no data)."""
    rate_limit_per_s: float = field(default_factory=lambda: float(_env("RATE_LIMIT_PER_S", "20")))
    """Requests per second each key may sustain (token bucket refill; 0: no limit)."""
    rate_limit_burst: int = field(default_factory=lambda: int(_env("RATE_LIMIT_BURST", "40")))
    """Requests a key may send at once before its bucket runs dry."""
    audit_log: str = field(default_factory=lambda: _env("AUDIT_LOG", ""))
    """File the audit trail is appended to, one JSON line per request (empty: standard error)."""
    audit_transcripts: bool = field(default_factory=lambda: _env_bool("AUDIT_TRANSCRIPTS", False))
    """Put transcripts in the audit trail, with phone, resident registration and card numbers and
    e-mail addresses masked. Off by default: callers' words are personal data."""
    cors_origins: tuple[str, ...] = field(
        default_factory=lambda: tuple(o.strip() for o in _env("CORS_ORIGINS", "").split(",") if o.strip())
    )
    """Browser origins allowed to call the API from other sites (empty: none, same origin only)."""
    body_timeout_s: float = field(default_factory=lambda: float(_env("BODY_TIMEOUT_S", "30")))
    """Seconds a client has to send a whole request body; slower ones get 408 and lose the connection."""
    max_header_bytes: int = field(default_factory=lambda: int(_env("MAX_HEADER_BYTES", "8192")))
    """Total size of a request's headers beyond which it gets 431."""
    auth_failure_rate_per_s: float = field(
        default_factory=lambda: float(_env("AUTH_FAILURE_RATE_PER_S", "0.5"))
    )
    """Failed authentications (missing, malformed, unknown or revoked key, key in the URL) each
    client address may sustain per second; once its ``auth_failure_burst`` is spent, every request
    from that address that needs a key gets 429 until the bucket refills, so keys cannot be
    guessed at speed. Behind a proxy the server must see real client addresses (Uvicorn's
    ``FORWARDED_ALLOW_IPS``), else all clients share the proxy's allowance. 0: no limit."""
    auth_failure_burst: int = field(default_factory=lambda: int(_env("AUTH_FAILURE_BURST", "20")))
    """Failed authentications an address may make in a row before it is made to wait."""


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings of this process, read once from the environment."""
    return Settings()
