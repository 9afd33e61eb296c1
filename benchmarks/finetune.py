"""Fine-tuning all-MiniLM-L6-v2 on positive vs negative tweets, three regimes, on this CPU.

The regimes of chapter 07, on the same split, with the same seeds and settings as the chapter:

* ``frozen``: encoder frozen; its mean-pooled last layer is computed once (cached) and only the
  linear head is trained;
* ``top2``: embeddings and layers 0-3 frozen; the input of layer 4 is cached, layers 4-5 and the
  head are trained from it;
* ``full``: everything trained, the encoder with a smaller learning rate than the head.

Two sizes: ``chapter`` is exactly what the notebook runs live (so the notebook can quote its
times), ``larger`` uses more data for accuracies with less noise. For each regime: test accuracy,
trainable parameters, seconds per epoch, and the one-off seconds of building the cache. For the
``top2`` regime it also times one epoch *without* the cache (layers 0-3 recomputed under no_grad
at every step), so the saving is a ratio measured in one run.

One CPU thread, like the notebooks (``device.setup``). Other processes shared the machine, so
absolute times are inflated; ratios within one run are comparable. No GPU is measured here.

Run from the repository root: python benchmarks/finetune.py [--only chapter]
Writes benchmarks/results/finetune.json and benchmarks/results/finetune.md.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the repository's own embedlab, also without `pip install -e .`
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from embedlab import _standin, device, encoder, finetune, pretrained  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
SIZES = {  # name -> (train_per_class, test_per_class)
    "chapter": (128, 128),
    "larger": (1000, 400),
}
SETTINGS = {
    "min_confidence": 0.8,  # annotator agreement threshold of the split
    "max_len": 32,  # WordPiece tokens per tweet, [CLS] and [SEP] included
    "batch_size": 32,
    "head_lr": 1e-3,
    "encoder_lr": 1e-4,  # for every unfrozen encoder parameter (top2 and full)
    "epochs": 2,  # top2 and full
    "frozen_epochs": 30,  # the head alone, from the cache: an epoch costs milliseconds
    "top_start": 4,  # top2: layers 4 and 5 are trained
    "cache_batch_size": 64,
}


class Timer:
    """Seconds of a block, measured with perf_counter."""

    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start


def fresh_classifier(base, head: torch.nn.Linear | None = None) -> finetune.PretrainedClassifier:
    """A copy of the pretrained encoder (all trainable, eval mode) and a head seeded with 0, or a copy of ``head``."""
    bert = copy.deepcopy(base).eval()
    encoder.unfreeze(bert)
    torch.manual_seed(0)
    classifier = finetune.PretrainedClassifier(bert, num_classes=2)
    if head is not None:
        classifier.head.load_state_dict(head.state_dict())
    return classifier


def run_size(name: str, tokenizer, base) -> dict:
    s = SETTINGS
    train_per_class, test_per_class = SIZES[name]
    split = finetune.tweet_sentiment_split(train_per_class, test_per_class, min_confidence=s["min_confidence"])
    train_ids, train_mask = finetune.encode_texts(tokenizer, [x.text for x in split.train], s["max_len"])
    test_ids, test_mask = finetune.encode_texts(tokenizer, [x.text for x in split.test], s["max_len"])
    y_train = torch.tensor([x.label for x in split.train])
    y_test = torch.tensor([x.label for x in split.test])
    top, last = s["top_start"], len(base.encoder.layer)
    rows = {}

    classifier = fresh_classifier(base)
    with Timer() as cache_timer:
        train_cache = finetune.cache_layer_inputs(classifier, train_ids, train_mask, [top, last], s["cache_batch_size"])
        test_cache = finetune.cache_layer_inputs(classifier, test_ids, test_mask, [top, last], s["cache_batch_size"])
    print(f"[{name}] cache of layers {top} and {last}: {cache_timer.seconds:.1f} s", flush=True)

    # frozen: the head alone, on the cached last layer
    classifier = fresh_classifier(base)
    encoder.freeze(classifier.encoder)
    model = finetune.FromLayer(classifier, last)
    optimizer = torch.optim.AdamW(classifier.head.parameters(), lr=s["head_lr"], weight_decay=0.0)
    with Timer() as t:
        _standin.fit(model, (train_cache[last], train_mask), y_train, optimizer, s["frozen_epochs"], s["batch_size"])
    frozen_head = classifier.head
    rows["frozen"] = {
        "trainable_parameters": encoder.count_parameters(classifier, trainable_only=True),
        "epochs": s["frozen_epochs"],
        "seconds_per_epoch": t.seconds / s["frozen_epochs"],
        "test_accuracy": _standin.accuracy(model, (test_cache[last], test_mask), y_test),
    }

    # top2: layers 4-5 and the head (starting from the frozen regime's head), on the cached input of layer 4
    classifier = fresh_classifier(base, frozen_head)
    encoder.freeze(classifier.encoder)
    encoder.unfreeze(classifier.layers[top:])
    model = finetune.FromLayer(classifier, top)
    optimizer = torch.optim.AdamW([
        {"params": classifier.head.parameters(), "lr": s["head_lr"]},
        {"params": classifier.layers[top:].parameters(), "lr": s["encoder_lr"]},
    ], weight_decay=0.0)
    with Timer() as t:
        _standin.fit(model, (train_cache[top], train_mask), y_train, optimizer, s["epochs"], s["batch_size"])
    rows["top2"] = {
        "trainable_parameters": encoder.count_parameters(classifier, trainable_only=True),
        "epochs": s["epochs"],
        "seconds_per_epoch": t.seconds / s["epochs"],
        "test_accuracy": _standin.accuracy(model, (test_cache[top], test_mask), y_test),
    }
    # the same regime without a cache: layers 0-3 recomputed (no grad) at every step, one epoch
    recompute = RecomputeBottom(classifier, top)
    with Timer() as t:
        _standin.fit(recompute, (train_ids, train_mask), y_train, optimizer, 1, s["batch_size"])
    rows["top2"]["seconds_per_epoch_without_cache"] = t.seconds

    # full: everything (starting from the frozen regime's head), the encoder with the smaller learning rate
    classifier = fresh_classifier(base, frozen_head)
    optimizer = torch.optim.AdamW([
        {"params": classifier.head.parameters(), "lr": s["head_lr"]},
        {"params": classifier.encoder.parameters(), "lr": s["encoder_lr"]},
    ], weight_decay=0.0)
    with Timer() as t:
        _standin.fit(classifier, (train_ids, train_mask), y_train, optimizer, s["epochs"], s["batch_size"])
    rows["full"] = {
        "trainable_parameters": encoder.count_parameters(classifier, trainable_only=True),
        "epochs": s["epochs"],
        "seconds_per_epoch": t.seconds / s["epochs"],
        "test_accuracy": _standin.accuracy(classifier, (test_ids, test_mask), y_test),
    }
    for regime, row in rows.items():
        for key in ("seconds_per_epoch", "seconds_per_epoch_without_cache"):
            if key in row:
                row[key] = round(row[key], 3)
        row["test_accuracy"] = round(row["test_accuracy"], 4)
        print(f"[{name}] {regime:6}: accuracy {row['test_accuracy']:.1%}, "
              f"{row['trainable_parameters']:,} trainable, {row['seconds_per_epoch']:.2f} s/epoch", flush=True)
    return {
        "train_examples": len(split.train),
        "test_examples": len(split.test),
        "tokens_per_example": int(train_ids.shape[1]),
        "cache_seconds": round(cache_timer.seconds, 2),
        "regimes": rows,
    }


class RecomputeBottom(torch.nn.Module):
    """The top2 regime without a cache: layers below ``start`` run under no_grad at every call."""

    def __init__(self, classifier: finetune.PretrainedClassifier, start: int):
        super().__init__()
        self.classifier = classifier
        self.start = start

    def forward(self, input_ids, padding_mask):
        with torch.no_grad():
            hidden = self.classifier.layer_input(input_ids, padding_mask, self.start)
        return self.classifier.forward_from(hidden, padding_mask, self.start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(SIZES), help="run one size only (results are not written)")
    args = parser.parse_args()
    device.setup(seed=0, name="cpu")  # one thread, deterministic
    start = time.perf_counter()
    tokenizer, base = pretrained.load_minilm()
    sizes = [args.only] if args.only else list(SIZES)
    by_size = {name: run_size(name, tokenizer, base) for name in sizes}
    if args.only:
        return
    result = {
        "benchmark": "fine-tuning all-MiniLM-L6-v2 on positive vs negative tweets: frozen, top 2 layers, full",
        "torch": torch.__version__,
        "transformers": __import__("transformers").__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "device": "cpu (no GPU is lent to this project's CPU runs; GPU times are not measured here)",
        "settings": SETTINGS,
        "sizes": {name: {"train_per_class": a, "test_per_class": b} for name, (a, b) in SIZES.items()},
        "timing": "perf_counter around whole epochs of training (forward, backward, optimizer step); "
        "cache_seconds: one forward pass over train and test to build the caches",
        "shared_machine_note": "other processes shared the machine; ratios within one run are comparable",
        "results": by_size,
        "total_seconds": round(time.perf_counter() - start, 1),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "finetune.json").write_text(json.dumps(result, indent=1) + "\n")
    lines = [
        f"# fine-tuning all-MiniLM-L6-v2 (torch {torch.__version__}, {os.cpu_count()} CPUs, "
        f"{torch.get_num_threads()} thread)",
        "",
        "| size | regime | train | test | trainable parameters | epochs | s / epoch | test accuracy |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in by_size.items():
        for regime, row in r["regimes"].items():
            lines.append(
                f"| {name} | {regime} | {r['train_examples']} | {r['test_examples']} | "
                f"{row['trainable_parameters']:,} | {row['epochs']} | {row['seconds_per_epoch']:.2f} | "
                f"{row['test_accuracy']:.1%} |"
            )
    (RESULTS / "finetune.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {RESULTS / 'finetune.json'} in {result['total_seconds']} s")


if __name__ == "__main__":
    main()
