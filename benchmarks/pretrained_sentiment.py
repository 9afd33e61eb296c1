"""Random, frozen, fine-tuned and rescaled starts for a sentiment classifier, over seeds and data sizes.

Run from the repository root:  python -m benchmarks.pretrained_sentiment
Writes benchmarks/results/pretrained_sentiment.json and .md; chapter 04 reads them.

The task and model of chapter 04: the Chinese reviews of ``corpora.reviews()`` by character
(vocabulary of the training characters seen at least twice), a mean-pooling
``pooling.BagClassifier`` with D = 128, trained by ``train.fit_from_start`` with AdamW at
lr 2e-3, no weight decay, no early stopping (the epoch with the best validation accuracy is kept),
and scored once on the test set. The starts are ``pretrained.START_REGIMES``, made by
``pretrained.make_start`` from LAC's matrix aligned with that vocabulary.

Sizes: 1%, 10% and 100% of the training reviews. Seed s draws the subsets (nested, a
``torch.randperm`` of the training set on ``cpu_generator(s)``), the model's random draws, the
batch shuffle and the random matrices, so a seed is one complete replication. The validation set
is the whole validation split at every size (at 1% it is 12 times the training set, the same for
every regime). Each size has its own batch size and number of epochs, chosen so that no regime's
best epoch is its last one in most seeds (the results list every run's best epoch).

Every run uses one thread. Accuracies do not depend on the machine's load; the seconds do.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from benchmarks import harness
from embedlab import corpora, device, pretrained, text, train

NAME = "pretrained_sentiment"
SEEDS = (0, 1, 2, 3, 4)
EMB_DIM = 128  # LAC's dimension
LR = 2e-3
# size -> (share of the training reviews, batch size, epochs)
SIZES = {"1%": (100, 32, 100), "10%": (10, 128, 40), "100%": (1, 128, 15)}
REGIMES = pretrained.START_REGIMES
# differences reported with a paired interval over the test reviews (seed-averaged per review)
PAIRS = (
    ("fine-tuned LAC", "random"),
    ("rescaled LAC", "random"),
    ("fine-tuned LAC", "random, LAC's scale"),
    ("frozen LAC", "frozen random"),
)


def reviews_by_character():
    """Vocabulary, (train, val, test) examples and the aligned LAC matrix of chapter 04."""
    split = corpora.reviews(seed=0)
    vocab = text.Vocab.build([text.tokenize_zh_chars(r.text) for r in split.train], min_freq=2)

    def encode(reviews):
        return [(vocab.encode(text.tokenize_zh_chars(r.text)), r.label) for r in reviews]

    lac = pretrained.load_lac_embeddings()
    matrix, _ = pretrained.build_embedding_matrix(vocab, lac.tokens, lac.vectors, oov="random")
    return vocab, encode(split.train), encode(split.val), encode(split.test), matrix


def subset(train_set, size: str, seed: int):
    """The training subset of one size and seed (nested across sizes for one seed)."""
    order = torch.randperm(len(train_set), generator=device.cpu_generator(seed)).tolist()
    return [train_set[i] for i in order[: len(train_set) // SIZES[size][0]]]


def config_for(size: str, seed: int) -> train.TrainConfig:
    """The training settings of one size and seed."""
    _, batch_size, epochs = SIZES[size]
    return train.TrainConfig(
        epochs=epochs, batch_size=batch_size, lr=LR, patience=0, seed=seed, progress=False
    )


def one_run(data, size: str, regime: str, seed: int, dev) -> dict:
    """One cell of the grid for one seed, as a JSON-ready dict."""
    vocab, train_set, val_set, test_set, matrix = data
    start = pretrained.make_start(regime, matrix, seed=seed)
    begin = time.perf_counter()
    run = train.fit_from_start(
        start, subset(train_set, size, seed), val_set, test_set, config_for(size, seed),
        len(vocab), EMB_DIM, model_seed=seed, device=dev,
    )
    return {
        "size": size, "regime": regime, "seed": seed,
        "n_train": len(train_set) // SIZES[size][0],
        "test_accuracy": run.test_accuracy, "val_accuracy": run.val_accuracy,
        "best_epoch": run.best_epoch, "epochs": run.epochs,
        "relative_move": run.relative_move, "row_std": start.row_std,
        "seconds": round(time.perf_counter() - begin, 2),
        "test_correct": "".join("1" if c else "0" for c in run.test_correct),
    }


def summarise(runs: list[dict]) -> tuple[dict, dict]:
    """Mean, std, min and max of test accuracy per (size, regime), and the paired intervals."""
    summary, intervals = {}, {}
    for size in SIZES:
        summary[size] = {}
        correct = {}
        for regime in REGIMES:
            rows = [r for r in runs if r["size"] == size and r["regime"] == regime]
            acc = np.array([r["test_accuracy"] for r in rows])
            summary[size][regime] = {
                "mean": float(acc.mean()), "std": float(acc.std(ddof=1)),
                "min": float(acc.min()), "max": float(acc.max()),
                "best_epochs": [r["best_epoch"] for r in rows], "epochs": rows[0]["epochs"],
                "relative_move": float(np.mean([r["relative_move"] for r in rows])),
            }
            correct[regime] = np.array([[c == "1" for c in r["test_correct"]] for r in rows])
        intervals[size] = {}
        for a, b in PAIRS:
            diff, low, high = train.paired_bootstrap(correct[a], correct[b])
            intervals[size][f"{a} - {b}"] = {"difference": diff, "low": low, "high": high}
    return summary, intervals


def markdown(result: dict) -> list[str]:
    lines = [
        f"# Starting an embedding for sentiment: {len(SEEDS)} seeds x {len(SIZES)} sizes "
        f"(torch {result['environment']['torch']}, 1 thread)",
        "",
        "Test accuracy, mean +- std over seeds (min-max); best epochs of the seeds / epochs run.",
        "",
        "| size | regime | test accuracy | min-max | best epochs | relative move |",
        "|---|---|---|---|---|---|",
    ]
    for size, by_regime in result["summary"].items():
        for regime, s in by_regime.items():
            lines.append(
                f"| {size} | {regime} | {s['mean']:.1%} +- {s['std']:.1%} | {s['min']:.1%}-{s['max']:.1%} "
                f"| {','.join(map(str, s['best_epochs']))} / {s['epochs']} | {s['relative_move']:.2f} |"
            )
    lines += ["", "Paired 95% bootstrap intervals over the test reviews (seed-averaged per review):", "",
              "| size | difference | points | interval |", "|---|---|---|---|"]
    for size, pairs in result["intervals"].items():
        for name, d in pairs.items():
            lines.append(f"| {size} | {name} | {100 * d['difference']:+.1f} | "
                         f"[{100 * d['low']:+.1f}, {100 * d['high']:+.1f}] |")
    lines += ["", "Accuracies do not depend on the machine's load (the busy rule concerns seconds)."]
    return lines


def main() -> None:
    torch.set_num_threads(1)
    dev = device.setup(seed=0)
    before = harness.load_average()
    data = reviews_by_character()
    runs = []
    for size in SIZES:
        seeds = {regime: iter(SEEDS) for regime in REGIMES}
        calls = {regime: (lambda regime=regime: one_run(data, size, regime, next(seeds[regime]), dev))
                 for regime in REGIMES}
        for regime, values in harness.round_robin(calls, len(SEEDS)).items():
            runs += values
        print(f"{size}: done", flush=True)
    load = harness.load_record(before, harness.load_average())
    summary, intervals = summarise(runs)
    result = {
        "benchmark": NAME,
        "environment": harness.environment(dev),
        "load": load,
        "settings": {"seeds": list(SEEDS), "emb_dim": EMB_DIM, "lr": LR,
                     "sizes": {k: {"one_in": v[0], "batch_size": v[1], "epochs": v[2]} for k, v in SIZES.items()},
                     "val": len(data[2]), "test": len(data[3])},
        "summary": summary,
        "intervals": intervals,
        "runs": runs,
    }
    harness.write_results(NAME, result, markdown(result))


if __name__ == "__main__":
    main()
