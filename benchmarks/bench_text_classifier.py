"""Text classifier latency and batching gain, measured in-process on the stored model.

    python benchmarks/bench_text_classifier.py [--repeats 30] [--batch 32] [--threads 0]

Prints the median single-text latency and the throughput of one batched call of
``--batch`` texts against the same texts classified one by one (the gain adaptive
batching in the runner can deliver), then what the heads add to a text (the Gemma encoder,
run once for both, and a regression) beside the members' own forward pass, per text, one
by one and batched, and again with the encoder's layers kept in float32 (what holding them
in bfloat16 costs in time). Uses the model in ``$BENTOML_HOME``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from training.text_classifier.data import TEST_TSV, load_examples
from triage.device import set_torch_threads
from triage.text_classifier.model import TextClassifierModel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        set_torch_threads(args.threads)
    model = TextClassifierModel.from_store()
    texts = [ex.text for ex in load_examples(TEST_TSV)]
    batch = (texts * (args.batch // len(texts) + 1))[: args.batch]
    model.classify(batch[:4])  # warm-up

    single = []
    for i in range(args.repeats):
        started = time.perf_counter()
        model.classify([texts[i % len(texts)]])
        single.append(time.perf_counter() - started)

    started = time.perf_counter()
    for _ in range(max(1, args.repeats // 10)):
        for text in batch:
            model.classify([text])
    one_by_one = (time.perf_counter() - started) / max(1, args.repeats // 10)
    started = time.perf_counter()
    for _ in range(max(1, args.repeats // 10)):
        model.classify(batch)
    batched = (time.perf_counter() - started) / max(1, args.repeats // 10)

    print(f"device {model.device}, torch threads {torch.get_num_threads()}")
    print(
        f"single-text latency: median {statistics.median(single) * 1000:.1f} ms, "
        f"p90 {sorted(single)[int(0.9 * len(single))] * 1000:.1f} ms"
    )
    n = args.batch
    print(f"{n} texts one by one: {one_by_one * 1000:.0f} ms ({n / one_by_one:.0f} texts/s)")
    print(f"{args.batch} texts as one batch: {batched * 1000:.0f} ms ({args.batch / batched:.0f} texts/s)")
    print(f"batched / one-by-one throughput ratio: {one_by_one / batched:.2f}x")
    if model.head is not None and model.encoder is not None:
        head, encoder = model.head, model.encoder
        sizes = {size: [batch[i : i + size] for i in range(0, len(batch), size)] for size in (1, args.batch)}
        members = {size: _per_text(model.logits, parts) for size, parts in sizes.items()}

        def category(parts: list[list[str]]) -> float:
            return _per_text(lambda texts: head.probabilities(encoder.embed(texts)), parts)

        served = {size: category(parts) for size, parts in sizes.items()}
        widened = _keep_layers_in_float32(encoder)
        in_float32 = {size: category(parts) for size, parts in sizes.items()}
        for size in sizes:
            print(
                f"batches of {size}: members {members[size] * 1000:.1f} ms/text, "
                f"encoder + head regression {served[size] * 1000:.1f} ms/text "
                f"({in_float32[size] * 1000:.1f} with its layers kept in float32, "
                f"+{widened / 2**20:.0f} MiB)"
            )


def _keep_layers_in_float32(encoder) -> int:
    """Widen the encoder's linear weights for good, as a plain float32 load holds them, so the
    time the served encoder pays for widening them at each use can be read beside it; returns
    the bytes this adds."""
    added = 0
    for module in encoder.model.modules():
        if isinstance(module, torch.nn.Linear) and module.weight.dtype != torch.float32:
            added += module.weight.numel() * (4 - module.weight.element_size())
            module.weight.data = module.weight.data.float()
    return added


def _per_text(step, parts: list[list[str]], repeats: int = 3) -> float:
    """Seconds per text of ``step`` over every part, the best of ``repeats`` runs."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for part in parts:
            step(part)
        best = min(best, time.perf_counter() - started)
    return best / sum(len(part) for part in parts)


if __name__ == "__main__":
    main()
