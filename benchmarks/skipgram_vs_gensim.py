"""embedlab's skip-gram against gensim's Word2Vec: same corpus, same settings, one run.

Both train skip-gram with negative sampling on People's Daily 1998-01 (punctuation dropped) with
dimension 100, window 5, 5 noise words, min_count 5, subsampling 1e-3, 5 epochs, learning rate
0.025 -> 0.0001, 2 threads. Each is timed end to end (sentences in, vectors out) and scored on the
evaluation set in benchmarks/data/. The two tools alternate, once per seed, so that a change in
machine load hits both. Results: benchmarks/results/skipgram_vs_gensim.json (and a .md table).

Usage (from the repository root): python benchmarks/skipgram_vs_gensim.py [--seeds 0 1]

On a shared machine, other processes slow down whichever tool happens to run at that moment, so
the results record the 1-minute load average before and after, every run's time, the ratio of
the median times, the ratio of the minimum times (the statistic least affected by interference)
and the ratio within each seed. ``--summarise-only`` recomputes the summary and the table from the
runs already in the results file, without measuring anything.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import gensim  # noqa: E402
import torch  # noqa: E402
from gensim.models import Word2Vec  # noqa: E402

from embedlab import skipgram as sg  # noqa: E402
from embedlab.text import Vocab  # noqa: E402

DATA = ROOT / "benchmarks" / "data"
RESULTS = ROOT / "benchmarks" / "results"
SETTINGS = dict(emb_dim=100, window=5, negatives=5, min_count=5, sample=1e-3, epochs=5, lr=0.025, min_lr=0.0001)
THREADS = 2
TARGET = {"time_ratio_at_most": 1.5, "quality": "embedlab's spearman and analogy top-1 at least gensim's"}


def run_gensim(sentences: list[list[str]], seed: int) -> tuple[float, torch.Tensor, Vocab]:
    start = time.perf_counter()
    model = Word2Vec(
        sentences, sg=1, vector_size=SETTINGS["emb_dim"], window=SETTINGS["window"],
        negative=SETTINGS["negatives"], min_count=SETTINGS["min_count"], sample=SETTINGS["sample"],
        epochs=SETTINGS["epochs"], alpha=SETTINGS["lr"], min_alpha=SETTINGS["min_lr"],
        workers=THREADS, seed=seed,
    )
    seconds = time.perf_counter() - start
    vectors = torch.cat([torch.zeros(2, SETTINGS["emb_dim"]), torch.from_numpy(model.wv.vectors.copy())])
    return seconds, vectors, sg.vocab_from_words(model.wv.index_to_key)


def run_embedlab(sentences: list[list[str]], seed: int) -> tuple[float, torch.Tensor, Vocab]:
    config = sg.SkipGramConfig(**SETTINGS, workers=THREADS, seed=seed)
    start = time.perf_counter()
    result = sg.train(sentences, config, progress=False)
    seconds = time.perf_counter() - start
    return seconds, result.vectors, result.vocab


def scores_dict(scores: sg.Scores) -> dict:
    out = asdict(scores)
    out["by_relation"] = dict(scores.by_relation)
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--summarise-only", action="store_true",
                        help="recompute the summary from the runs in the results file; measure nothing")
    args = parser.parse_args(argv)
    if args.summarise_only:
        results = json.loads((RESULTS / "skipgram_vs_gensim.json").read_text(encoding="utf-8"))
        results["summary"] = summarise(results["runs"])
        write(results)
        return 0

    sentences = sg.training_corpus()
    pairs = sg.load_word_pairs(DATA / "zh_word_similarity.tsv")
    analogies = sg.load_analogies(DATA / "zh_analogy_pairs.tsv")
    load_before = os.getloadavg()
    runs = []
    for seed in args.seeds:
        for tool, runner in (("gensim", run_gensim), ("embedlab", run_embedlab)):
            seconds, vectors, vocab = runner(sentences, seed)
            scores = sg.evaluate(vectors, vocab, pairs, analogies)
            runs.append({"tool": tool, "seed": seed, "seconds": round(seconds, 2),
                         "vocab_size": len(vocab) - 2, "scores": scores_dict(scores)})
            print(f"{tool:>8} seed {seed}: {seconds:6.1f} s, spearman {scores.spearman:.3f}, "
                  f"analogy top-1 {scores.analogy_top1:.3f}, top-5 {scores.analogy_top5:.3f}", flush=True)
    load_after = os.getloadavg()
    results = {
        "benchmark": "skipgram_vs_gensim",
        "what": "skip-gram with negative sampling, embedlab.skipgram.train vs gensim.models.Word2Vec(sg=1)",
        "corpus": {"name": "People's Daily 1998-01, punctuation dropped", "sentences": len(sentences),
                   "tokens": sum(map(len, sentences))},
        "settings": {**SETTINGS, "threads": THREADS, "seeds": args.seeds},
        "evaluation": {"word_pairs": len(pairs), "analogies": len(analogies),
                       "files": ["benchmarks/data/zh_word_similarity.tsv", "benchmarks/data/zh_analogy_pairs.tsv"]},
        "machine": {"cpu_count": os.cpu_count(), "python": platform.python_version(),
                    "torch": torch.__version__.split("+")[0], "gensim": gensim.__version__,
                    "load_average_1min_before": round(load_before[0], 2),
                    "load_average_1min_after": round(load_after[0], 2)},
        "runs": runs,
        "summary": summarise(runs),
    }
    write(results)
    return 0


def summarise(runs: list[dict]) -> dict:
    """Times and scores per tool, the time ratios, and whether the targets are met."""

    def per_tool(tool: str) -> dict:
        mine = [r for r in runs if r["tool"] == tool]
        return {
            "seconds_median": round(statistics.median(r["seconds"] for r in mine), 2),
            "seconds_min": round(min(r["seconds"] for r in mine), 2),
            "spearman_mean": round(statistics.mean(r["scores"]["spearman"] for r in mine), 4),
            "analogy_top1_mean": round(statistics.mean(r["scores"]["analogy_top1"] for r in mine), 4),
            "analogy_top5_mean": round(statistics.mean(r["scores"]["analogy_top5"] for r in mine), 4),
        }

    gensim_summary, embedlab_summary = per_tool("gensim"), per_tool("embedlab")
    ratio = embedlab_summary["seconds_median"] / gensim_summary["seconds_median"]
    ratio_min = embedlab_summary["seconds_min"] / gensim_summary["seconds_min"]
    seconds = {(r["tool"], r["seed"]): r["seconds"] for r in runs}
    per_seed = {str(seed): round(seconds[("embedlab", seed)] / seconds[("gensim", seed)], 3)
                for tool, seed in seconds if tool == "gensim" and ("embedlab", seed) in seconds}
    quality_met = (embedlab_summary["spearman_mean"] >= gensim_summary["spearman_mean"]
                   and embedlab_summary["analogy_top1_mean"] >= gensim_summary["analogy_top1_mean"])
    return {
        "gensim": gensim_summary,
        "embedlab": embedlab_summary,
        "time_ratio_embedlab_over_gensim": round(ratio, 3),
        "time_ratio_of_minimums": round(ratio_min, 3),
        "time_ratio_per_seed": per_seed,
        "target": TARGET,
        "time_target_met": ratio <= TARGET["time_ratio_at_most"],
        "time_target_met_by_minimums": ratio_min <= TARGET["time_ratio_at_most"],
        "quality_target_met": quality_met,
    }


def write(results: dict) -> None:
    """Write the results file and its Markdown table."""
    summary = results["summary"]
    gensim_summary, embedlab_summary = summary["gensim"], summary["embedlab"]
    machine, settings = results["machine"], results["settings"]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "skipgram_vs_gensim.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n",
                                                     encoding="utf-8")
    table = [
        "# skip-gram: embedlab vs gensim",
        "",
        f"People's Daily 1998-01, {results['corpus']['tokens']:,} words; dim 100, window 5, 5 negatives, "
        f"min_count 5, 5 epochs, {settings['threads']} threads; seeds {settings['seeds']}; "
        f"{machine['cpu_count']} CPUs, 1-min load average {machine['load_average_1min_before']:.1f} before "
        f"and {machine['load_average_1min_after']:.1f} after (other processes were using the CPUs).",
        "",
        "| tool | seconds (median) | seconds (min) | Spearman (mean) | analogy top-1 (mean) | analogy top-5 (mean) |",
        "|---|---|---|---|---|---|",
    ]
    for tool, row in (("gensim", gensim_summary), ("embedlab", embedlab_summary)):
        table.append(f"| {tool} | {row['seconds_median']:.1f} | {row['seconds_min']:.1f} | {row['spearman_mean']:.3f} | "
                     f"{row['analogy_top1_mean']:.3f} | {row['analogy_top5_mean']:.3f} |")
    per_seed = ", ".join(f"seed {seed}: {r:.2f}" for seed, r in summary["time_ratio_per_seed"].items())
    table += [
        "",
        f"Wall-time ratio embedlab / gensim: {summary['time_ratio_embedlab_over_gensim']:.2f} of the medians, "
        f"{summary['time_ratio_of_minimums']:.2f} of the minimums ({per_seed}); "
        f"target at most {TARGET['time_ratio_at_most']}.",
    ]
    (RESULTS / "skipgram_vs_gensim.md").write_text("\n".join(table) + "\n", encoding="utf-8")
    print(f"time ratio embedlab / gensim: {summary['time_ratio_embedlab_over_gensim']:.2f} (medians), "
          f"{summary['time_ratio_of_minimums']:.2f} (minimums); quality target met: {summary['quality_target_met']}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
