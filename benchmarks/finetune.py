"""Fine-tuning all-MiniLM-L6-v2 on positive vs negative tweets: five regimes x two data sizes x seeds.

Regimes (embedlab.finetune.build_regime): frozen (a linear probe on the pooled last layer), top_k
(the top 2 layers), full, bitfit (every bias), lora (peft, rank 8 on the query and value
projections of every layer). Each seed draws its own head, shuffles the training set its own way
(and draws LoRA's A); the data split is the same for every seed. The frozen regime of a seed trains
first, and the other four start from its head (linear probing, then fine-tuning).

Sizes: 256 and 1,000 training tweets (5 and 3 seeds), the same 128 validation and 500 test tweets;
2,000 training tweets for the frozen regime and the baseline only (cheap: one cached pass).
Also: top_k and full at 256 tweets with a constant learning rate (3 seeds) against the linear
warmup-and-decay schedule of the main grid. Baseline: TF-IDF + logistic regression, features and C
chosen on the validation tweets. Per run the file keeps every test item's correctness, so paired
intervals over test items can be computed from it (the chapter does).

Sized to fit: two threads, max_len 32, at most 3 epochs (2 at 1,000 tweets) with early stopping
on validation, cached frozen layers for frozen and top_k. On a quiet 2-core machine the whole grid
is about 15-20 minutes; on a busy one it is several times that, so the runs go in a priority order
(see main), the file is rewritten after each run (``"complete": false`` until the end) and
``--resume`` adds the missing runs to an existing file.

Run from the repository root: python -m benchmarks.finetune [--resume]. Writes
benchmarks/results/finetune.json and finetune.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from dataclasses import asdict, replace

import torch

from benchmarks import harness
from embedlab import corpora, device, finetune, pretrained

NAME = "finetune"
MAX_LEN = 32  # WordPiece tokens per tweet, [CLS] and [SEP] included
MIN_CONFIDENCE = 0.8  # annotator agreement threshold of the split
VAL_PER_CLASS = 64
TEST_PER_CLASS = 250
SIZES = {  # training tweets -> (per class, seeds, epochs of the four trained-encoder regimes)
    "256": (128, 5, 3),
    "1000": (500, 3, 2),
}
FROZEN_ONLY = {"2000": (1000, 3)}  # the frozen regime and the baseline only: (per class, seeds)
SCHEDULE_SEEDS = 3  # the constant-rate control of the full regime at 256 tweets
ENCODER_LR_SCALE = {"frozen": 1.0, "top_k": 0.1, "full": 0.1, "bitfit": 1.0, "lora": 1.0}
FROZEN_EPOCHS = 30  # the head alone, from the cache: an epoch costs milliseconds
DRIFT_RUN = ("256", 0)
THREADS = 2  # two threads: the machine is shared, and the CPU time is what is budgeted  # the full run whose embedding rows are compared with token frequency


def settings_for(regime: str, epochs: int) -> finetune.RegimeSettings:
    """Head at 1e-3; full and top_k train the encoder at 1e-4, bitfit and lora at 1e-3."""
    if regime == "frozen":
        return finetune.RegimeSettings(epochs=FROZEN_EPOCHS, patience=0)
    return finetune.RegimeSettings(epochs=epochs, patience=1, encoder_lr_scale=ENCODER_LR_SCALE[regime])


def prepare(tokenizer, base, train_per_class: int, dev: torch.device):
    """The encoded split of one size and its cache (inputs of layers 4 and 6), with the cache's seconds."""
    split = corpora.tweet_sentiment_split(train_per_class, VAL_PER_CLASS, TEST_PER_CLASS, MIN_CONFIDENCE)
    data = finetune.encode_split(tokenizer, split, MAX_LEN)
    probe, _ = finetune.build_regime(base, "frozen")
    start = time.perf_counter()
    layers = len(base.encoder.layer)
    cache = finetune.cache_layer_inputs(probe.to(dev), data.token_ids.to(dev), data.padding_mask.to(dev),
                                        [layers - 2, layers])
    return split, data, cache, time.perf_counter() - start


def record(result: finetune.RegimeResult, settings: finetune.RegimeSettings) -> dict:
    history = result.run.history
    return {
        "trainable_parameters": result.trainable_parameters,
        "test_accuracy": round(result.test_accuracy, 6),
        "seconds": round(result.run.seconds, 2),
        "epochs_run": len(history.val_accuracy),
        "best_epoch": history.best_epoch,
        "steps_per_epoch": result.run.steps_per_epoch,
        "val_accuracy": [round(a, 6) for a in history.val_accuracy],
        "train_loss": [round(x, 5) for x in history.train_loss],
        "step_losses": [round(x, 5) for x in result.run.step_losses],
        "test_correct": "".join(str(c) for c in result.test_correct),
        "settings": asdict(settings),
    }


def drift_record(base, result: finetune.RegimeResult, data: finetune.EncodedSplit) -> dict:
    """Embedding rows after full fine-tuning: drift against how often the training tweets use them."""
    before = base.embeddings.word_embeddings.weight
    after = result.classifier.encoder.embeddings.word_embeddings.weight
    drift = finetune.row_drift(before, after)  # (V,)
    rows = data.parts["train"]
    counts = finetune.token_counts(data.token_ids[rows], data.padding_mask[rows], before.shape[0])  # (V,)
    seen = torch.nonzero(counts).squeeze(1)
    return {
        "vocab_size": before.shape[0],
        "rows_seen": len(seen),
        "max_drift_unseen": drift[counts == 0].max().item(),
        "seen_rows": [[int(i), int(counts[i]), round(drift[i].item(), 7), round(before[i].norm().item(), 5)]
                      for i in seen],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one seed of the 256 size only (results not written)")
    parser.add_argument("--resume", action="store_true",
                        help="keep the runs already in the results file and add the missing ones")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import peft
    import sklearn
    import transformers

    dev = device.setup(seed=0, num_threads=THREADS)
    before_load = harness.load_average()
    start_all = time.perf_counter()
    tokenizer, base = pretrained.load_minilm()
    env = harness.environment(dev, transformers=transformers.__version__, peft=peft.__version__,
                              sklearn=sklearn.__version__)
    result = {
        "benchmark": "fine-tuning all-MiniLM-L6-v2 on positive vs negative tweets: five regimes x sizes x seeds",
        "environment": env,
        "torch": env["torch"],
        "cpu_count": env["cpu_count"],
        "torch_threads": env["torch_threads"],
        "settings": {
            "max_len": MAX_LEN, "min_confidence": MIN_CONFIDENCE, "val_per_class": VAL_PER_CLASS,
            "test_per_class": TEST_PER_CLASS, "sizes": SIZES, "frozen_only": FROZEN_ONLY,
            "schedule_seeds": SCHEDULE_SEEDS, "frozen_epochs": FROZEN_EPOCHS,
            "encoder_lr_scale": ENCODER_LR_SCALE,
        },
        "timing": "seconds: perf_counter around finetune.fit_scheduled (forward, backward, optimizer step and "
        "the validation pass of every epoch), with torch_threads threads; cache_seconds: one forward pass over train, val and "
        "test, paid once per size and shared by frozen and top_k",
        "sizes": {},
        "schedule_constant": {},
        "complete": False,
    }

    def save() -> None:
        if args.quick:
            return
        load = harness.load_record(before_load, harness.load_average())
        result["load"] = load
        result["total_seconds"] = round(time.perf_counter() - start_all, 1)
        harness.write_results(NAME, dict(result), markdown(result))

    prepared: dict[str, tuple] = {}

    def size_entry(size: str):
        """The split, encoding and cache of a size, made once (only the size in use is kept)."""
        if size not in prepared:
            prepared.clear()
            per_class = SIZES[size][0] if size in SIZES else FROZEN_ONLY[size][0]
            split, data, cache, cache_seconds = prepare(tokenizer, base, per_class, dev)
            prepared[size] = (data, cache)
            entry = result["sizes"].setdefault(size, {
                "train_examples": len(split.train), "val_examples": len(split.val),
                "test_examples": len(split.test), "tokens_per_example": int(data.token_ids.shape[1]),
                "cache_seconds": round(cache_seconds, 2), "tfidf": baseline_of(split), "runs": {}})
            print(f"[{size}] tf-idf: {entry['tfidf']['features']}, C={entry['tfidf']['C']}, test "
                  f"{accuracy_of(entry['tfidf']['test_correct']):.1%}; cache {cache_seconds:.1f} s", flush=True)
        return result["sizes"][size], prepared[size][0], prepared[size][1]

    heads: dict[tuple[str, int], torch.nn.Linear] = {}
    if args.resume:
        import json

        previous = json.loads((harness.RESULTS / f"{NAME}.json").read_text(encoding="utf-8"))
        result["sizes"], result["schedule_constant"] = previous["sizes"], previous["schedule_constant"]
        result["resumed_after_seconds"] = previous.get("total_seconds")

    def unit(size: str, seed: int, regimes: tuple[str, ...], schedule: str = "linear") -> None:
        """Train ``regimes`` for one size and seed (the frozen head first, if not made yet), then save."""
        done = result["sizes"].get(size, {}).get("runs", {}).get(str(seed), {})
        regimes = tuple(r for r in regimes if r not in done) if schedule == "linear" else regimes
        if schedule == "constant":
            done = {r: 1 for r in result["schedule_constant"].get(regimes[0], {}) if r == str(seed)}
            done = {regimes[0]: 1, "frozen": 1} if done else {}
        if "frozen" in done and all(r in done for r in regimes):
            return  # already in the file (--resume)
        entry, data, cache = size_entry(size)
        epochs = SIZES[size][2] if size in SIZES else 1
        runs = entry["runs"].setdefault(str(seed), {})
        if (size, seed) not in heads:  # on --resume the frozen run is redone: the same numbers, and its head
            frozen = finetune.train_regime(base, "frozen", data, settings_for("frozen", 1), seed, cache, device=dev)
            runs["frozen"] = record(frozen, settings_for("frozen", 1))
            heads[size, seed] = frozen.classifier.head
            print(f"[{size} seed {seed}] frozen: {frozen.test_accuracy:.1%}", flush=True)
        for regime in regimes:
            settings = replace(settings_for(regime, epochs), schedule=schedule)
            out = finetune.train_regime(base, regime, data, settings, seed, cache, heads[size, seed], device=dev)
            if schedule == "constant":
                result["schedule_constant"].setdefault(regime, {})[str(seed)] = record(out, settings)
            else:
                runs[regime] = record(out, settings)
            if regime == "full" and schedule == "linear":
                runs[regime]["layer_change"] = {
                    k: round(v, 6) for k, v in finetune.layer_weight_change(base, out.classifier.encoder).items()}
                if (size, seed) == DRIFT_RUN:
                    entry["drift"] = drift_record(base, out, data)
            print(f"[{size} seed {seed}] {regime:6} ({schedule}): {out.test_accuracy:.1%}, "
                  f"{out.trainable_parameters:,} trainable, {out.run.seconds:.1f} s, "
                  f"epochs {len(out.run.history.val_accuracy)}", flush=True)
            del out
            save()  # after every run: a busy machine may cut the benchmark short
        save()

    if args.quick:
        unit("256", 0, ("top_k", "full", "bitfit", "lora"))
        return
    # Priority order, so that a run cut short still answers the main questions: the cheap regimes
    # (frozen, top_k) over 3 seeds, one seed of the costly regimes (full, bitfit, lora), the
    # schedule control, the probe at the larger sizes; then the other seeds and the costly regimes
    # at 1,000 tweets.
    every = ("top_k", "full", "bitfit", "lora")
    costly = ("full", "bitfit", "lora")
    for seed in range(3):
        unit("256", seed, ("top_k",))
    unit("256", 0, costly)
    for seed in range(SCHEDULE_SEEDS):
        unit("256", seed, ("top_k",), schedule="constant")
    for size, seeds in [("1000", SIZES["1000"][1]), *((s, n) for s, (_, n) in FROZEN_ONLY.items())]:
        for seed in range(seeds):
            unit(size, seed, ())
    for seed in (1, 2):
        unit("256", seed, costly)
    for seed in range(SIZES["1000"][1]):
        unit("1000", seed, ("top_k",))
    for seed in range(3, SIZES["256"][1]):
        unit("256", seed, every)
    for seed in range(SIZES["1000"][1]):
        unit("1000", seed, costly)
    for seed in range(SCHEDULE_SEEDS):
        unit("256", seed, ("full",), schedule="constant")
    result["complete"] = True
    save()


def baseline_of(split) -> dict:
    """TF-IDF + logistic regression on one split, tuned on its validation part; test correctness as 0/1 text."""
    baseline = finetune.tfidf_baseline(
        [x.text for x in split.train], [x.label for x in split.train],
        [x.text for x in split.val], [x.label for x in split.val], [x.text for x in split.test])
    predictions = baseline.pop("test_predictions")
    baseline["test_correct"] = "".join(str(int(p == x.label)) for p, x in zip(predictions, split.test))
    return baseline


def accuracy_of(correct: str) -> float:
    return correct.count("1") / len(correct)


def markdown(result: dict) -> list[str]:
    """The summary table: regime x size, seeds, mean and spread, and the gap to TF-IDF with a paired interval."""
    env = result["environment"]
    lines = [
        f"# fine-tuning all-MiniLM-L6-v2 (torch {env['torch']}, peft {env['peft']}, {env['device']}, "
        f"{env['cpu_count']} CPUs, {env['torch_threads']} thread)",
        "",
        f"Complete: {result['complete']}. Accuracies do not depend on the machine's load; seconds do (load "
        f"average before {result['load']['before']['1min']}, after {result['load']['after']['1min']}).",
        "",
        "| train | regime | seeds | trainable | test accuracy mean (sd) [min, max] | s (median) "
        "| minus TF-IDF, 95% paired bootstrap |",
        "|---|---|---|---|---|---|---|",
    ]
    for size, entry in result["sizes"].items():
        tfidf = entry["tfidf"]["test_correct"]
        lines.append(f"| {size} | TF-IDF + LR ({entry['tfidf']['features']}, C={entry['tfidf']['C']}) | - | - | "
                     f"{accuracy_of(tfidf):.1%} | - | - |")
        regimes = [r for r in finetune.REGIMES if any(r in runs for runs in entry["runs"].values())]
        for regime in regimes:
            rows = [runs[regime] for runs in entry["runs"].values() if regime in runs]
            accs = [r["test_accuracy"] for r in rows]
            spread = statistics.stdev(accs) if len(accs) > 1 else 0.0
            per_item = [sum(int(r["test_correct"][i]) for r in rows) / len(rows) for i in range(len(tfidf))]
            diff, low, high = finetune.paired_bootstrap(per_item, [int(c) for c in tfidf])
            lines.append(
                f"| {size} | {regime} | {len(rows)} | {rows[0]['trainable_parameters']:,} | "
                f"{statistics.mean(accs):.1%} ({spread:.1%}) [{min(accs):.1%}, {max(accs):.1%}] | "
                f"{statistics.median(r['seconds'] for r in rows):.1f} | "
                f"{diff:+.1%} [{low:+.1%}, {high:+.1%}] |")
    for regime, by_seed in result["schedule_constant"].items():
        accs = [r["test_accuracy"] for r in by_seed.values()]
        linear = [result["sizes"]["256"]["runs"][s][regime]["test_accuracy"] for s in by_seed]
        lines += ["", f"{regime}, 256 tweets, seeds {', '.join(by_seed)}: constant rate "
                  f"{statistics.mean(accs):.1%} ({[round(a, 4) for a in accs]}), linear warmup + decay "
                  f"{statistics.mean(linear):.1%} ({[round(a, 4) for a in linear]})."]
    return lines


if __name__ == "__main__":
    main()
