"""Exact cosine search at scale: time per query against the size M of the collection.

Exact search is one matrix product of unit vectors, (Q, D) @ (D, M), then a top-k per row
(``embedlab.retrieval.search`` with ``unit_passages=True``: the collection is normalised once,
when it is built, not at every query). Its cost grows with M, and this benchmark measures how: for each
collection size M it times ``search`` for one query at a time and for a batch of queries, on the
same random unit vectors (the values do not change the arithmetic). The sizes are timed in turn,
round after round (``harness.interleaved``), one thread, median of the rounds kept (the minimum
too). The exponent b of time ~ M^b is fitted on the medians of the sizes >= FIT_FROM, where the
product, not the call overhead, dominates.

The vectors are 384-d float32, like all-MiniLM-L6-v2's. Memory of the collection: 4 * D * M bytes
(1.5 GB at a million vectors).

Run from the repository root: ``python -m benchmarks.retrieval`` (or ``make bench BENCH=retrieval``)
-> benchmarks/results/retrieval.json and retrieval.md
"""

from __future__ import annotations

import torch

from benchmarks import harness
from embedlab import device, retrieval

NAME = "retrieval"
EMB_DIM = 384  # D of all-MiniLM-L6-v2
SIZES = (1_000, 4_000, 16_000, 64_000, 256_000, 1_024_000)  # M, collection sizes measured
BATCH = 64  # queries per call in the batched setting
K = 10  # results kept per query
REPEATS = 5  # timed rounds (interleaved over the sizes)
FIT_FROM = 16_000  # the exponent is fitted on M >= this
SEED = 0
THREADS = 1


def unit_vectors(rows: int, seed: int) -> torch.Tensor:
    """(rows, D) random unit vectors drawn on the CPU generator."""
    x = device.randn((rows, EMB_DIM), seed)  # (rows, D)
    return torch.nn.functional.normalize(x, dim=1)


def main() -> None:
    torch.set_num_threads(THREADS)
    dev = device.get_device()
    sync = harness.synchronizer(dev)
    before = harness.load_average()
    collection = unit_vectors(max(SIZES), SEED).to(dev)  # (M_max, D)
    queries = unit_vectors(BATCH, SEED + 1).to(dev)  # (BATCH, D)
    # One query and a batch, for every size: the prefix of the largest collection.
    calls = {}
    for m in SIZES:
        passages = collection[:m]
        calls[f"single/{m}"] = lambda p=passages: retrieval.search(queries[:1], p, K, unit_passages=True)
        calls[f"batch/{m}"] = lambda p=passages: retrieval.search(queries, p, K, unit_passages=True)
    # The package's search equals the matrix product and a sort, on the smallest size.
    scores, indices = retrieval.search(queries, collection[: SIZES[0]], K, unit_passages=True)
    full = queries @ collection[: SIZES[0]].T  # (BATCH, M)
    assert torch.equal(indices, full.argsort(dim=1, descending=True, stable=True)[:, :K])
    timings = harness.interleaved(calls, REPEATS, warmup=1, sync=sync)
    after = harness.load_average()
    load = harness.load_record(before, after)
    rows = []
    for m in SIZES:
        single, batch = timings[f"single/{m}"], timings[f"batch/{m}"]
        rows.append({
            "M": m,
            "single_query_seconds": list(single.seconds),
            "single_median_s": single.median,
            "single_min_s": single.min,
            "batch_seconds": list(batch.seconds),
            "batch_median_per_query_s": batch.median / BATCH,
            "batch_min_per_query_s": batch.min / BATCH,
            "collection_bytes": 4 * EMB_DIM * m,
        })
    fit = [r for r in rows if r["M"] >= FIT_FROM]
    exponents = {
        "single": retrieval.power_law_exponent([r["M"] for r in fit], [r["single_median_s"] for r in fit]),
        "batch": retrieval.power_law_exponent([r["M"] for r in fit], [r["batch_median_per_query_s"] for r in fit]),
    }
    summarised = not load["busy"]  # a busy machine's medians are kept raw, not summarised (harness)
    result = {
        "benchmark": NAME,
        "what": "exact cosine search (one matrix product + top-k) time per query against collection size M",
        "environment": harness.environment(dev),
        "settings": {"emb_dim": EMB_DIM, "sizes": list(SIZES), "batch": BATCH, "k": K, "repeats": REPEATS,
                     "fit_from": FIT_FROM, "threads": THREADS, "seed": SEED},
        "load": load,
        "rows": rows,
        **({"exponents": exponents} if summarised else {}),
    }
    lines = [
        "# Exact cosine search: time per query against collection size",
        "",
        f"D = {EMB_DIM}, float32, k = {K}, {THREADS} thread, median of {REPEATS} interleaved rounds; "
        f"load average before {before['1min']}, after {after['1min']} ({load['cpu_count']} cores).",
        "",
        "| M | one query (ms) | per query in a batch of 64 (ms) | collection (MB) |",
        "|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['M']:,} | {1e3 * r['single_median_s']:.3f} | {1e3 * r['batch_median_per_query_s']:.4f} | "
        f"{r['collection_bytes'] / 1e6:.1f} |" for r in rows
    ]
    if summarised:
        lines += ["", f"Exponent b of time ~ M^b over M >= {FIT_FROM:,}: one query {exponents['single']:.2f}, "
                  f"batched {exponents['batch']:.2f}."]
    harness.write_results(NAME, result, lines)


if __name__ == "__main__":
    main()
