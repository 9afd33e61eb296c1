"""Fine-tuning all-MiniLM-L6-v2 on positive vs negative tweets, three regimes, on this CPU.

The regimes of chapter 07, on the same split, with the same seeds and settings as the chapter:

* ``frozen``: encoder frozen; its last layer is computed once (cached) and only the linear head
  is trained, on its mean-pooled output;
* ``top2``: embeddings and layers 0-3 frozen; the input of layer 4 is cached, layers 4-5 and the
  head are trained from it;
* ``full``: everything trained, the encoder with a smaller learning rate than the head.

Dropout is switched off (``finetune.disable_dropout``); top2 and full start from the head the
frozen regime trained. Training is ``embedlab.train.fit`` (AdamW, validation after each epoch, the
weights of the best validation epoch kept).

Two sizes: ``chapter`` is exactly what the notebook runs live (so the notebook can quote its
times), ``larger`` uses more data, for accuracies with less noise. For each regime: test accuracy,
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

from embedlab import attention, device, finetune, pretrained, train  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
SIZES = {  # name -> (train_per_class, val_per_class, test_per_class, epochs of top2 and full)
    "chapter": (128, 64, 128, 1),
    "larger": (1000, 100, 400, 2),
}
SETTINGS = {
    "min_confidence": 0.8,  # annotator agreement threshold of the split
    "max_len": 32,  # WordPiece tokens per tweet, [CLS] and [SEP] included
    "batch_size": 32,
    "head_lr": 1e-3,  # TrainConfig.lr
    "encoder_lr_scale": 0.1,  # every unfrozen encoder parameter (top2, full) trains at 0.1 * head_lr
    "frozen_epochs": 30,  # the head alone, from the cache: an epoch costs milliseconds
    "patience": 0,  # no early stopping; fit still keeps the epoch with the best validation accuracy
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
    """A copy of the pretrained encoder (all trainable) and a head seeded with 0, or a copy of ``head``."""
    bert = copy.deepcopy(base)
    finetune.disable_dropout(bert)
    train.unfreeze(bert)
    device.seed_everything(0)
    classifier = finetune.PretrainedClassifier(bert, num_classes=2)
    if head is not None:
        classifier.head.load_state_dict(head.state_dict())
    return classifier


def config(epochs: int) -> train.TrainConfig:
    s = SETTINGS
    return train.TrainConfig(epochs=epochs, batch_size=s["batch_size"], lr=s["head_lr"], patience=s["patience"],
                             seed=0, progress=False)


def run_size(name: str, tokenizer, base) -> dict:
    s = SETTINGS
    train_per_class, val_per_class, test_per_class, epochs = SIZES[name]
    split = finetune.tweet_sentiment_split(train_per_class, val_per_class, test_per_class, s["min_confidence"])
    everything = split.train + split.val + split.test  # encoded and cached together: one (N, T) layout
    ids, mask = finetune.encode_texts(tokenizer, [x.text for x in everything], s["max_len"])
    labels = [x.label for x in everything]
    n_train, n_val = len(split.train), len(split.val)
    parts = {"train": slice(0, n_train), "val": slice(n_train, n_train + n_val), "test": slice(n_train + n_val, None)}
    top, last = s["top_start"], len(base.encoder.layer)
    rows = {}

    classifier = fresh_classifier(base)
    finetune.disable_dropout(classifier)
    with Timer() as cache_timer:
        cache = finetune.cache_layer_inputs(classifier, ids, mask, [top, last], s["cache_batch_size"])
    print(f"[{name}] cache of layers {top} and {last}: {cache_timer.seconds:.1f} s", flush=True)

    def run(regime: str, model, start_layer: int | None, epochs: int, lr_scale: dict | None, trainable: int):
        if start_layer is None:
            collate, examples = train.PadCollate(), finetune.to_examples(ids, mask, labels)
        else:
            collate = finetune.CacheCollate(cache[start_layer], mask)
            examples = collate.examples(labels)
        train_set, val_set, test_set = (examples[parts[p]] for p in ("train", "val", "test"))
        with Timer() as t:
            history = train.fit(model, train_set, val_set, collate, config(epochs), lr_scale=lr_scale)
        rows[regime] = {
            "trainable_parameters": trainable,
            "epochs": epochs,
            "best_epoch": history.best_epoch,
            "seconds_per_epoch": round(t.seconds / epochs, 3),
            "test_accuracy": round(train.evaluate(model, test_set, collate).accuracy, 4),
        }
        row = rows[regime]
        print(f"[{name}] {regime:6}: accuracy {row['test_accuracy']:.1%}, {trainable:,} trainable, "
              f"{row['seconds_per_epoch']:.2f} s/epoch, best epoch {history.best_epoch}", flush=True)

    # frozen: the head alone, on the cached last layer
    frozen = fresh_classifier(base)
    train.freeze(frozen.encoder)
    run("frozen", finetune.FromLayer(frozen, last), last, s["frozen_epochs"], None,
        train.count_parameters(frozen, trainable_only=True))

    # top2: layers 4-5 and the head (starting from the frozen regime's head), on the cached input of layer 4
    top2 = fresh_classifier(base, frozen.head)
    train.freeze(top2.encoder)
    train.unfreeze(top2.layers[top:])
    run("top2", finetune.FromLayer(top2, top), top, epochs, {"classifier.encoder": s["encoder_lr_scale"]},
        train.count_parameters(top2, trainable_only=True))
    # the same regime without a cache: layers 0-3 recomputed (no grad) at every step, one epoch
    examples = finetune.to_examples(ids, mask, labels)
    with Timer() as t:
        train.fit(RecomputeBottom(top2, top), examples[parts["train"]], examples[parts["val"]], train.PadCollate(),
                  config(1), lr_scale={"classifier.encoder": s["encoder_lr_scale"]})
    rows["top2"]["seconds_per_epoch_without_cache"] = round(t.seconds, 3)

    # full: everything (starting from the frozen regime's head), the encoder at the smaller learning rate
    full = fresh_classifier(base, frozen.head)
    run("full", full, None, epochs, {"encoder": s["encoder_lr_scale"]},
        train.count_parameters(full, trainable_only=True))
    return {
        "train_examples": n_train,
        "val_examples": n_val,
        "test_examples": len(split.test),
        "tokens_per_example": int(ids.shape[1]),
        "cache_seconds": round(cache_timer.seconds, 2),
        "regimes": rows,
    }


class RecomputeBottom(torch.nn.Module):
    """The top2 regime without a cache: layers below ``start`` run under no_grad at every call."""

    def __init__(self, classifier: finetune.PretrainedClassifier, start: int):
        super().__init__()
        self.classifier = classifier
        self.start = start

    def forward(self, token_ids, padding_mask):
        with torch.no_grad():  # the embeddings and layers 0..start-1, nothing above
            hidden = self.classifier.encoder.embeddings(input_ids=token_ids)  # (B, T) -> (B, T, D)
            mask = attention.additive_mask(padding_mask, hidden.dtype)  # (B, 1, 1, T)
            for layer in self.classifier.layers[: self.start]:
                hidden = layer(hidden, mask)
                hidden = hidden[0] if isinstance(hidden, tuple) else hidden  # (B, T, D)
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
        "sizes": {name: {"train_per_class": a, "val_per_class": b, "test_per_class": c, "epochs": e}
                  for name, (a, b, c, e) in SIZES.items()},
        "timing": "perf_counter around embedlab.train.fit (forward, backward, optimizer step, and the validation "
        "pass after each epoch), divided by the epochs; cache_seconds: one forward pass over train, val and test",
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
