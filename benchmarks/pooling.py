"""Training throughput and peak memory: padded pooling vs nn.EmbeddingBag vs TF-IDF + logistic regression.

Run from the repository root:  python -m benchmarks.pooling  (or make bench BENCH=pooling)
Writes benchmarks/results/pooling.json and benchmarks/results/pooling.md.

What is measured, on the Chinese reviews of ``embedlab.corpora.reviews()`` (the split of chapter 05):

* ``examples_per_s``: training examples per second of wall time. For the PyTorch models that is
  one epoch of ``embedlab.train.fit`` (shuffle, collate, forward, backward, AdamW step, and the
  validation pass that ``fit`` runs after each epoch). For scikit-learn it is one full fit of the
  pipeline (TfidfVectorizer on char 1-2 grams, then LogisticRegression). Each method runs
  ``REPEATS`` times, each time in a fresh process after a small untimed warm-up fit, round-robin
  over the methods so that a busy spell of the machine hits all of them; the fastest run counts.
  Tokenization is not included (the texts are tokenized once beforehand); its own throughput is
  reported separately under ``tokenize_examples_per_s`` (the fastest of ``REPEATS`` interleaved runs
  of the three tokenizations). The n-gram model of chapter 05 (``bag sqrtn
  (n-grams)``: words, word bigrams, characters and character bigrams, sqrt-n pooling) uses its own
  sizes (``NGRAM``: 16 dimensions, learning rate 1e-3, no length cut); every other model the
  chapter's grid sizes.
* ``peak_rss_mib``: in another fresh process, one cold fit (no warm-up): the rise of the process's
  peak resident memory (Linux VmHWM, reset through /proc/self/clear_refs just before the fit) over
  its resident memory before the fit. It sees everything: tensors, NumPy/SciPy arrays, allocator
  slack, and first-call costs.
* ``tracemalloc_peak_mib``: the peak of memory allocated through Python's allocators during a
  separate, untimed fit (tracemalloc slows Python down). It counts Python objects and NumPy arrays
  but not PyTorch tensor storage, which is allocated outside Python's allocators.

Every run uses one thread (torch, OpenMP, BLAS), as chapter 05 does; fresh processes keep memory
and timings from leaking between methods. The ratios come from one run of this script. The device
is ``embedlab.device.get_device()`` in each worker (``make bench`` defaults ``EMBEDLAB_DEVICE`` to
cpu, the device of the committed results); the memory figures are the CPU process's.
"""

from __future__ import annotations

import gc
import json
import os
import pickle
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import harness

NAME = "pooling"
ROOT = Path(__file__).resolve().parents[1]
REPEATS = 3  # timed runs per method, each in a fresh process; the fastest counts
WARMUP = 512  # examples of an untimed fit before the timed one (first-call costs, allocator)
EMB_DIM = 32  # as in chapter 05
BATCH_SIZE = 128  # as in chapter 05
LR = 4e-3  # as in chapter 05
MAX_LEN = 128  # as in chapter 05
TFIDF_C = 3.0  # the C that chapter 05 picks on the validation split
# The n-gram model of chapter 05: its own vocabulary, size, learning rate, and no length cut.
NGRAM = {"emb_dim": 16, "lr": 1e-3, "max_len": None, "min_freq": 3}
THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

# name -> (kind, tokenization, pooling)
METHODS = {
    **{f"padded {pool} ({tok})": ("padded", tok, pool)
       for tok in ("characters", "words") for pool in ("mean", "sum", "sqrtn", "max", "attention")},
    "bag mean (characters)": ("bag", "characters", "mean"),
    "bag mean (words)": ("bag", "words", "mean"),
    "bag sqrtn (n-grams)": ("bag", "n-grams", "sqrtn"),
    "tfidf+logreg": ("sklearn", "characters", ""),
}


def _status_kib(field: str) -> int:
    return int(re.search(rf"{field}:\s+(\d+) kB", Path("/proc/self/status").read_text()).group(1))


def _reset_peak_rss() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current VmRSS (Linux)


def ngram_tokens(review: str) -> list[str]:
    """Chapter 05's n-gram features: jieba words and word bigrams, characters and character bigrams."""
    from embedlab import text

    return (text.with_ngrams(text.tokenize_zh_words(review), 2, sep=" ", mark="w:")
            + text.with_ngrams(text.tokenize_zh_chars(review), 2, sep="", mark="c:"))


def prepare(path: Path) -> dict:
    """Tokenize and encode the reviews once; store them for the worker processes; time tokenization."""
    from embedlab import corpora, text

    split = corpora.reviews()
    texts = {"train": [r.text for r in split.train], "val": [r.text for r in split.val]}
    labels = {"train": [r.label for r in split.train], "val": [r.label for r in split.val]}
    tokenizers = {"characters": text.tokenize_zh_chars, "words": text.tokenize_zh_words, "n-grams": ngram_tokens}
    for fn in tokenizers.values():
        fn(texts["train"][0])  # jieba loads its dictionary on first use: not part of the rate
    tokenized = {}

    def tokenize(tok: str) -> None:
        tokenized[tok] = {name: [tokenizers[tok](t) for t in part] for name, part in texts.items()}

    timings = harness.interleaved({tok: (lambda tok=tok: tokenize(tok)) for tok in tokenizers}, REPEATS, warmup=0)
    examples = {}
    for tok, tokens in tokenized.items():
        vocab = text.Vocab.build(tokens["train"], min_freq=NGRAM["min_freq"] if tok == "n-grams" else 2)
        examples[tok] = {
            "vocab_size": len(vocab),
            **{name: [(vocab.encode(t), y) for t, y in zip(tokens[name], labels[name])] for name in texts},
        }
    path.write_bytes(pickle.dumps({"texts": texts, "labels": labels, "examples": examples}))
    return {"tokenize_seconds": {tok: [round(x, 4) for x in t.seconds] for tok, t in timings.items()},
            "n_train": len(texts["train"]), "n_val": len(texts["val"]),
            "vocab_size": {tok: examples[tok]["vocab_size"] for tok in examples}}


def worker(name: str, data_path: str, mode: str) -> dict:
    """Run one method once in this (fresh) process.

    ``mode="time"``: a small warm-up fit, then one timed fit.
    ``mode="rss"``: one cold fit (no warm-up) and the rise of peak RSS during it.
    ``mode="tracemalloc"``: one cold fit under tracemalloc.
    """
    import tracemalloc

    import torch

    from embedlab import device, pooling, text, train

    torch.set_num_threads(1)
    device.set_deterministic(True)
    dev = device.get_device()
    kind, tok, pool = METHODS[name]
    data = pickle.loads(Path(data_path).read_bytes())

    if kind == "sklearn":
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        def run(n: int) -> None:
            texts, labels = data["texts"]["train"][:n], data["labels"]["train"][:n]
            features = TfidfVectorizer(analyzer="char", ngram_range=(1, 2), sublinear_tf=True).fit_transform(texts)
            LogisticRegression(C=TFIDF_C, max_iter=1000).fit(features, labels)

        n_examples = len(data["texts"]["train"])
    else:
        examples = data["examples"][tok]
        emb_dim, lr, max_len = (NGRAM["emb_dim"], NGRAM["lr"], NGRAM["max_len"]) if tok == "n-grams" else (EMB_DIM, LR, MAX_LEN)
        collate = train.PadCollate(max_len=max_len) if kind == "padded" else train.BagCollate(max_len=max_len)
        config = train.TrainConfig(epochs=1, batch_size=BATCH_SIZE, lr=lr, patience=0, progress=False)

        model_config = pooling.ClassifierConfig(
            vocab_size=examples["vocab_size"], emb_dim=emb_dim, num_classes=2, pooling=pool,
            padding_idx=text.PAD_ID, init_std=0.1, seed=0,
        )
        model_class = pooling.PoolingClassifier if kind == "padded" else pooling.BagClassifier

        def run(n: int) -> None:
            model = model_class(model_config)
            train.fit(model, examples["train"][:n], examples["val"], collate, config, device=dev)

        n_examples = len(examples["train"])

    if mode == "tracemalloc":
        tracemalloc.start()
        run(n_examples)
        _, traced_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return {"tracemalloc_peak_mib": traced_peak / 2**20}
    if mode == "rss":
        gc.collect()
        rss_before = _status_kib("VmRSS")
        _reset_peak_rss()
        run(n_examples)
        return {"peak_rss_mib": (_status_kib("VmHWM") - rss_before) / 1024}
    run(WARMUP)
    start = time.perf_counter()
    run(n_examples)
    return {"seconds": time.perf_counter() - start, "n_examples": n_examples}


def _spawn(name: str, data_path: Path, mode: str, env: dict) -> dict:
    command = [sys.executable, "-m", "benchmarks.pooling", "--worker", name, str(data_path), mode]
    out = subprocess.run(command, env=env, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def summarise(results: dict) -> None:
    """Add the rates (examples per second of the fastest repeat) and the ratios the chapter reads."""
    methods = results["methods"]
    for m in methods.values():
        timing = harness.Timing(tuple(m["seconds"]))
        m["examples_per_s"] = m["n_examples"] / timing.min
        m["examples_per_s_median"] = m["n_examples"] / timing.median
    n_texts = results["n_train"] + results["n_val"]
    results["tokenize_examples_per_s"] = {tok: n_texts / min(seconds) for tok, seconds in results["tokenize_seconds"].items()}
    tfidf = methods["tfidf+logreg"]["examples_per_s"]
    ratios = {}
    for tok in ("characters", "words"):
        ratios[f"bag mean / padded mean ({tok})"] = (
            methods[f"bag mean ({tok})"]["examples_per_s"] / methods[f"padded mean ({tok})"]["examples_per_s"])
        ratios[f"padded mean ({tok}) / tfidf+logreg"] = methods[f"padded mean ({tok})"]["examples_per_s"] / tfidf
        ratios[f"bag mean ({tok}) / tfidf+logreg"] = methods[f"bag mean ({tok})"]["examples_per_s"] / tfidf
    ratios["bag sqrtn (n-grams) / tfidf+logreg"] = methods["bag sqrtn (n-grams)"]["examples_per_s"] / tfidf
    results["ratios"] = ratios


def markdown(results: dict) -> list[str]:
    """The title, and the tables when the results are summarised."""
    env = results["environment"]
    lines = [f"# pooling: training throughput and peak memory (torch {env['torch']}, scikit-learn {env['sklearn']}, "
             f"{env['device']}, {env['cpu_count']} CPUs, 1 thread each)"]
    if "ratios" not in results:
        return lines
    lines += ["", "| method | examples/s | peak RSS rise (MiB) | tracemalloc peak (MiB) |", "|---|---:|---:|---:|"]
    for name, m in results["methods"].items():
        lines.append(f"| {name} | {m['examples_per_s']:,.0f} | {m['peak_rss_mib']:.1f} | {m['tracemalloc_peak_mib']:.1f} |")
    lines += ["", "| ratio | value |", "|---|---:|"] + [f"| {k} | {v:.2f} |" for k, v in results["ratios"].items()]
    return lines


def main() -> None:
    import sklearn
    import torch

    from embedlab import device

    env = {**os.environ, **THREAD_ENV, "TQDM_DISABLE": "1", "PYTHONHASHSEED": "0"}
    before = harness.load_average()
    with tempfile.TemporaryDirectory() as tmp:
        data_path = Path(tmp) / "data.pkl"
        info = prepare(data_path)
        spawners = {name: (lambda name=name: _spawn(name, data_path, "time", env)) for name in METHODS}
        runs = harness.round_robin(spawners, REPEATS)  # a busy spell of the machine hits every method
        methods = {}
        for name, (kind, tok, pool) in METHODS.items():
            methods[name] = {
                "kind": kind, "tokens": tok, "pooling": pool,
                "seconds": [round(r["seconds"], 4) for r in runs[name]],
                "n_examples": runs[name][0]["n_examples"],
                **_spawn(name, data_path, "rss", env),
                **_spawn(name, data_path, "tracemalloc", env),
            }
            print(f"{name:>30}: {methods[name]['n_examples'] / min(methods[name]['seconds']):>9,.0f} examples/s, "
                  f"peak RSS +{methods[name]['peak_rss_mib']:.1f} MiB", flush=True)
    load = harness.load_record(before, harness.load_average())
    torch.set_num_threads(1)  # what every worker used, so that the environment says so
    environment = harness.environment(device.get_device(), sklearn=sklearn.__version__)
    results = {
        "benchmark": NAME,
        "what": "training throughput (examples/s, best of repeats) and peak memory; see benchmarks/pooling.py",
        "environment": environment,
        "load": load,
        "threads": 1,
        "repeats": REPEATS,
        "emb_dim": EMB_DIM,
        "batch_size": BATCH_SIZE,
        "max_len": MAX_LEN,
        "tfidf_C": TFIDF_C,
        "ngram_model": NGRAM,
        **info,
        "methods": methods,
        "notes": "one-epoch fit of embedlab.train (validation pass included) vs one full TF-IDF + LR fit; "
                 "peak_rss_mib from Linux VmHWM reset via /proc/self/clear_refs; tracemalloc misses torch tensors; "
                 "measured on a shared machine, so compare ratios from one run rather than absolute rates",
    }
    if harness.refusal(load) is None:
        summarise(results)
        print(json.dumps(results["ratios"], indent=2))
    harness.write_results(NAME, results, markdown(results))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        print(json.dumps(worker(sys.argv[2], sys.argv[3], sys.argv[4])))
    else:
        main()
