"""Chapter 05's pooling classifiers over seeds: the grid, the n-gram model, and the LAC starts.

Run from the repository root:  python -m benchmarks.pooling_seeds
Writes benchmarks/results/pooling_seeds.json and .md; chapter 05 reads them.

Exactly the chapter's procedure (``corpora.reviews()``, vocabularies of tokens seen at least
twice, the n-gram vocabulary at least three times, ``MAX_LEN = 128`` for the padded models),
repeated for several seeds; seed s is the model's seed and the ``TrainConfig``'s (the batch
shuffle). Seed 0 is the chapter's live run, which asserts that it equals this file.

* ``grid``: characters and jieba words x the five poolings, padded ``PoolingClassifier``, D = 32,
  at most 4 epochs, patience 1, lr 4e-3, batches of 128 (3 seeds);
* ``ngrams``: words, word bigrams, characters and character bigrams, ``BagClassifier`` with
  sqrt-n pooling (5 seeds) and mean pooling (3 seeds), D = 16, lr 1e-3, at most 8 epochs,
  patience 2, and the ensemble that averages the five sqrt-n models' logits;
* ``lac``: characters, ``BagClassifier`` with sum and max pooling, D = 128, from a random
  start, from LAC fine-tuned, and from LAC rescaled to the random start's std (3 seeds).

Each run stores its test predictions' correctness, so the chapter can pair it with its baselines.
One thread. Accuracies do not depend on the machine's load; the seconds do.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import torch

from benchmarks import harness
from embedlab import corpora, device, pooling, pretrained, text, train

NAME = "pooling_seeds"
GRID_SEEDS = (0, 1, 2)
NGRAM_SEEDS = (0, 1, 2, 3, 4)
LAC_SEEDS = (0, 1, 2)
MAX_LEN = 128
GRID = train.TrainConfig(epochs=4, batch_size=128, lr=4e-3, patience=1, seed=0, progress=False)
NGRAM = train.TrainConfig(epochs=8, batch_size=128, lr=1e-3, patience=2, seed=0, progress=False)
LAC_POOLINGS = ("sum", "max")  # mean pooling: chapter 04 (benchmarks/pretrained_sentiment.py)
LAC_STARTS = ("random", "fine-tuned LAC", "rescaled LAC")


def ngram_features(words, chars):
    """Words and word bigrams, characters and character bigrams, marked by kind (as chapter 05)."""
    return text.with_ngrams(words, 2, sep=" ", mark="w:") + text.with_ngrams(chars, 2, sep="", mark="c:")


def prepare():
    """Tokens, vocabularies and encoded examples of the three tokenizations, as in chapter 05."""
    split = corpora.reviews()
    parts = {"train": split.train, "val": split.val, "test": split.test}
    tokens = {
        "characters": {n: [text.tokenize_zh_chars(r.text) for r in p] for n, p in parts.items()},
        "words": {n: [text.tokenize_zh_words(r.text) for r in p] for n, p in parts.items()},
    }
    tokens["n-grams"] = {n: [ngram_features(w, c) for w, c in zip(tokens["words"][n], tokens["characters"][n])]
                         for n in parts}
    vocabs, data = {}, {}
    for tok, min_freq in (("characters", 2), ("words", 2), ("n-grams", 3)):
        vocabs[tok] = text.Vocab.build(tokens[tok]["train"], min_freq=min_freq)
        data[tok] = {n: [(vocabs[tok].encode(t), r.label) for t, r in zip(tokens[tok][n], p)]
                     for n, p in parts.items()}
    return vocabs, data


def _record(kind, tok, pool, start, seed, model, history, test_set, collate, begin, dev) -> dict:
    logits = train.predict(model, test_set, collate, dev)  # (N, C)
    labels = torch.tensor([label for _, label in test_set])
    correct = (logits.argmax(dim=1) == labels).tolist()
    return {"kind": kind, "tokens": tok, "pooling": pool, "start": start, "seed": seed,
            "test_accuracy": sum(correct) / len(correct),
            "val_accuracy": history.val_accuracy[history.best_epoch - 1],
            "best_epoch": history.best_epoch, "epochs": len(history.val_accuracy),
            "seconds": round(time.perf_counter() - begin, 2),
            "test_correct": "".join("1" if c else "0" for c in correct),
            "logit_margin": [round(float(m), 5) for m in (logits[:, 1] - logits[:, 0])] if kind == "ngrams" else None}


def grid_run(vocabs, data, tok, pool, seed, dev) -> dict:
    begin = time.perf_counter()
    model = pooling.PoolingClassifier(pooling.ClassifierConfig(len(vocabs[tok]), 32, 2, pooling=pool, seed=seed))
    collate = train.PadCollate(max_len=MAX_LEN)
    history = train.fit(model, data[tok]["train"], data[tok]["val"], collate, replace(GRID, seed=seed), dev)
    return _record("grid", tok, pooling.Pooling(pool).value, "random", seed, model, history, data[tok]["test"], collate, begin, dev)


def ngram_run(vocabs, data, pool, seed, dev) -> dict:
    begin = time.perf_counter()
    model = pooling.BagClassifier(pooling.ClassifierConfig(len(vocabs["n-grams"]), 16, 2, pooling=pool, seed=seed))
    collate = train.BagCollate()
    history = train.fit(model, data["n-grams"]["train"], data["n-grams"]["val"], collate,
                        replace(NGRAM, seed=seed), dev)
    return _record("ngrams", "n-grams", pool, "random", seed, model, history, data["n-grams"]["test"],
                   collate, begin, dev)


def lac_run(vocabs, data, matrix, pool, start_name, seed, dev) -> dict:
    begin = time.perf_counter()
    start = pretrained.make_start(start_name, matrix, seed=seed)
    config = pooling.ClassifierConfig(len(vocabs["characters"]), 128, 2, pooling=pool, seed=seed)
    model = pooling.BagClassifier(config, pretrained=start.weight)
    collate = train.BagCollate(max_len=MAX_LEN)
    history = train.fit(model, data["characters"]["train"], data["characters"]["val"], collate,
                        replace(GRID, seed=seed), dev)
    return _record("lac", "characters", pool, start_name, seed, model, history, data["characters"]["test"],
                   collate, begin, dev)


def summary_of(runs: list[dict]) -> list[dict]:
    groups: dict[tuple, list[dict]] = {}
    for r in runs:
        groups.setdefault((r["kind"], r["tokens"], r["pooling"], r["start"]), []).append(r)
    rows = []
    for (kind, tok, pool, start), rs in groups.items():
        acc = np.array([r["test_accuracy"] for r in rs])
        rows.append({"kind": kind, "tokens": tok, "pooling": pool, "start": start, "seeds": [r["seed"] for r in rs],
                     "mean": float(acc.mean()), "std": float(acc.std(ddof=1)), "min": float(acc.min()),
                     "max": float(acc.max()), "best_epochs": [r["best_epoch"] for r in rs],
                     "val_mean": float(np.mean([r["val_accuracy"] for r in rs]))})
    return rows


def main() -> None:
    torch.set_num_threads(1)
    dev = device.setup(seed=0)
    before = harness.load_average()
    vocabs, data = prepare()
    lac = pretrained.load_lac_embeddings()
    matrix, _ = pretrained.build_embedding_matrix(vocabs["characters"], lac.tokens, lac.vectors, oov="random")
    runs = []
    seeds = {}
    calls = {}
    seeds["sqrtn"] = iter(NGRAM_SEEDS)
    calls["n-grams sqrtn"] = lambda: ngram_run(vocabs, data, "sqrtn", next(seeds["sqrtn"]), dev)
    for values in harness.round_robin(calls, len(NGRAM_SEEDS)).values():
        runs += values
    seeds["mean"] = iter(GRID_SEEDS)  # the slower mean pooling: 3 seeds
    calls = {"n-grams mean": lambda: ngram_run(vocabs, data, "mean", next(seeds["mean"]), dev)}
    for values in harness.round_robin(calls, len(GRID_SEEDS)).values():
        runs += values
    print("n-grams: done", flush=True)
    calls, seeds = {}, {}
    for tok in ("characters", "words"):
        for pool in pooling.Pooling:
            key = f"{tok} {pool.value}"
            seeds[key] = iter(GRID_SEEDS)
            calls[key] = lambda tok=tok, pool=pool, key=key: grid_run(vocabs, data, tok, pool, next(seeds[key]), dev)
    for values in harness.round_robin(calls, len(GRID_SEEDS)).values():
        runs += values
    print("grid: done", flush=True)
    calls, seeds = {}, {}
    for pool in LAC_POOLINGS:
        for start in LAC_STARTS:
            key = f"{pool} {start}"
            seeds[key] = iter(LAC_SEEDS)
            calls[key] = (lambda pool=pool, start=start, key=key:
                          lac_run(vocabs, data, matrix, pool, start, next(seeds[key]), dev))
    for values in harness.round_robin(calls, len(LAC_SEEDS)).values():
        runs += values
    print("lac: done", flush=True)
    # the ensemble: mean of the five sqrt-n n-gram models' logit margins
    margins = np.array([r["logit_margin"] for r in runs if r["kind"] == "ngrams" and r["pooling"] == "sqrtn"])
    labels = np.array([label for _, label in data["n-grams"]["test"]])
    ensemble_correct = ((margins.mean(axis=0) > 0).astype(int) == labels)
    load = harness.load_record(before, harness.load_average())
    result = {
        "benchmark": NAME,
        "environment": harness.environment(dev),
        "load": load,
        "settings": {"grid_seeds": list(GRID_SEEDS), "ngram_seeds": list(NGRAM_SEEDS), "lac_seeds": list(LAC_SEEDS),
                     "max_len": MAX_LEN, "test": len(labels)},
        "summary": summary_of(runs),
        "ensemble": {"test_accuracy": float(ensemble_correct.mean()),
                     "test_correct": "".join("1" if c else "0" for c in ensemble_correct)},
        "runs": runs,
    }
    lines = [f"# Chapter 05's pooling classifiers over seeds (torch {result['environment']['torch']}, 1 thread)", "",
             "| kind | tokens | pooling | start | seeds | test accuracy | min-max | best epochs |",
             "|---|---|---|---|---|---|---|---|"]
    for s in result["summary"]:
        lines.append(f"| {s['kind']} | {s['tokens']} | {s['pooling']} | {s['start']} | {len(s['seeds'])} | "
                     f"{s['mean']:.1%} +- {s['std']:.1%} | {s['min']:.1%}-{s['max']:.1%} | "
                     f"{','.join(map(str, s['best_epochs']))} |")
    lines += ["", f"Ensemble of the {len(NGRAM_SEEDS)} n-gram sqrt-n models (mean logit margin): "
              f"{result['ensemble']['test_accuracy']:.1%}", "",
              "Accuracies do not depend on the machine's load (the busy rule concerns seconds)."]
    harness.write_results(NAME, result, lines)


if __name__ == "__main__":
    main()
