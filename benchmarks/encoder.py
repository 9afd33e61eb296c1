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
13,891. For each model: test accuracy, parameters, training seconds (validation passes included).
One CPU thread (as ``device.setup`` sets). Other processes shared the machine: absolute times
are inflated, ratios within one run are comparable.

Run from the repository root: python benchmarks/encoder.py
Writes benchmarks/results/encoder.json and benchmarks/results/encoder.md.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

import sklearn
import torch
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the repository's own embedlab, also without `pip install -e .`

from embedlab import corpora, device, encoder, pooling, pretrained, text, train  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
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


def run_size(name: str, limit: int | None, lac) -> dict:
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
    rows = {}

    def run(model_name: str, model, epochs: int, lr: float):
        config = train.TrainConfig(epochs=epochs, batch_size=s["batch_size"], lr=lr, patience=0, seed=0,
                                   progress=False)
        start = time.perf_counter()
        history = train.fit(model, examples["train"], examples["val"], collate, config)
        seconds = time.perf_counter() - start
        rows[model_name] = {
            "parameters": encoder.count_parameters(model),
            "epochs": epochs,
            "best_epoch": history.best_epoch,
            "train_seconds": seconds,
            "test_accuracy": train.evaluate(model, examples["test"], collate).accuracy,
        }

    for norm_first in (True, False):
        config = encoder.EncoderConfig(
            vocab_size=len(vocab), emb_dim=s["emb_dim"], num_heads=s["num_heads"], ffn_dim=s["ffn_dim"],
            num_layers=s["num_layers"], max_len=s["max_len"], norm_first=norm_first,
        )
        device.seed_everything(0)
        model = encoder.EncoderClassifier(config)
        with torch.no_grad():
            model.token_embedding.weight.copy_(matrix)
        run("encoder_pre_norm" if norm_first else "encoder_post_norm", model, s["encoder_epochs"], s["encoder_lr"])
    for pooling_name in ("mean", "max", "attention"):
        model = pooling.PoolingClassifier(len(vocab), s["emb_dim"], 2, pooling=pooling_name, pretrained=matrix, seed=0)
        run(f"pooling_{pooling_name}", model, s["pooling_epochs"], s["pooling_lr"])
    start = time.perf_counter()
    train_text = ["".join(t) for t in tokens["train"]]  # the same characters, for TF-IDF
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 2))
    features = vectorizer.fit_transform(train_text)
    logreg = LogisticRegression(max_iter=1000).fit(features, labels["train"])
    seconds = time.perf_counter() - start
    predictions = logreg.predict(vectorizer.transform(["".join(t) for t in tokens["test"]]))
    rows["tfidf_logreg"] = {
        "parameters": int(logreg.coef_.size + logreg.intercept_.size),
        "epochs": None,
        "best_epoch": None,
        "train_seconds": seconds,
        "test_accuracy": float((predictions == torch.tensor(labels["test"]).numpy()).mean()),
    }
    for model_name, row in rows.items():
        row["train_seconds"] = round(row["train_seconds"], 2)
        row["test_accuracy"] = round(row["test_accuracy"], 4)
        print(f"[{name}] {model_name:18}: accuracy {row['test_accuracy']:.1%}, {row['parameters']:,} parameters, "
              f"{row['train_seconds']:.1f} s", flush=True)
    return {"train_reviews": len(train_reviews), "val_reviews": len(split.val), "test_reviews": len(split.test),
            "vocab_size": len(vocab), "models": rows}


def main() -> None:
    device.setup(seed=0, name="cpu")  # one thread, deterministic
    start = time.perf_counter()
    lac = pretrained.load_lac_embeddings()
    by_size = {name: run_size(name, limit, lac) for name, limit in SIZES.items()}
    result = {
        "benchmark": "chapter 07's encoder classifier vs a pooling classifier vs TF-IDF + logistic regression, "
        "Chinese reviews",
        "torch": torch.__version__,
        "sklearn": sklearn.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "settings": SETTINGS,
        "timing": "perf_counter around embedlab.train.fit (all epochs, each with its validation pass; for TF-IDF, "
        "fitting the vectorizer and the logistic regression); the final test evaluation excluded",
        "shared_machine_note": "other processes shared the machine; ratios within one run are comparable",
        "results": by_size,
        "total_seconds": round(time.perf_counter() - start, 1),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "encoder.json").write_text(json.dumps(result, indent=1) + "\n")
    lines = [
        f"# encoder classifier vs pooling vs TF-IDF (torch {torch.__version__}, {os.cpu_count()} CPUs, "
        f"{torch.get_num_threads()} thread)",
        "",
        "| size | model | train reviews | parameters | epochs | train s | test accuracy |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in by_size.items():
        for model_name, row in r["models"].items():
            lines.append(
                f"| {name} | {model_name} | {r['train_reviews']} | {row['parameters']:,} | {row['epochs'] or '-'} | "
                f"{row['train_seconds']:.1f} | {row['test_accuracy']:.1%} |"
            )
    (RESULTS / "encoder.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {RESULTS / 'encoder.json'} in {result['total_seconds']} s")


if __name__ == "__main__":
    main()
