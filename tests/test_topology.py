"""The deployed topology, run: four runners and the API as separate ``bentoml serve`` processes.

Each runner is served alone (``bentoml serve runners.<model>:<Class> --port N``, as one container
or pod of ``deploy/`` would run it) and the API reaches them by URL (``TRIAGE_<MODEL>_URL``),
so every runner call crosses the JSON wire (audio as base64 16-bit PCM, ``triage.pcm``). The
tests run in order on one topology: the runners answer alone, the API answers through them,
a second API shares them, and a runner killed and restarted takes the API out of readiness
with a 503 and back into it.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator

import httpx
import pytest
import websocket

from harness.call_client import call_audio, connect, frames, run_call, ws_url
from harness.server import ServeProcess
from harness.shared_audio import SPEECH_DIR, read_manifest
from harness.topology import Topology
from tests.conftest import STORE, build_models
from training.build_models import STEPS
from triage.audio import decode_audio
from triage.calls.protocol import CloseCode
from triage.metrics import cer
from triage.pcm import to_pcm16

CLIPS = ["emotiontts_lmy02120.wav", "emotiontts_pma00006.wav"]
REFERENCES = {r["file"]: r["transcript"] for r in read_manifest(SPEECH_DIR)}


@pytest.fixture(scope="module")
def topology() -> Iterator[Topology]:
    build_models(*(name for name, _, _ in STEPS))
    with Topology(STORE, timeout_s=900) as topo:
        yield topo


def analyze(api: ServeProcess, name: str) -> httpx.Response:
    """``/analyze`` of one labelled clip through an API process, with its key."""
    data = (SPEECH_DIR / name).read_bytes()
    return api.client.post("/analyze", files={"file": (name, data, "audio/wav")}, timeout=300)


def pcm_json(name: str) -> dict[str, str]:
    clip = decode_audio((SPEECH_DIR / name).read_bytes(), "audio/wav")
    return {"pcm16": base64.b64encode(to_pcm16(clip)).decode("ascii")}


def test_each_runner_answers_alone_in_json(topology: Topology) -> None:
    """Any HTTP client can call a runner served alone: its JSON API is the wire format."""
    runners = topology.runners
    clip = pcm_json(CLIPS[0])
    transcribed = httpx.post(f"{runners['whisper'].url}/transcribe", json={"clips": [clip]}, timeout=300)
    assert transcribed.status_code == 200, transcribed.text
    [transcript] = transcribed.json()
    assert cer(REFERENCES[CLIPS[0]], transcript["text"]) < 0.3

    sound = httpx.post(f"{runners['audio_classifier'].url}/classify", json={"clips": [clip]}, timeout=120)
    assert sound.status_code == 200, sound.text
    assert sum(sound.json()[0]["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)

    text = httpx.post(
        f"{runners['text_classifier'].url}/classify", json={"texts": ["불이 났어요"]}, timeout=60
    )
    assert text.status_code == 200, text.text
    assert text.json()[0]["label"] in text.json()[0]["probabilities"]

    corrected = httpx.post(
        f"{runners['corrector'].url}/correct",
        json={"items": [{"segment": {"id": 0, "text": transcript["text"]}}]},
        timeout=120,
    )
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()[0]["original"] == transcript["text"]

    bad = httpx.post(f"{runners['whisper'].url}/transcribe", json={"clips": [{"pcm16": "%%%"}]}, timeout=60)
    assert bad.status_code == 400, bad.text


def test_api_by_url_analyzes_real_clips(topology: Topology) -> None:
    [api] = topology.apis
    for name in CLIPS:
        response = analyze(api, name)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["transcript_source"] == "whisper"
        assert cer(REFERENCES[name], body["transcript"]) < 0.3
        assert isinstance(body["decision"]["is_emergency"], bool)
        assert body["text"] is not None and body["corrections"]

    files = [("file", (n, (SPEECH_DIR / n).read_bytes(), "audio/wav")) for n in CLIPS]
    files.append(("file", ("empty.wav", b"", "audio/wav")))
    batch = api.client.post("/analyze/batch", files=files, timeout=300)
    assert batch.status_code == 200, batch.text
    results = batch.json()["results"]
    assert [r["filename"] for r in results] == [*CLIPS, "empty.wav"]
    for name, result in zip(CLIPS, results, strict=False):
        assert cer(REFERENCES[name], result["analysis"]["transcript"]) < 0.3
    assert results[2]["analysis"] is None and results[2]["error"]["code"] == "empty_audio"

    texts = api.client.post("/classify/text", json={"sentences": ["불이 났어요", "안녕하세요"]}, timeout=60)
    assert texts.status_code == 200, texts.text
    assert len(texts.json()["results"]) == 2


def test_second_api_shares_the_runners(topology: Topology) -> None:
    second = topology.add_api()
    first = topology.apis[0]
    answers = [analyze(api, CLIPS[1]) for api in (first, second)]
    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
    one, two = (a.json() for a in answers)
    assert one["transcript"] == two["transcript"]
    assert one["decision"] == two["decision"]


def test_killed_runner_gives_503_and_restart_brings_it_back(topology: Topology) -> None:
    api = topology.apis[0]
    runner = topology.runners["text_classifier"]
    runner.kill()
    killed = time.monotonic()

    refused = analyze(api, CLIPS[0])
    assert refused.status_code == 503, refused.text
    assert refused.json()["error"]["code"] == "runner_unavailable"
    assert refused.headers["retry-after"]
    texts = api.client.post("/classify/text", json={"sentences": ["불이 났어요"]}, timeout=60)
    assert texts.status_code == 503 and texts.json()["error"]["code"] == "runner_unavailable"
    assert httpx.get(f"{api.url}/readyz", timeout=30).status_code == 503
    assert httpx.get(f"{api.url}/healthz", timeout=30).status_code == 200  # alive: no restart needed
    refused_s = time.monotonic() - killed

    runner.start()  # same port: the API finds it where it looked
    restarted = time.monotonic()
    deadline = restarted + 120
    while httpx.get(f"{api.url}/readyz", timeout=30).status_code != 200:
        assert time.monotonic() < deadline, "the API did not become ready again"
        time.sleep(0.5)
    served = analyze(api, CLIPS[0])
    assert served.status_code == 200, served.text
    print(
        f"kill -> three 503 answers and /readyz 503 within {refused_s:.1f} s; runner restarted and ready in "
        f"{runner.ready_s:.1f} s; API /readyz 200 again {time.monotonic() - restarted:.1f} s later; served"
    )


def test_whisper_down_mid_call_ends_the_call_with_an_error(topology: Topology) -> None:
    """A live call whose speech runner dies and stays down: an ``error`` event and close 1011,
    not a socket left hanging; with the runner back the API is ready and serves calls again."""
    api = topology.apis[0]
    runner = topology.runners["whisper"]
    first, rest = call_audio([SPEECH_DIR / CLIPS[0]]), call_audio([SPEECH_DIR / n for n in CLIPS])
    sock = connect(ws_url(api.url), api.api_key, timeout_s=120)
    events: list[dict] = []
    try:
        sock.send(json.dumps({"type": "start", "sample_rate": first[1]}))
        for frame in frames(*first):
            sock.send_binary(frame)
        while not any(e["type"] == "segment" for e in events):  # the runner works: a sentence is heard
            events.append(json.loads(sock.recv()))
        runner.kill()
        try:  # the caller keeps talking; the server may end the call before all of it is sent
            for frame in frames(*rest):
                sock.send_binary(frame)
            sock.send('{"type": "stop"}')
        except (websocket.WebSocketException, OSError):
            pass
        while True:
            opcode, data = sock.recv_data(control_frame=False)
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                close_code = int.from_bytes(data[:2], "big")
                break
            events.append(json.loads(data))
    finally:
        sock.close()
    kinds = [e["type"] for e in events]
    assert kinds[-1] == "error" and "summary" not in kinds, kinds
    assert events[-1]["code"] == "runner_failed"
    assert close_code == CloseCode.INTERNAL_ERROR
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))

    runner.start()
    deadline = time.monotonic() + 120
    while httpx.get(f"{api.url}/readyz", timeout=30).status_code != 200:
        assert time.monotonic() < deadline, "the API did not become ready again"
        time.sleep(0.5)
    again = run_call(ws_url(api.url), *first, speed=0, api_key=api.api_key)
    assert again.summary is not None and again.summary["segments"] >= 1
    assert again.close_code == CloseCode.NORMAL
