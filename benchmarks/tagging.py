"""Word segmentation as B/M/E/S tagging: random, frozen and fine-tuned LAC starts, over seeds and sizes.

Run from the repository root:  python -m benchmarks.tagging
Writes benchmarks/results/tagging.json and .md; chapter 04 reads them.

The task LAC's character embeddings were trained for (lexical analysis: segmentation and part of
speech), in its simplest form: tag every character of People's Daily B/M/E/S with
``tagging.WindowTagger`` (embedding D = 128 -> a convolution over W = 3 characters with 64
channels -> ReLU -> 4 tags), trained by ``tagging.fit_tagger`` (AdamW, lr 2e-3, the epoch with
the best validation tag accuracy kept). Data: ``tagging.segmentation_split()``, 500 training
lines, 100 validation lines, 300 test lines, cut into pieces at punctuation; the character
vocabulary is every character of the 500 training lines, aligned with LAC.

Sizes: 1%, 10% and 100% of the training pieces. Seed s draws the subset (nested, a
``torch.randperm`` of the pieces on ``cpu_generator(s)``), the model, the batch shuffle and the
random matrices. Baselines without a network, from the same subset: forward maximum matching
with the subset's words as the dictionary, and each character's most frequent tag in the subset
(``S`` for a character the subset lacks). Sizes and epochs are chosen so that the whole grid fits
in about ten minutes of one CPU thread on a quiet machine.

Accuracies do not depend on the machine's load; the seconds do.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from benchmarks import harness
from embedlab import device, pretrained, tagging, text, train

NAME = "tagging"
SEEDS = (0, 1, 2)
REGIMES = ("random", "frozen random", "frozen LAC", "fine-tuned LAC", "rescaled LAC")
TAGGER = {"emb_dim": 128, "hidden": 64, "window": 3}
LR = 2e-3
# size -> (share of the training pieces, batch size, epochs)
SIZES = {"1%": (100, 8, 60), "10%": (10, 32, 30), "100%": (1, 64, 8)}


def data():
    """The split, the character vocabulary, the encoded parts and the aligned LAC matrix."""
    split = tagging.segmentation_split()
    vocab = text.Vocab.build([[ch for word in s for ch in word] for s in split.train])
    lac = pretrained.load_lac_embeddings()
    matrix, _ = pretrained.build_embedding_matrix(vocab, lac.tokens, lac.vectors, oov="random")
    encoded = {name: tagging.encode_sentences(getattr(split, name), vocab) for name in ("train", "val", "test")}
    return split, vocab, encoded, matrix


def subset_indices(n_pieces: int, size: str, seed: int) -> list[int]:
    """Which training pieces one size and seed uses (nested across sizes for one seed)."""
    order = torch.randperm(n_pieces, generator=device.cpu_generator(seed)).tolist()
    return order[: max(1, n_pieces // SIZES[size][0])]


def config_for(size: str, seed: int) -> train.TrainConfig:
    """The training settings of one size and seed."""
    _, batch_size, epochs = SIZES[size]
    return train.TrainConfig(epochs=epochs, batch_size=batch_size, lr=LR, patience=0, seed=seed,
                             eval_batch_size=256, progress=False)


def one_run(bundle, size: str, regime: str, seed: int, dev) -> dict:
    """One tagger run, as a JSON-ready dict."""
    split, vocab, encoded, matrix = bundle
    start = pretrained.make_start(regime, matrix, seed=seed)
    chosen = subset_indices(len(encoded["train"]), size, seed)
    config = tagging.TaggerConfig(len(vocab), **TAGGER, freeze=start.freeze, seed=seed)
    model = tagging.WindowTagger(config, pretrained=start.weight)
    begin = time.perf_counter()
    history = tagging.fit_tagger(model, [encoded["train"][i] for i in chosen], encoded["val"],
                                 config_for(size, seed), dev, lr_scale=start.lr_scale)
    seconds = time.perf_counter() - begin
    scores = tagging.score_segmentation(split.test, tagging.segment_with(model, split.test, vocab, dev))
    return {"size": size, "regime": regime, "seed": seed, "pieces": len(chosen),
            "chars": sum(len(encoded["train"][i][0]) for i in chosen),
            "tag_accuracy": scores.tag_accuracy, "word_f1": scores.f1,
            "best_epoch": history.best_epoch, "epochs": len(history.val_tag_accuracy),
            "seconds": round(seconds, 2)}


def baselines(bundle, size: str, seed: int) -> list[dict]:
    """Maximum matching and the majority tag, from the same subset."""
    split, _, encoded, _ = bundle
    pieces = [split.train[i] for i in subset_indices(len(encoded["train"]), size, seed)]
    dictionary = {word for piece in pieces for word in piece}
    majority = tagging.majority_tags(pieces)
    rows = []
    for name, segment in (
        ("maximum matching", lambda chars: tagging.max_match(chars, dictionary)),
        ("majority tag", lambda chars: tagging.words_from_tags(list(chars), [majority.get(c, "S") for c in chars])),
    ):
        scores = tagging.score_segmentation(split.test, [segment("".join(s)) for s in split.test])
        rows.append({"size": size, "regime": name, "seed": seed, "tag_accuracy": scores.tag_accuracy,
                     "word_f1": scores.f1})
    return rows


def summarise(runs: list[dict]) -> dict:
    summary = {}
    for size in SIZES:
        summary[size] = {}
        for regime in (*REGIMES, "maximum matching", "majority tag"):
            rows = [r for r in runs if r["size"] == size and r["regime"] == regime]
            entry = {}
            for metric in ("tag_accuracy", "word_f1"):
                values = np.array([r[metric] for r in rows])
                entry[metric] = {"mean": float(values.mean()), "std": float(values.std(ddof=1)),
                                 "min": float(values.min()), "max": float(values.max())}
            if "best_epoch" in rows[0]:
                entry["best_epochs"] = [r["best_epoch"] for r in rows]
                entry["epochs"] = rows[0]["epochs"]
            entry["chars"] = int(np.mean([r.get("chars", 0) for r in runs if r["size"] == size and "chars" in r]))
            summary[size][regime] = entry
    return summary


def markdown(result: dict) -> list[str]:
    lines = [
        f"# Word segmentation by character tagging: {len(SEEDS)} seeds x {len(SIZES)} sizes "
        f"(torch {result['environment']['torch']}, 1 thread)",
        "",
        "Mean +- std over seeds; best epochs of the seeds / epochs run.",
        "",
        "| size | training characters | start | tag accuracy | word F1 | best epochs |",
        "|---|---|---|---|---|---|",
    ]
    for size, by_regime in result["summary"].items():
        for regime, s in by_regime.items():
            best = f"{','.join(map(str, s['best_epochs']))} / {s['epochs']}" if "best_epochs" in s else ""
            lines.append(
                f"| {size} | {s['chars']:,} | {regime} | {s['tag_accuracy']['mean']:.1%} +- "
                f"{s['tag_accuracy']['std']:.1%} | {s['word_f1']['mean']:.1%} +- {s['word_f1']['std']:.1%} | {best} |"
            )
    lines += ["", "Accuracies do not depend on the machine's load (the busy rule concerns seconds)."]
    return lines


def main() -> None:
    torch.set_num_threads(1)
    dev = device.setup(seed=0)
    before = harness.load_average()
    bundle = data()
    runs = []
    for size in SIZES:
        seeds = {regime: iter(SEEDS) for regime in REGIMES}
        calls = {regime: (lambda regime=regime: one_run(bundle, size, regime, next(seeds[regime]), dev))
                 for regime in REGIMES}
        for values in harness.round_robin(calls, len(SEEDS)).values():
            runs += values
        for seed in SEEDS:
            runs += baselines(bundle, size, seed)
        print(f"{size}: done", flush=True)
    load = harness.load_record(before, harness.load_average())
    split, vocab, encoded, matrix = bundle
    result = {
        "benchmark": NAME,
        "environment": harness.environment(dev),
        "load": load,
        "settings": {"seeds": list(SEEDS), "tagger": TAGGER, "lr": LR,
                     "sizes": {k: {"one_in": v[0], "batch_size": v[1], "epochs": v[2]} for k, v in SIZES.items()},
                     "train_pieces": len(split.train), "val_pieces": len(split.val), "test_pieces": len(split.test),
                     "test_chars": sum(len(ids) for ids, _ in encoded["test"]), "vocab": len(vocab),
                     "lac_row_std": pretrained.used_row_std(matrix)},
        "summary": summarise(runs),
        "runs": runs,
    }
    harness.write_results(NAME, result, markdown(result))


if __name__ == "__main__":
    main()
