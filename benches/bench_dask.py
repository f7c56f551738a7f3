"""Benchmark ``labelsieve.dask`` on a local ``dask.distributed`` cluster against the in-memory
functions on the same data, with ``pred_probs.sum()`` in memory as the floor.

The data (float32 ``pred_probs``, int64 noisy labels) is generated deterministically on the
workers, chunk by chunk from ``--seed`` (so it also depends on ``--chunk-rows``), and persisted there; the in-memory side gathers it to this
process. Every Dask result is checked equal to the in-memory one. Prints a markdown table;
``--json PATH`` appends one JSON record per run. Needs a few GB of RAM at 10M x 10::

    python benches/bench_dask.py --rows 10000000 --classes 10 --chunk-rows 500000 --json /tmp/bench_dask.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np


def make_chunk(seed: int, index: int, rows: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows of chunk ``index``: peaked softmax pred_probs (float32, rows renormalised) and labels
    with 15% flipped at random, so every filter flags something."""
    rng = np.random.default_rng([seed, index])
    true = rng.integers(0, k, rows)
    logits = rng.normal(0.0, 1.0, (rows, k))
    logits[np.arange(rows), true] += rng.uniform(0.5, 4.0, rows)
    probs = np.exp(logits)
    probs /= probs.sum(axis=1, keepdims=True)
    probs = probs.astype(np.float32)
    probs /= probs.sum(axis=1, keepdims=True, dtype=np.float32)
    labels = true
    flip = rng.random(rows) < 0.15
    labels[flip] = rng.integers(0, k, int(flip.sum()))
    return labels, probs


def make_dask_data(rows: int, k: int, chunk_rows: int, seed: int) -> tuple[Any, Any]:
    import dask
    import dask.array as da

    sizes = [min(chunk_rows, rows - start) for start in range(0, rows, chunk_rows)]
    parts = [dask.delayed(make_chunk, nout=2)(seed, i, n, k) for i, n in enumerate(sizes)]
    labels = da.concatenate(
        [da.from_delayed(p[0], shape=(n,), dtype=np.int64) for p, n in zip(parts, sizes, strict=True)]
    )
    probs = da.concatenate(
        [da.from_delayed(p[1], shape=(n, k), dtype=np.float32) for p, n in zip(parts, sizes, strict=True)]
    )
    return labels, probs


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Best wall time over ``repeat`` calls, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--chunk-rows", type=int, default=500_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads-per-worker", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1, help="best of this many runs per measurement")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--backend", choices=("rust", "python"), default="rust")
    parser.add_argument("--json", metavar="PATH", help="append one JSON record to this file")
    args = parser.parse_args(argv)

    from dask.distributed import Client, LocalCluster, wait

    import labelsieve
    import labelsieve.dask as lsd
    from labelsieve import count, filter, rank

    labelsieve.set_backend(args.backend)
    cluster = LocalCluster(
        n_workers=args.workers,
        threads_per_worker=args.threads_per_worker,
        processes=True,
        dashboard_address=None,
        host="127.0.0.1",
    )
    client = Client(cluster)
    try:
        labels, probs = make_dask_data(args.rows, args.classes, args.chunk_rows, args.seed)
        start = time.perf_counter()
        labels, probs = client.persist([labels, probs])
        wait([labels, probs])
        generate = time.perf_counter() - start

        dask_fli, mask = timed(lambda: lsd.find_label_issues(labels, probs).compute(), args.repeat)
        dask_cj, cj = timed(lambda: lsd.compute_confident_joint(labels, probs), args.repeat)
        dask_lqs, scores = timed(lambda: lsd.get_label_quality_scores(labels, probs).compute(), args.repeat)

        start = time.perf_counter()
        labels_np, probs_np = client.compute([labels, probs], sync=True)
        gather = time.perf_counter() - start
        mem_fli, mem_mask = timed(lambda: filter.find_label_issues(labels_np, probs_np), args.repeat)
        mem_cj, mem_cj_result = timed(lambda: count.compute_confident_joint(labels_np, probs_np), args.repeat)
        mem_lqs, mem_scores = timed(lambda: rank.get_label_quality_scores(labels_np, probs_np), args.repeat)
        floor, _ = timed(lambda: probs_np.sum(), args.repeat)

        equal = {
            "find_label_issues": bool(np.array_equal(mask, mem_mask)),
            "compute_confident_joint": bool(np.array_equal(cj, mem_cj_result)),
            "get_label_quality_scores": bool(np.array_equal(scores, mem_scores)),
        }
        rows = [
            ("find_label_issues (prune_by_noise_rate)", dask_fli, mem_fli),
            ("compute_confident_joint", dask_cj, mem_cj),
            ("get_label_quality_scores (self_confidence)", dask_lqs, mem_lqs),
        ]
    finally:
        client.close()
        cluster.close()

    print(
        f"\n{args.rows:,} x {args.classes} float32, {args.rows // args.chunk_rows} chunks of "
        f"{args.chunk_rows:,} rows; LocalCluster {args.workers} workers x {args.threads_per_worker} thread; "
        f"backend {args.backend}; {os.cpu_count()} CPUs; best of {args.repeat}\n"
    )
    print("| operation | labelsieve.dask (s) | in memory (s) | dask / in memory | equal |")
    print("|---|---:|---:|---:|---|")
    for (name, d, m), ok in zip(rows, equal.values(), strict=True):
        print(f"| {name} | {d:.3f} | {m:.3f} | {d / m:.2f}x | {'yes' if ok else 'NO'} |")
    print(f"| floor: `pred_probs.sum()` in memory | | {floor:.3f} | | |")
    print(
        f"\nflagged {int(mem_mask.sum()):,} rows; generate + persist on workers {generate:.2f} s, "
        f"gather to client {gather:.2f} s"
    )
    if args.json:
        record = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "rows": args.rows,
            "classes": args.classes,
            "chunk_rows": args.chunk_rows,
            "workers": args.workers,
            "threads_per_worker": args.threads_per_worker,
            "backend": args.backend,
            "repeat": args.repeat,
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "seconds": {
                "dask": {
                    "find_label_issues": dask_fli,
                    "compute_confident_joint": dask_cj,
                    "get_label_quality_scores": dask_lqs,
                },
                "in_memory": {
                    "find_label_issues": mem_fli,
                    "compute_confident_joint": mem_cj,
                    "get_label_quality_scores": mem_lqs,
                },
                "floor_sum": floor,
                "generate_persist": generate,
                "gather": gather,
            },
            "flagged": int(mem_mask.sum()),
            "equal": equal,
        }
        with open(args.json, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")
    return 0 if all(equal.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
