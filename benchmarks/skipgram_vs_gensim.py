"""embedlab's skip-gram against gensim's Word2Vec: same corpus, same settings, one run.

Both train skip-gram with negative sampling on People's Daily 1998-01 (punctuation dropped) with
dimension 100, window 5, 5 noise words, min_count 5, subsampling 1e-3, 5 epochs, learning rate
0.025 -> 0.0001, 2 threads. Each is timed end to end (sentences in, vectors out) and scored on the
evaluation set in benchmarks/data/. The two tools alternate, once per seed (``harness.round_robin``),
so that a change in machine load hits both; at least three seeds, so that a median means something.
Results: benchmarks/results/skipgram_vs_gensim.json (and a .md table). Both tools run on the CPU:
``skipgram.train`` is a CPU implementation by design (its threads are the ``workers``).

Usage (from the repository root): python -m benchmarks.skipgram_vs_gensim [--seeds 0 1 2]
(or make bench BENCH=skipgram_vs_gensim)

On a shared machine, other processes slow down whichever tool happens to run at that moment, so
the results record the load average before and after, every run's time, the ratio of the median
times, the ratio of the minimum times (the statistic least affected by interference) and the ratio
within each seed; when the machine was busy (``benchmarks.harness``) there is no summary.
``--summarise-only`` recomputes the summary and the table from the runs already in the results
file, without measuring anything.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import asdict

import gensim
import torch
from gensim.models import Word2Vec

from benchmarks import harness
from embedlab import device, wordvec
from embedlab import skipgram as sg
from embedlab.text import Vocab

NAME = "skipgram_vs_gensim"
DATA = harness.RESULTS.parent / "data"
SETTINGS = dict(emb_dim=100, window=5, negatives=5, min_count=5, sample=1e-3, epochs=5, lr=0.025, min_lr=0.0001)
THREADS = 2
SEEDS = (0, 1, 2)
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
    word_vectors = torch.cat([torch.zeros(2, SETTINGS["emb_dim"]), torch.from_numpy(model.wv.vectors.copy())])
    return seconds, word_vectors, wordvec.vocab_from_words(model.wv.index_to_key)


def run_embedlab(sentences: list[list[str]], seed: int) -> tuple[float, torch.Tensor, Vocab]:
    config = sg.SkipGramConfig(**SETTINGS, workers=THREADS, seed=seed)
    start = time.perf_counter()
    result = sg.train(sentences, config, progress=False)
    seconds = time.perf_counter() - start
    return seconds, result.vectors, result.vocab


def scores_dict(scores: wordvec.VectorScores) -> dict:
    out = asdict(scores)
    out["by_relation"] = dict(scores.by_relation)
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS),
                        help=f"seeds, at least {harness.MIN_REPEATS} (one run of each tool per seed)")
    parser.add_argument("--summarise-only", action="store_true",
                        help="recompute the summary from the runs in the results file; measure nothing")
    args = parser.parse_args(argv)
    if args.summarise_only:
        results = json.loads((harness.RESULTS / f"{NAME}.json").read_text(encoding="utf-8"))
        results.setdefault("load", legacy_load(results["machine"]))  # files written before the harness
        results.pop("summary", None)
        write(results)
        return 0
    harness.check_repeats(len(args.seeds))

    sentences = sg.training_corpus()
    pairs = wordvec.load_word_pairs(DATA / "zh_word_similarity.tsv")
    analogies = wordvec.load_analogies(DATA / "zh_analogy_pairs.tsv")
    tool_seeds = {"gensim": iter(args.seeds), "embedlab": iter(args.seeds)}  # each call takes its next seed

    def runner(tool: str, run):
        def one() -> dict:
            seed = next(tool_seeds[tool])
            seconds, word_vectors, vocab = run(sentences, seed)
            scores = wordvec.evaluate(word_vectors, vocab, pairs, analogies)
            print(f"{tool:>8} seed {seed}: {seconds:6.1f} s, spearman {scores.spearman:.3f}, "
                  f"analogy top-1 {scores.analogy_top1:.3f}, top-5 {scores.analogy_top5:.3f}", flush=True)
            return {"tool": tool, "seed": seed, "seconds": round(seconds, 2),
                    "vocab_size": len(vocab) - 2, "scores": scores_dict(scores)}
        return one

    before = harness.load_average()
    by_tool = harness.round_robin(
        {"gensim": runner("gensim", run_gensim), "embedlab": runner("embedlab", run_embedlab)}, len(args.seeds)
    )
    load = harness.load_record(before, harness.load_average())
    runs = [run for pair in zip(by_tool["gensim"], by_tool["embedlab"]) for run in pair]  # in the order they ran
    env = harness.environment(device.get_device("cpu"), gensim=gensim.__version__)  # skipgram.train: CPU only
    results = {
        "benchmark": NAME,
        "what": "skip-gram with negative sampling, embedlab.skipgram.train vs gensim.models.Word2Vec(sg=1)",
        "environment": env,
        "load": load,
        "corpus": {"name": "People's Daily 1998-01, punctuation dropped", "sentences": len(sentences),
                   "tokens": sum(map(len, sentences))},
        "settings": {**SETTINGS, "threads": THREADS, "seeds": args.seeds},
        "evaluation": {"word_pairs": len(pairs), "analogies": len(analogies),
                       "files": ["benchmarks/data/zh_word_similarity.tsv", "benchmarks/data/zh_analogy_pairs.tsv"]},
        # read by chapter 02 (machine.cpu_count, machine.load_average_1min_before)
        "machine": {"cpu_count": env["cpu_count"], "python": env["python"],
                    "torch": env["torch"].split("+")[0], "gensim": gensim.__version__,
                    "load_average_1min_before": load["before"]["1min"],
                    "load_average_1min_after": load["after"]["1min"]},
        "runs": runs,
    }
    write(results)
    return 0


def legacy_load(machine: dict) -> dict:
    """The load record of a results file written before the harness (1-minute averages only)."""
    return harness.load_record({"1min": machine["load_average_1min_before"]},
                               {"1min": machine["load_average_1min_after"]}, machine["cpu_count"])


def summarise(runs: list[dict]) -> dict:
    """Times and scores per tool, the time ratios, and whether the targets are met."""

    def per_tool(tool: str) -> dict:
        mine = [r for r in runs if r["tool"] == tool]
        timing = harness.Timing(tuple(r["seconds"] for r in mine))
        return {
            "seconds_median": round(timing.median, 2),
            "seconds_min": round(timing.min, 2),
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
    """Summarise unless the machine was busy, then write the results file and its Markdown table."""
    machine, settings = results["machine"], results["settings"]
    table = [
        "# skip-gram: embedlab vs gensim",
        "",
        f"People's Daily 1998-01, {results['corpus']['tokens']:,} words; dim 100, window 5, 5 negatives, "
        f"min_count 5, 5 epochs, {settings['threads']} threads; seeds {settings['seeds']}; "
        f"{machine['cpu_count']} CPUs, 1-min load average {machine['load_average_1min_before']:.1f} before "
        f"and {machine['load_average_1min_after']:.1f} after.",
    ]
    if harness.refusal(results["load"]) is None:
        results["summary"] = summary = summarise(results["runs"])
        table += [
            "",
            "| tool | seconds (median) | seconds (min) | Spearman (mean) | analogy top-1 (mean) | analogy top-5 (mean) |",
            "|---|---|---|---|---|---|",
        ]
        for tool in ("gensim", "embedlab"):
            row = summary[tool]
            table.append(f"| {tool} | {row['seconds_median']:.1f} | {row['seconds_min']:.1f} | "
                         f"{row['spearman_mean']:.3f} | {row['analogy_top1_mean']:.3f} | {row['analogy_top5_mean']:.3f} |")
        per_seed = ", ".join(f"seed {seed}: {r:.2f}" for seed, r in summary["time_ratio_per_seed"].items())
        table += [
            "",
            f"Wall-time ratio embedlab / gensim: {summary['time_ratio_embedlab_over_gensim']:.2f} of the medians, "
            f"{summary['time_ratio_of_minimums']:.2f} of the minimums ({per_seed}); "
            f"target at most {TARGET['time_ratio_at_most']}.",
        ]
        print(f"time ratio embedlab / gensim: {summary['time_ratio_embedlab_over_gensim']:.2f} (medians), "
              f"{summary['time_ratio_of_minimums']:.2f} (minimums); quality target met: {summary['quality_target_met']}")
    harness.write_results(NAME, results, table)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
