"""``triage.pcm.AudioClip``: the runners' audio wire format, the same samples in a pickle and in JSON."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
from pydantic import ValidationError

from harness.shared_audio import SPEECH_DIR
from triage.audio import decode_audio
from triage.pcm import PCM_SCALE, AudioClip, clip_samples


def real_clip() -> np.ndarray:
    return decode_audio((SPEECH_DIR / "emotiontts_neb00201.wav").read_bytes(), "audio/wav")


def test_json_and_pickle_carry_the_same_samples() -> None:
    samples = real_clip()
    clip = AudioClip.model_validate(samples)  # what bentoml.depends does with a numpy argument
    as_json = clip.model_dump_json()
    from_json = AudioClip.model_validate_json(as_json).to_array()
    from_pickle = AudioClip.model_validate(pickle.loads(pickle.dumps(clip.model_dump()))).to_array()
    np.testing.assert_array_equal(from_json, from_pickle)
    assert np.abs(from_json - samples).max() <= 0.5 / PCM_SCALE + 1e-7  # one rounding step
    assert len(as_json) < 2.7 * len(samples)  # base64 of two bytes a sample, not decimal floats
    assert len(json.dumps(samples.tolist())) > 5 * len(as_json)


def test_out_of_range_samples_are_clipped() -> None:
    loud = np.array([-2.0, -1.0, 0.0, 1.0, 2.0], dtype=np.float32)
    np.testing.assert_array_equal(AudioClip.from_array(loud).to_array(), [-1.0, -1.0, 0.0, 1.0, 1.0])


def test_in_process_callers_may_pass_arrays() -> None:
    samples = np.linspace(-0.5, 0.5, 100, dtype=np.float32)
    np.testing.assert_array_equal(clip_samples(samples), samples)
    assert clip_samples(AudioClip.from_array(samples)).dtype == np.float32


@pytest.mark.parametrize("bad", ['{"pcm16": "%%%"}', '{"pcm16": "AA=="}', '{"pcm16": 5}', "{}"])
def test_malformed_wire_clips_are_refused(bad: str) -> None:
    """Refused when the request is validated (a runner answers 400), not later in the model."""
    with pytest.raises(ValidationError):
        AudioClip.model_validate_json(bad)
