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

Every size is run ``REPEATS`` times, round-robin over the sizes, each round running cache, frozen,
top2, top2 without the cache and full in turn (``benchmarks.harness``); times are the medians of
the rounds (every round's time is kept). Training is deterministic, so every round gives the same
accuracy (recorded). One CPU thread, like the notebooks (``device.setup``); the device comes from
``EMBEDLAB_DEVICE`` (``make bench`` defaults it to cpu, the device of the committed results).

Run from the repository root: python -m benchmarks.finetune [--only chapter]
(or make bench BENCH=finetune). Writes benchmarks/results/finetune.json and finetune.md.
"""

from __future__ import annotations

import argparse
import copy
import os
import time

import torch

from benchmarks import harness
from embedlab import attention, corpora, device, finetune, pretrained, train

NAME = "finetune"
REPEATS = 3  # rounds per size, round-robin over the sizes
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


def one_round(name: str, tokenizer, base, dev: torch.device):
    """A callable that runs one round of size ``name``: cache, then every regime; its raw results."""
    s = SETTINGS
    train_per_class, val_per_class, test_per_class, epochs = SIZES[name]
    split = corpora.tweet_sentiment_split(
        train_per_class, val_per_class, test_per_class, s["min_confidence"]
    )
    everything = split.train + split.val + split.test  # encoded and cached together: one (N, T) layout
    token_ids, mask = finetune.encode_texts(tokenizer, [x.text for x in everything], s["max_len"])
    labels = [x.label for x in everything]
    n_train, n_val = len(split.train), len(split.val)
    parts = {"train": slice(0, n_train), "val": slice(n_train, n_train + n_val), "test": slice(n_train + n_val, None)}
    top, last = s["top_start"], len(base.encoder.layer)

    def run_round() -> dict:
        rows = {}
        classifier = fresh_classifier(base).to(dev)
        finetune.disable_dropout(classifier)
        start = time.perf_counter()
        cache = finetune.cache_layer_inputs(
            classifier, token_ids.to(dev), mask.to(dev), [top, last], s["cache_batch_size"]
        )
        cache_seconds = time.perf_counter() - start
        print(f"[{name}] cache of layers {top} and {last}: {cache_seconds:.1f} s", flush=True)

        def run(regime: str, model, start_layer: int | None, epochs: int, lr_scale: dict | None, trainable: int):
            if start_layer is None:
                collate, examples = train.PadCollate(), finetune.to_examples(token_ids, mask, labels)
            else:
                collate = finetune.CacheCollate(cache[start_layer], mask)
                examples = collate.examples(labels)
            train_set, val_set, test_set = (examples[parts[p]] for p in ("train", "val", "test"))
            start = time.perf_counter()
            history = train.fit(model, train_set, val_set, collate, config(epochs), device=dev, lr_scale=lr_scale)
            seconds = time.perf_counter() - start
            rows[regime] = {
                "trainable_parameters": trainable,
                "epochs": epochs,
                "best_epoch": history.best_epoch,
                "seconds_per_epoch": seconds / epochs,
                "test_accuracy": round(train.evaluate(model, test_set, collate, device=dev).accuracy, 4),
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
        examples = finetune.to_examples(token_ids, mask, labels)
        start = time.perf_counter()
        train.fit(RecomputeBottom(top2, top), examples[parts["train"]], examples[parts["val"]], train.PadCollate(),
                  config(1), device=dev, lr_scale={"classifier.encoder": s["encoder_lr_scale"]})
        without_cache = time.perf_counter() - start

        # full: everything (starting from the frozen regime's head), the encoder at the smaller learning rate
        full = fresh_classifier(base, frozen.head)
        run("full", full, None, epochs, {"encoder": s["encoder_lr_scale"]},
            train.count_parameters(full, trainable_only=True))
        return {"cache_seconds": cache_seconds, "without_cache_seconds": without_cache, "regimes": rows}

    facts = {"train_examples": n_train, "val_examples": n_val, "test_examples": len(split.test),
             "tokens_per_example": int(token_ids.shape[1])}
    return facts, run_round


def raw_size(facts: dict, rounds: list[dict]) -> dict:
    """One size's results from its rounds: the first round's facts, every round's seconds."""
    first = rounds[0]["regimes"]
    regimes = {}
    for regime, row in first.items():
        regimes[regime] = {
            "trainable_parameters": row["trainable_parameters"],
            "epochs": row["epochs"],
            "best_epoch": row["best_epoch"],
            "test_accuracy": row["test_accuracy"],
            "same_accuracy_every_repeat": all(r["regimes"][regime]["test_accuracy"] == row["test_accuracy"]
                                              for r in rounds),
            "seconds_per_epoch_repeats": [round(r["regimes"][regime]["seconds_per_epoch"], 3) for r in rounds],
        }
    regimes["top2"]["seconds_per_epoch_without_cache_repeats"] = [round(r["without_cache_seconds"], 3) for r in rounds]
    return {**facts, "cache_seconds_repeats": [round(r["cache_seconds"], 2) for r in rounds], "regimes": regimes}


def summarise_size(size: dict) -> None:
    """Add the medians the chapter quotes: cache_seconds, seconds_per_epoch (and without the cache for top2)."""
    size["cache_seconds"] = round(harness.Timing(tuple(size["cache_seconds_repeats"])).median, 2)
    for row in size["regimes"].values():
        row["seconds_per_epoch"] = round(harness.Timing(tuple(row["seconds_per_epoch_repeats"])).median, 3)
    top2 = size["regimes"]["top2"]
    top2["seconds_per_epoch_without_cache"] = round(
        harness.Timing(tuple(top2["seconds_per_epoch_without_cache_repeats"])).median, 3
    )


class RecomputeBottom(torch.nn.Module):
    """The top2 regime without a cache: layers below ``start`` run under no_grad at every call.

    Only the embeddings and layers 0..start-1 run under no_grad (what the cache saves), then
    ``forward_from`` runs the trained layers and the head; ``layer_inputs`` would run every layer.
    """

    def __init__(self, classifier: finetune.PretrainedClassifier, start: int):
        super().__init__()
        self.classifier = classifier
        self.start = start

    def forward(self, token_ids: torch.Tensor, padding_mask: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            hidden = self.classifier.encoder.embeddings(input_ids=token_ids)  # (B, T) -> (B, T, D)
            mask = attention.additive_mask(padding_mask, hidden.dtype)
            for layer in self.classifier.layers[: self.start]:
                output = layer(hidden, mask)
                hidden = output[0] if isinstance(output, tuple) else output  # (B, T, D)
        return self.classifier.forward_from(hidden, padding_mask, self.start)  # (B, C)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(SIZES), help="run one size only (results are not written)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import transformers

    dev = device.setup(seed=0, num_threads=1)  # one thread, deterministic; EMBEDLAB_DEVICE picks the device
    before = harness.load_average()
    start = time.perf_counter()
    tokenizer, base = pretrained.load_minilm()
    sizes = [args.only] if args.only else list(SIZES)
    prepared = {name: one_round(name, tokenizer, base, dev) for name in sizes}
    rounds = harness.round_robin({name: run for name, (_, run) in prepared.items()}, REPEATS)
    by_size = {name: raw_size(prepared[name][0], rounds[name]) for name in sizes}
    if args.only:
        return
    load = harness.load_record(before, harness.load_average())
    env = harness.environment(dev, transformers=transformers.__version__)
    result = {
        "benchmark": "fine-tuning all-MiniLM-L6-v2 on positive vs negative tweets: frozen, top 2 layers, full",
        "environment": env,
        "load": load,
        # read by chapter 07 at the top level
        "torch": env["torch"],
        "cpu_count": env["cpu_count"],
        "torch_threads": env["torch_threads"],
        "settings": SETTINGS,
        "repeats": REPEATS,
        "sizes": {name: {"train_per_class": a, "val_per_class": b, "test_per_class": c, "epochs": e}
                  for name, (a, b, c, e) in SIZES.items()},
        "timing": "perf_counter around embedlab.train.fit (forward, backward, optimizer step, and the validation "
        "pass after each epoch), divided by the epochs; cache_seconds: one forward pass over train, val and test; "
        "each the median of the rounds",
        "results": by_size,
        "total_seconds": round(time.perf_counter() - start, 1),
    }
    lines = [
        f"# fine-tuning all-MiniLM-L6-v2 (torch {env['torch']}, {env['device']}, {env['cpu_count']} CPUs, "
        f"{env['torch_threads']} thread)",
    ]
    if harness.refusal(load) is None:
        lines += [
            "",
            "| size | regime | train | test | trainable parameters | epochs | s / epoch (median) | test accuracy |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for name, r in by_size.items():
            summarise_size(r)
            for regime, row in r["regimes"].items():
                lines.append(
                    f"| {name} | {regime} | {r['train_examples']} | {r['test_examples']} | "
                    f"{row['trainable_parameters']:,} | {row['epochs']} | {row['seconds_per_epoch']:.2f} | "
                    f"{row['test_accuracy']:.1%} |"
                )
    harness.write_results(NAME, result, lines)


if __name__ == "__main__":
    main()
