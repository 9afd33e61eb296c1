"""embedlab's attention against PyTorch's fused F.scaled_dot_product_attention, on this CPU.

For every head count H and sequence length T (64 .. 2048), with batch 1, head dim 64 and float32:

* time per call: the best of interleaved repeats (package, fused, package, fused, ...), so the
  ratio of the two comes from one run under the same load; noise from other processes only ever
  adds time, which is why the minimum is reported (the median is recorded too);
* on one thread: the machine is shared, and with two threads a single descheduled thread stalls
  every parallel region, which measures the scheduler rather than the algorithm;
* peak extra memory of one call, read from PyTorch's profiler (allocations and frees in time order);
* a least-squares fit of log(time) and log(memory) against log(T) for T >= 256, where the T^2
  work dominates the fixed overheads: the exponent says how cost grows with sequence length.

Run from the repository root: python benchmarks/attention.py
Writes benchmarks/results/attention.json and benchmarks/results/attention.md.
"""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the repository's own embedlab, also without `pip install -e .`

from embedlab.attention import causal_mask, scaled_dot_product_attention  # noqa: E402

HEADS = (1, 4, 8)
TOKENS = (64, 128, 256, 512, 1024, 2048)
HEAD_DIM = 64
BATCH = 1
FIT_FROM = 256  # fit exponents on T >= this
THREADS = 1
MIN_REPEATS = 5
TARGET_SECONDS = 0.25  # time spent per implementation and configuration, roughly
RESULTS = ROOT / "benchmarks" / "results"


def package_attention(q, k, v, mask):
    return scaled_dot_product_attention(q, k, v, mask)[0]


def fused_attention(q, k, v, mask):
    return F.scaled_dot_product_attention(q, k, v, is_causal=mask is not None)


def seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def peak_bytes(fn) -> int:
    """Largest amount of memory allocated at once during ``fn()``, beyond what existed before.

    The profiler gives each operator its own allocations minus its own frees; positive amounts are
    counted when the operator starts, negative ones when it ends, plus the standalone free events.
    """
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        out = fn()
        del out
    changes = []
    for event in prof.events():
        delta = event.self_cpu_memory_usage
        if delta > 0:
            changes.append((event.time_range.start, delta))
        elif delta < 0:
            changes.append((event.time_range.end, delta))
    current = peak = 0
    for _, delta in sorted(changes, key=lambda c: (c[0], -c[1])):
        current += delta
        peak = max(peak, current)
    return peak


def fit_exponent(xs: list[float], ys: list[float]) -> float:
    """Slope of log(y) against log(x), by least squares."""
    lx = [math.log(x) for x in xs]
    ly = [math.log(y) for y in ys]
    mx, my = statistics.fmean(lx), statistics.fmean(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly)) / sum((a - mx) ** 2 for a in lx)


def measure(heads: int, tokens: int, causal: bool) -> dict:
    generator = torch.Generator().manual_seed(heads * 10_000 + tokens)
    q, k, v = (torch.randn(BATCH, heads, tokens, HEAD_DIM, generator=generator) for _ in range(3))
    mask = causal_mask(tokens) if causal else None
    with torch.inference_mode():
        torch.testing.assert_close(package_attention(q, k, v, mask), fused_attention(q, k, v, mask))
        first = seconds(lambda: package_attention(q, k, v, mask))
        first += seconds(lambda: fused_attention(q, k, v, mask))
        repeats = max(MIN_REPEATS, min(100, int(2 * TARGET_SECONDS / max(first, 1e-6))))
        mine, fused = [], []
        for _ in range(repeats):  # interleaved: both see the same machine load
            mine.append(seconds(lambda: package_attention(q, k, v, mask)))
            fused.append(seconds(lambda: fused_attention(q, k, v, mask)))
        mine_peak = peak_bytes(lambda: package_attention(q, k, v, mask))
        fused_peak = peak_bytes(lambda: fused_attention(q, k, v, mask))
    mine_ms, fused_ms = 1e3 * min(mine), 1e3 * min(fused)
    return {
        "heads": heads,
        "tokens": tokens,
        "causal": causal,
        "repeats": repeats,
        "package_ms": round(mine_ms, 4),
        "fused_ms": round(fused_ms, 4),
        "ratio_package_over_fused": round(mine_ms / fused_ms, 3),
        "package_median_ms": round(1e3 * statistics.median(mine), 4),
        "fused_median_ms": round(1e3 * statistics.median(fused), 4),
        "package_peak_mib": round(mine_peak / 2**20, 3),
        "fused_peak_mib": round(fused_peak / 2**20, 3),
        "scores_mib": round(BATCH * heads * tokens * tokens * 4 / 2**20, 3),  # one (B, H, T, T) float32
    }


def main() -> None:
    torch.set_num_threads(THREADS)
    start = time.perf_counter()
    rows = []
    for causal in (False, True):
        for heads in HEADS:
            for tokens in TOKENS:
                row = measure(heads, tokens, causal)
                rows.append(row)
                print(
                    f"causal={causal!s:5} H={heads} T={tokens:5}: package {row['package_ms']:9.2f} ms, "
                    f"fused {row['fused_ms']:8.2f} ms, ratio {row['ratio_package_over_fused']:6.2f}, "
                    f"peak {row['package_peak_mib']:8.2f} vs {row['fused_peak_mib']:6.2f} MiB",
                    flush=True,
                )
    fits = []
    for causal in (False, True):
        for heads in HEADS:
            part = [
                r for r in rows if r["heads"] == heads and r["causal"] == causal and r["tokens"] >= FIT_FROM
            ]
            xs = [r["tokens"] for r in part]
            fits.append({
                "heads": heads,
                "causal": causal,
                "package_time_exponent": round(fit_exponent(xs, [r["package_ms"] for r in part]), 3),
                "fused_time_exponent": round(fit_exponent(xs, [r["fused_ms"] for r in part]), 3),
                "package_memory_exponent": round(fit_exponent(xs, [r["package_peak_mib"] for r in part]), 3),
                "fused_memory_exponent": round(fit_exponent(xs, [r["fused_peak_mib"] for r in part]), 3),
            })
    result = {
        "benchmark": "embedlab.attention.scaled_dot_product_attention vs "
        "torch.nn.functional.scaled_dot_product_attention",
        "torch": torch.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "dtype": "float32",
        "batch": BATCH,
        "head_dim": HEAD_DIM,
        "heads": list(HEADS),
        "tokens": list(TOKENS),
        "fit_from_tokens": FIT_FROM,
        "timing": "best (minimum) time per call of interleaved repeats, inference_mode, one thread, "
        "after one warm-up call each; medians are recorded as package_median_ms and fused_median_ms",
        "memory": "peak extra bytes during one call, from torch.profiler (profile_memory=True)",
        "fused_backend_note": "on a CPU, PyTorch dispatches to its flash-attention CPU kernel; "
        "causal uses is_causal=True",
        "shared_machine_note": "other processes shared the machine; ratios are measured under the same load",
        "rows": rows,
        "fits": fits,
        "total_seconds": round(time.perf_counter() - start, 1),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "attention.json").write_text(json.dumps(result, indent=1) + "\n")
    lines = [
        f"# attention: embedlab vs F.scaled_dot_product_attention (torch {torch.__version__}, "
        f"{os.cpu_count()} CPUs, {torch.get_num_threads()} threads)",
        "",
        "| causal | H | T | package ms | fused ms | ratio | package peak MiB | fused peak MiB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['causal']} | {r['heads']} | {r['tokens']} | {r['package_ms']:.2f} | {r['fused_ms']:.2f} | "
            f"{r['ratio_package_over_fused']:.2f} | {r['package_peak_mib']:.2f} | {r['fused_peak_mib']:.2f} |"
        )
    lines += ["", f"Exponents of a fit time ~ T^p (and memory ~ T^p) for T >= {FIT_FROM}:", ""]
    lines += [
        "| causal | H | package time | fused time | package memory | fused memory |",
        "|---|---|---|---|---|---|",
    ]
    for f in fits:
        lines.append(
            f"| {f['causal']} | {f['heads']} | {f['package_time_exponent']:.2f} | {f['fused_time_exponent']:.2f} | "
            f"{f['package_memory_exponent']:.2f} | {f['fused_memory_exponent']:.2f} |"
        )
    (RESULTS / "attention.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {RESULTS / 'attention.json'} in {result['total_seconds']} s")


if __name__ == "__main__":
    main()
