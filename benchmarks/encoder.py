"""The small encoder classifier of chapter 07 against a pooling classifier and TF-IDF + logistic regression.

Chinese reviews (``corpora.reviews()``, its fixed split), characters cut to the first 48, the
vocabulary built from the training reviews, embeddings initialised from Baidu LAC's pretrained
character vectors. Models, all trained on the same reviews and tested on the same test split:

* ``encoder_pre_norm``: ``embedlab.encoder.EncoderClassifier``, one pre-norm block (the chapter's);
* ``encoder_post_norm``: the same with post-norm, to measure the choice;
* ``pooling_mean``, ``pooling_max``, ``pooling_attention``: chapter 05's
  ``embedlab.pooling.PoolingClassifier`` on the same embeddings, each pooling;
* ``tfidf_logreg``: scikit-learn's TF-IDF of character 1-2 grams of the same 48 characters,
  then logistic regression (default C = 1).

Every neural model is trained with ``embedlab.train.fit`` (AdamW without weight decay, the
validation split checked after each epoch, the best epoch's weights kept). Two sizes: ``chapter``
is exactly what the notebook trains live (the first 4,000 training reviews), ``full`` uses all
13,891. For each model: test accuracy, parameters, training seconds (validation passes included):
every model is trained ``REPEATS`` times, round-robin over the models (``benchmarks.harness``), and
the median time is reported (the minimum is kept too); training is deterministic, so every repeat
gives the same accuracy (recorded). One CPU thread (``device.setup``); the device comes from
``EMBEDLAB_DEVICE`` (``make bench`` defaults it to cpu, the device of the committed results).

Run from the repository root: python -m benchmarks.encoder (or make bench BENCH=encoder)
Writes benchmarks/results/encoder.json and benchmarks/results/encoder.md.
"""

from __future__ import annotations

import time

import sklearn
import torch
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from benchmarks import harness
from embedlab import corpora, device, encoder, pooling, pretrained, text, train

NAME = "encoder"
REPEATS = 3  # trainings per model, round-robin over the models
SIZES = {"chapter": 4000, "full": None}  # training reviews used (None: all)
SETTINGS = {
    "max_len": 48,  # characters kept from the start of each review (white space dropped)
    "min_freq": 1,  # vocabulary: every character seen in the training reviews
    "emb_dim": 128,  # fixed by the LAC vectors
    "num_heads": 4,
    "ffn_dim": 256,
    "num_layers": 1,
    "batch_size": 64,
    "encoder_lr": 1e-3,
    "encoder_epochs": 3,
    "pooling_lr": 3e-3,
    "pooling_epochs": 6,
}


def run_size(name: str, limit: int | None, lac, dev: torch.device) -> dict:
    """Raw results of one size: every model trained REPEATS times, round-robin."""
    s = SETTINGS
    split = corpora.reviews()
    train_reviews = split.train[:limit] if limit else split.train
    tokens = {part: [text.tokenize_zh_chars(r.text)[: s["max_len"]] for r in reviews]
              for part, reviews in (("train", train_reviews), ("val", split.val), ("test", split.test))}
    labels = {"train": [r.label for r in train_reviews], "val": [r.label for r in split.val],
              "test": [r.label for r in split.test]}
    vocab = text.Vocab.build(tokens["train"], min_freq=s["min_freq"])
    matrix, _ = pretrained.build_embedding_matrix(vocab, lac.tokens, lac.vectors)
    examples = {part: [(vocab.encode(t), y) for t, y in zip(tokens[part], labels[part])] for part in tokens}
    collate = train.PadCollate(max_len=s["max_len"])

    def encoder_model(norm_first: bool) -> encoder.EncoderClassifier:
        config = encoder.EncoderConfig(
            vocab_size=len(vocab), emb_dim=s["emb_dim"], num_heads=s["num_heads"], ffn_dim=s["ffn_dim"],
            num_layers=s["num_layers"], max_len=s["max_len"], norm_first=norm_first,
        )
        device.seed_everything(0)
        model = encoder.EncoderClassifier(config)
        with torch.no_grad():
            model.embedding.weight.copy_(matrix)
        return model

    def pooling_model(pooling_name: str) -> pooling.PoolingClassifier:
        config = pooling.ClassifierConfig(
            vocab_size=len(vocab), emb_dim=s["emb_dim"], num_classes=2, pooling=pooling_name,
            padding_idx=text.PAD_ID, init_std=0.1, seed=0,
        )
        return pooling.PoolingClassifier(config, pretrained=matrix)

    def trained(build, epochs: int, lr: float):
        def run() -> dict:
            model = build()
            config = train.TrainConfig(epochs=epochs, batch_size=s["batch_size"], lr=lr, patience=0, seed=0,
                                       progress=False)
            start = time.perf_counter()
            history = train.fit(model, examples["train"], examples["val"], collate, config, device=dev)
            seconds = time.perf_counter() - start
            return {
                "parameters": train.count_parameters(model),
                "epochs": epochs,
                "best_epoch": history.best_epoch,
                "seconds": seconds,
                "test_accuracy": train.evaluate(model, examples["test"], collate, device=dev).accuracy,
            }
        return run

    def tfidf_logreg() -> dict:
        start = time.perf_counter()
        train_text = ["".join(t) for t in tokens["train"]]  # the same characters, for TF-IDF
        vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 2))
        features = vectorizer.fit_transform(train_text)
        logreg = LogisticRegression(max_iter=1000).fit(features, labels["train"])
        seconds = time.perf_counter() - start
        predictions = logreg.predict(vectorizer.transform(["".join(t) for t in tokens["test"]]))
        return {
            "parameters": int(logreg.coef_.size + logreg.intercept_.size),
            "epochs": None,
            "best_epoch": None,
            "seconds": seconds,
            "test_accuracy": float((predictions == torch.tensor(labels["test"]).numpy()).mean()),
        }

    runners = {
        "encoder_pre_norm": trained(lambda: encoder_model(True), s["encoder_epochs"], s["encoder_lr"]),
        "encoder_post_norm": trained(lambda: encoder_model(False), s["encoder_epochs"], s["encoder_lr"]),
        **{f"pooling_{p}": trained(lambda p=p: pooling_model(p), s["pooling_epochs"], s["pooling_lr"])
           for p in ("mean", "max", "attention")},
        "tfidf_logreg": tfidf_logreg,
    }
    rows = {model_name: raw_row(runs) for model_name, runs in harness.round_robin(runners, REPEATS).items()}
    for model_name, row in rows.items():
        print(f"[{name}] {model_name:18}: accuracy {row['test_accuracy']:.1%}, {row['parameters']:,} parameters, "
              f"{min(row['train_seconds_repeats']):.1f} s (fastest of {REPEATS})", flush=True)
    return {"train_reviews": len(train_reviews), "val_reviews": len(split.val), "test_reviews": len(split.test),
            "vocab_size": len(vocab), "models": rows}


def raw_row(runs: list[dict]) -> dict:
    """One model's row from its repeated runs: the first run's facts, every run's seconds."""
    first = runs[0]
    return {
        "parameters": first["parameters"],
        "epochs": first["epochs"],
        "best_epoch": first["best_epoch"],
        "test_accuracy": round(first["test_accuracy"], 4),
        "same_accuracy_every_repeat": all(r["test_accuracy"] == first["test_accuracy"] for r in runs),
        "train_seconds_repeats": [round(r["seconds"], 2) for r in runs],
    }


def summarise_row(row: dict) -> None:
    """Add the median (``train_seconds``, the figure the chapter quotes) and the minimum of the repeats."""
    timing = harness.Timing(tuple(row["train_seconds_repeats"]))
    row["train_seconds"] = round(timing.median, 2)
    row["train_seconds_min"] = timing.min


def main() -> None:
    dev = device.setup(seed=0, num_threads=1)  # one thread, deterministic; EMBEDLAB_DEVICE picks the device
    before = harness.load_average()
    start = time.perf_counter()
    lac = pretrained.load_lac_embeddings()
    by_size = {name: run_size(name, limit, lac, dev) for name, limit in SIZES.items()}
    load = harness.load_record(before, harness.load_average())
    env = harness.environment(dev, sklearn=sklearn.__version__)
    result = {
        "benchmark": "chapter 07's encoder classifier vs a pooling classifier vs TF-IDF + logistic regression, "
        "Chinese reviews",
        "environment": env,
        "load": load,
        # read by chapter 07 at the top level
        "torch": env["torch"],
        "cpu_count": env["cpu_count"],
        "torch_threads": env["torch_threads"],
        "settings": SETTINGS,
        "repeats": REPEATS,
        "timing": "perf_counter around embedlab.train.fit (all epochs, each with its validation pass; for TF-IDF, "
        "fitting the vectorizer and the logistic regression); the final test evaluation excluded; "
        "train_seconds is the median of the repeats, round-robin over the models",
        "results": by_size,
        "total_seconds": round(time.perf_counter() - start, 1),
    }
    lines = [
        f"# encoder classifier vs pooling vs TF-IDF (torch {env['torch']}, {env['device']}, {env['cpu_count']} CPUs, "
        f"{env['torch_threads']} thread)",
    ]
    if harness.refusal(load) is None:
        lines += [
            "",
            "| size | model | train reviews | parameters | epochs | train s (median) | test accuracy |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, r in by_size.items():
            for model_name, row in r["models"].items():
                summarise_row(row)
                lines.append(
                    f"| {name} | {model_name} | {r['train_reviews']} | {row['parameters']:,} | {row['epochs'] or '-'} | "
                    f"{row['train_seconds']:.1f} | {row['test_accuracy']:.1%} |"
                )
    harness.write_results(NAME, result, lines)


if __name__ == "__main__":
    main()
