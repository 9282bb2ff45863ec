"""A small ResNet over one-channel log-mel windows, and the inference path used everywhere.

ResNet-18 (11 M parameters) overfits and trains too slowly on a few thousand synthetic
4 s windows on two CPU cores; this keeps its structure (stem, four stages of basic
residual blocks, global pooling) with fewer channels and one block per stage by default.
:func:`predict_clips` is the only way a waveform reaches the network, for held-out
evaluation in training and for the runner alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import bentoml
import numpy as np
import torch
from torch import nn

from triage.audio_classifier.features import FeatureParams, aggregate, clip_features
from triage.audio_classifier.schemas import AudioPrediction
from triage.device import pick_device


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual shortcut (1x1 projection when the shape changes)."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.short: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.short(x))


class AudioResNet(nn.Module):
    """ResNet for ``[batch, 1, n_mels, n_frames]`` inputs returning class logits."""

    def __init__(
        self,
        n_classes: int,
        widths: Sequence[int] = (16, 32, 64, 128),
        blocks: Sequence[int] = (1, 1, 1, 1),
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(1, widths[0], 5, 2, 2, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2, 1),
        )
        layers: list[nn.Module] = []
        cin = widths[0]
        for i, (w, n) in enumerate(zip(widths, blocks, strict=True)):
            for j in range(n):
                layers.append(BasicBlock(cin, w, 2 if (j == 0 and i > 0) else 1))
                cin = w
        self.layers = nn.Sequential(*layers)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(cin, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layers(self.stem(x))
        x = torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1)
        return self.fc(self.dropout(x))


def predict_clips(
    model: nn.Module,
    clips: Sequence[np.ndarray],
    params: FeatureParams,
    device: str | torch.device = "cpu",
    chunk: int = 64,
) -> tuple[np.ndarray, list[int]]:
    """Softmax probabilities ``[n_clips, n_classes]`` (window mean) and window counts per clip.

    All windows of all clips go through the network together (in chunks of ``chunk``),
    which is what makes batching several requests cheaper than one at a time.
    """
    feats = [clip_features(c, params) for c in clips]
    counts = [f.shape[0] for f in feats]
    if not feats:
        return np.zeros((0, 0), dtype=np.float32), []
    x = np.concatenate(feats)
    model.eval()
    outs = []
    with torch.inference_mode():
        for i in range(0, x.shape[0], chunk):
            xb = torch.from_numpy(x[i : i + chunk]).to(device)
            outs.append(torch.softmax(model(xb).float(), dim=1).cpu().numpy())
    return aggregate(np.concatenate(outs), counts), counts


class AudioClassifierModel:
    """A trained classifier with the label map and preprocessing parameters it was saved with.

    Built from the model store entry alone (weights + metadata), so whatever serves it
    preprocesses clips exactly as training did.
    """

    def __init__(self, net: nn.Module, labels: Sequence[str], params: FeatureParams, device: str) -> None:
        self.net = net.to(device).eval()
        self.labels = list(labels)
        self.params = params
        self.device = device
        self.calm_index = self.labels.index("calm") if "calm" in self.labels else None

    @classmethod
    def from_store(cls, model: bentoml.Model, device: str | None = None) -> AudioClassifierModel:
        """Load the audio classifier from a model-store entry (``bentoml.models.get`` or a ``stored`` ref)."""
        device = device or pick_device()
        meta = model.info.metadata
        arch = meta["architecture"]
        net = AudioResNet(len(meta["labels"]), arch["widths"], arch["blocks"])
        state = torch.load(Path(model.path) / meta.get("weights_file", "model.pt"), map_location="cpu")
        net.load_state_dict(state)
        return cls(net, meta["labels"], FeatureParams.from_dict(meta["feature_params"]), device)

    def features(self, clip: np.ndarray) -> np.ndarray:
        """The network input for ``clip`` (the same function training used)."""
        return clip_features(clip, self.params)

    def probabilities(self, clips: Sequence[np.ndarray]) -> tuple[np.ndarray, list[int]]:
        return predict_clips(self.net, clips, self.params, self.device)

    def predict(self, clips: Sequence[np.ndarray]) -> list[AudioPrediction]:
        """One :class:`AudioPrediction` per clip (16 kHz mono float32)."""
        if not clips:
            return []
        probs, counts = self.probabilities(clips)
        out = []
        for clip, p, n in zip(clips, probs, counts, strict=True):
            calm = float(p[self.calm_index]) if self.calm_index is not None else 0.0
            out.append(
                AudioPrediction(
                    label=self.labels[int(p.argmax())],
                    probabilities={lab: float(v) for lab, v in zip(self.labels, p, strict=True)},
                    distress_probability=min(1.0, max(0.0, 1.0 - calm)),
                    windows=n,
                    duration_s=round(len(clip) / self.params.sample_rate, 3),
                )
            )
        return out
