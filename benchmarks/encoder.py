"""The small encoder classifier of chapter 07 against a pooling classifier and TF-IDF + logistic regression.

Chinese reviews (``corpora.reviews()``, its fixed split), characters cut to the first 48, the
vocabulary built from the training reviews, embeddings initialised from Baidu LAC's pretrained
character vectors. Models, all trained on the same reviews and tested on the same test split:

* ``encoder_pre_norm``: ``embedlab.encoder.EncoderClassifier``, one pre-norm block (the chapter's);
* ``encoder_post_norm``: the same with post-norm, to measure the choice;
* ``pooling``: the same embeddings, masked mean pooling, a linear head;
* ``tfidf_logreg``: scikit-learn's TF-IDF of character 1-2 grams of the same 48 characters,
  then logistic regression (default C = 1).

Two sizes: ``chapter`` is exactly what the notebook trains live (the first 4,000 training reviews),
``full`` uses all 13,891. For each model: test accuracy, parameters, training seconds.
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

from embedlab import _standin, corpora, device, encoder, pretrained, text  # noqa: E402

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
    train = split.train[:limit] if limit else split.train
    train_tokens = [text.tokenize_zh_chars(r.text)[: s["max_len"]] for r in train]
    test_tokens = [text.tokenize_zh_chars(r.text)[: s["max_len"]] for r in split.test]
    cut = ["".join(t) for t in train_tokens]  # the same characters, for TF-IDF
    test_cut = ["".join(t) for t in test_tokens]
    vocab = text.Vocab.build(train_tokens, min_freq=s["min_freq"])
    matrix, _ = pretrained.build_embedding_matrix(vocab, lac.tokens, lac.vectors)
    train_ids, train_mask = text.pad_batch([vocab.encode(t) for t in train_tokens], max_len=s["max_len"])
    test_ids, test_mask = text.pad_batch([vocab.encode(t) for t in test_tokens], max_len=s["max_len"])
    y_train = torch.tensor([r.label for r in train])
    y_test = torch.tensor([r.label for r in split.test])
    rows = {}
    for norm_first in (True, False):
        config = encoder.EncoderConfig(
            vocab_size=len(vocab), emb_dim=s["emb_dim"], num_heads=s["num_heads"], ffn_dim=s["ffn_dim"],
            num_layers=s["num_layers"], max_len=s["max_len"], norm_first=norm_first,
        )
        torch.manual_seed(0)
        model = encoder.EncoderClassifier(config)
        with torch.no_grad():
            model.token_embedding.weight.copy_(matrix)
        optimizer = torch.optim.Adam(model.parameters(), lr=s["encoder_lr"])
        start = time.perf_counter()
        _standin.fit(model, (train_ids, train_mask), y_train, optimizer, s["encoder_epochs"], s["batch_size"])
        seconds = time.perf_counter() - start
        rows["encoder_pre_norm" if norm_first else "encoder_post_norm"] = {
            "parameters": encoder.count_parameters(model),
            "epochs": s["encoder_epochs"],
            "train_seconds": seconds,
            "test_accuracy": _standin.accuracy(model, (test_ids, test_mask), y_test),
        }
    torch.manual_seed(0)
    pool = _standin.MeanPoolClassifier(matrix)
    optimizer = torch.optim.Adam(pool.parameters(), lr=s["pooling_lr"])
    start = time.perf_counter()
    _standin.fit(pool, (train_ids, train_mask), y_train, optimizer, s["pooling_epochs"], s["batch_size"])
    seconds = time.perf_counter() - start
    rows["pooling"] = {
        "parameters": encoder.count_parameters(pool),
        "epochs": s["pooling_epochs"],
        "train_seconds": seconds,
        "test_accuracy": _standin.accuracy(pool, (test_ids, test_mask), y_test),
    }
    start = time.perf_counter()
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 2))
    features = vectorizer.fit_transform(cut)
    logreg = LogisticRegression(max_iter=1000).fit(features, y_train.numpy())
    seconds = time.perf_counter() - start
    predictions = logreg.predict(vectorizer.transform(test_cut))
    rows["tfidf_logreg"] = {
        "parameters": int(logreg.coef_.size + logreg.intercept_.size),
        "epochs": None,
        "train_seconds": seconds,
        "test_accuracy": float((predictions == y_test.numpy()).mean()),
    }
    for model_name, row in rows.items():
        row["train_seconds"] = round(row["train_seconds"], 2)
        row["test_accuracy"] = round(row["test_accuracy"], 4)
        print(f"[{name}] {model_name:18}: accuracy {row['test_accuracy']:.1%}, {row['parameters']:,} parameters, "
              f"{row['train_seconds']:.1f} s", flush=True)
    return {"train_reviews": len(train), "test_reviews": len(split.test), "vocab_size": len(vocab), "models": rows}


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
        "timing": "perf_counter around the whole training (all epochs; for TF-IDF, fitting the vectorizer "
        "and the logistic regression); evaluation excluded",
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
