"""Out-of-core benchmark: ``find_label_issues_batched`` on memory-mapped ``.npy`` files larger than
the memory it may use (issue 6: 10M x 100 float32 = 4 GB under 600 MB peak RSS).

Each measurement runs in a fresh child process and reports wall time, peak resident memory
(``VmHWM``, interpreter included) and the floor: one batched pass of ``np.sum`` over the same
memory-mapped file with the same page release. The files are read once first so that every
measurement finds them in the page cache (the figures are compute and memory-bandwidth bound, not
disk bound). With ``--check`` a further child loads the inputs
fully and checks that the streamed mask equals in-memory ``filter.find_label_issues``.

    python benches/bench_batched.py                      # 10M x 100 float32, default + prune_by_noise_rate
    python benches/bench_batched.py --n 1000000 --check  # smaller, with the in-memory equality check
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

CACHE = Path(os.environ.get("LABELSIEVE_BENCH_CACHE", "/tmp/labelsieve-bench"))


def make_files(n: int, k: int, seed: int = 0, chunk: int = 250_000) -> tuple[Path, Path]:
    """Deterministic noisy labels and float32 pred_probs written chunk by chunk (never all in RAM)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    lp, pp = CACHE / f"batched_labels_{n}x{k}.npy", CACHE / f"batched_pred_probs_{n}x{k}_f32.npy"
    if lp.exists() and pp.exists():
        return lp, pp
    labels = np.lib.format.open_memmap(lp, mode="w+", dtype=np.int64, shape=(n,))
    with open(pp, "wb") as f:
        np.lib.format.write_array_header_1_0(
            f,
            {
                "descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)),
                "fortran_order": False,
                "shape": (n, k),
            },
        )
        for lo in range(0, n, chunk):
            rng = np.random.default_rng([seed, lo])
            m = min(chunk, n - lo)
            true = rng.integers(0, k, m)
            logits = rng.normal(0, 1, (m, k)).astype(np.float32)
            logits[np.arange(m), true] += rng.uniform(0.5, 5, m).astype(np.float32)
            probs = np.exp(logits)
            probs /= probs.sum(axis=1, keepdims=True)
            given = true.copy()
            flip = rng.random(m) < 0.1
            given[flip] = rng.integers(0, k, int(flip.sum()))
            labels[lo : lo + m] = given
            f.write(np.ascontiguousarray(probs, dtype=np.float32).tobytes())
    labels.flush()
    del labels
    return lp, pp


CHILD = r"""
import hashlib, json, sys, time
import numpy as np
args = json.loads(sys.argv[1])
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
import labelsieve
from labelsieve.experimental import label_issues_batched as lib
before = rss()
t = time.perf_counter()
if args["op"] == "floor":
    mm = np.load(args["pp"], mmap_mode="r")
    total = 0.0
    for lo in range(0, mm.shape[0], args["batch"]):
        total += float(mm[lo : lo + args["batch"]].sum())
        lib._release(mm, lo, min(lo + args["batch"], mm.shape[0]))
    out = {"sum": total}
elif args["op"] == "in_memory":
    from labelsieve import filter
    labels, probs = np.load(args["lp"]), np.load(args["pp"])
    before = rss()
    t = time.perf_counter()
    fb = "low_self_confidence" if args["filter_by"] == "default" else args["filter_by"]
    mask = filter.find_label_issues(labels, probs, filter_by=fb)
    out = {"count": int(mask.sum()), "sha1": hashlib.sha1(np.flatnonzero(mask).astype(np.int64).tobytes()).hexdigest()}
else:
    kw = {} if args["filter_by"] == "default" else {"filter_by": args["filter_by"]}
    idx = lib.find_label_issues_batched(labels_file=args["lp"], pred_probs_file=args["pp"],
                                        batch_size=args["batch"], n_jobs=None, verbose=False, **kw)
    out = {"count": int(idx.size), "sha1": hashlib.sha1(idx.astype(np.int64).tobytes()).hexdigest()}
out["seconds"] = time.perf_counter() - t
hwm = [int(l.split()[1]) / 1024 for l in open("/proc/self/status") if l.startswith("VmHWM")][0]
out.update(peak_mib=hwm, rss_before_mib=before)
print(json.dumps(out))
"""


def warm_page_cache(*paths: Path) -> None:
    """Read the files once so every measurement sees them in the page cache (not the disk)."""
    for path in paths:
        with open(path, "rb", buffering=0) as f:
            while f.read(64 << 20):
                pass


def child(**args: object) -> dict:
    res = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(args)], capture_output=True, text=True, check=False
    )
    if res.returncode != 0:
        raise RuntimeError(res.stderr[-3000:])
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10_000_000)
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--batch", type=int, default=100_000)
    ap.add_argument("--filters", default="default,prune_by_noise_rate")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--check", action="store_true", help="also run in memory and compare")
    ap.add_argument("--json", help="append records to this JSON-lines file")
    a = ap.parse_args()
    t = time.perf_counter()
    lp, pp = make_files(a.n, a.k)
    size_mib = pp.stat().st_size / 2**20
    print(
        f"inputs: {a.n:,} x {a.k} float32 = {size_mib:,.0f} MiB ({time.perf_counter() - t:.0f} s to prepare)"
    )
    records = []
    warm_page_cache(lp, pp)
    floor = [child(op="floor", lp=str(lp), pp=str(pp), batch=a.batch) for _ in range(a.repeats)]
    floor_s = float(np.median([f["seconds"] for f in floor]))
    print("| op | time | × floor | peak RSS MiB | issues |")
    print("|---|---|---|---|---|")
    print(
        f"| np.sum floor (batched mmap) | {floor_s:.2f} s | 1.0 | {max(f['peak_mib'] for f in floor):.0f} | – |"
    )
    for fb in a.filters.split(","):
        runs = [
            child(op="batched", lp=str(lp), pp=str(pp), batch=a.batch, filter_by=fb) for _ in range(a.repeats)
        ]
        sec = float(np.median([r["seconds"] for r in runs]))
        peak = max(r["peak_mib"] for r in runs)
        rec = {
            "n": a.n,
            "k": a.k,
            "batch": a.batch,
            "filter_by": fb,
            "seconds": sec,
            "floor_seconds": floor_s,
            "peak_mib": peak,
            "input_mib": size_mib,
            "count": runs[0]["count"],
        }
        if a.check:
            mem = child(op="in_memory", lp=str(lp), pp=str(pp), batch=a.batch, filter_by=fb)
            rec["in_memory_seconds"] = mem["seconds"]
            rec["equal_to_in_memory"] = mem["sha1"] == runs[0]["sha1"]
        records.append(rec)
        extra = f", equal to in-memory: {rec['equal_to_in_memory']}" if a.check else ""
        print(
            f"| batched {fb} | {sec:.2f} s | {sec / floor_s:.1f} | {peak:.0f} | {runs[0]['count']:,}{extra} |"
        )
    if a.json:
        with open(a.json, "a") as f:
            for r in records:
                f.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main()
