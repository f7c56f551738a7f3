"""Benchmark labelsieve's kernels against its reference backend, cleanlab 2.9 and a NumPy floor.

Every measurement runs in a fresh child process (import, load inputs fully, warm up on a small
slice, gc, reset the peak-RSS mark, time the call) so that one call's allocations, caches and
leaked globals (cleanlab keeps a copy of pred_probs in a module global) cannot affect another.
The parent collects one JSON record per child, aggregates medians over fresh runs and prints a
markdown report (optionally written into benches/README.md between markers).

Run ``python benches/bench_kernels.py --help``; see benches/README.md for the usual invocations.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import hashlib
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
README = HERE / "README.md"
BEGIN_MARK = "<!-- BENCH-RESULTS:BEGIN -->"
END_MARK = "<!-- BENCH-RESULTS:END -->"
DEFAULT_CACHE = Path("/tmp/labelsieve-bench")

FILTERS = (
    "prune_by_noise_rate",
    "prune_by_class",
    "both",
    "confident_learning",
    "predicted_neq_given",
    "low_self_confidence",
    "low_normalized_margin",
)
LQS_METHODS = ("self_confidence", "normalized_margin", "confidence_weighted_entropy")
OPS = (
    "confident_joint",
    "py_noise",
    "num_label_issues",
    *(f"fli:{f}" for f in FILTERS),
    "fli_ranked:self_confidence",
    *(f"lqs:{m}" for m in LQS_METHODS),
    "health_summary",
)
FLOOR_OP = "np_sum"
LIBS = ("labelsieve", "reference", "cleanlab", "floor")
SLOW_LIBS = ("reference", "cleanlab")
FULL_SIZES = (
    (10_000, 10),
    (100_000, 10),
    (1_000_000, 10),
    (10_000_000, 10),
    (1_000_000, 100),
    (50_000, 1000),
)
QUICK_SIZES = ((20_000, 10),)
QUICK_OPS = ("confident_joint", "fli:prune_by_noise_rate")
TARGET_SIZES = ((1_000_000, 100), (10_000_000, 10))
SCALING_SIZES = ((10_000_000, 10),)
SCALING_OPS = (
    "confident_joint",
    "num_label_issues",
    "fli:prune_by_noise_rate",
    "fli:confident_learning",
    "fli:low_normalized_margin",
    "lqs:self_confidence",
    "lqs:normalized_margin",
    "health_summary",
)
SMALL_N = 10_000

# ---------------------------------------------------------------------------------------------
# Inputs


def make_case(n: int, k: int, noise: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic synthetic (labels int64, pred_probs float64) with class-conditional noise.

    Zipf-like prior (1/rank^0.8, shuffled class order); per-class flip rates noise*U(0.5, 1.5), 80%
    of flips to 1-3 confuser classes, 20% uniform; pred_probs = softmax of Gaussian logits + log prior
    + a margin on the true class + a partial boost on its confusers, with one temperature fitted so
    that mean(max prob) equals accuracy against the true labels.
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, n, k, round(noise * 1000)]))
    prior = 1.0 / np.arange(1, k + 1) ** 0.8
    prior = (prior / prior.sum())[rng.permutation(k)]
    true = rng.choice(k, size=n, p=prior).astype(np.int64)

    confusers: list[np.ndarray] = []
    weights: list[np.ndarray] = []
    boost = np.zeros((k, k))
    for c in range(k):
        m = int(rng.integers(1, 4)) if k > 2 else 1
        others = np.delete(np.arange(k), c)
        conf = rng.choice(others, size=min(m, k - 1), replace=False)
        w = rng.dirichlet(np.ones(conf.size))
        confusers.append(conf)
        weights.append(w)
        boost[c, conf] = rng.uniform(0.3, 0.7) * w

    labels = true.copy()
    rates = noise * rng.uniform(0.5, 1.5, size=k)
    flip = np.flatnonzero(rng.random(n) < rates[true])
    to_confuser = rng.random(flip.size) < 0.8
    uniform_idx = flip[~to_confuser]
    labels[uniform_idx] = (true[uniform_idx] + rng.integers(1, k, size=uniform_idx.size)) % k
    conf_idx = flip[to_confuser]
    order = np.argsort(true[conf_idx], kind="stable")
    conf_idx = conf_idx[order]
    bounds = np.searchsorted(true[conf_idx], np.arange(k + 1))
    for c in range(k):
        idx = conf_idx[bounds[c] : bounds[c + 1]]
        if idx.size:
            labels[idx] = rng.choice(confusers[c], size=idx.size, p=weights[c])

    mu = rng.uniform(1.5, 3.5, size=k) + 0.35 * np.log(k)
    logits = np.empty((n, k))
    log_prior = np.log(prior)
    chunk = max(1, 2_000_000 // k)
    for s in range(0, n, chunk):
        t = true[s : s + chunk]
        z = rng.standard_normal((t.size, k))
        z += log_prior
        margin = rng.normal(mu[t], 1.5)
        z[np.arange(t.size), t] += margin
        z += np.abs(margin)[:, None] * boost[t]
        logits[s : s + chunk] = z

    acc = float(np.mean(logits.argmax(axis=1) == true))
    sample = logits[: min(n, max(1000, 1_000_000 // k))]

    def mean_max(temp: float) -> float:
        z = sample / temp
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return float(np.mean(1.0 / e.sum(axis=1)))

    lo, hi = np.log(0.02), np.log(50.0)
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        if mean_max(float(np.exp(mid))) > acc:
            lo = mid
        else:
            hi = mid
    temp = float(np.exp(0.5 * (lo + hi)))
    for s in range(0, n, chunk):
        z = logits[s : s + chunk]
        z /= temp
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
    return labels, logits


def case_paths(cache: Path, n: int, k: int, dtype: str) -> tuple[Path, Path]:
    stem = cache / f"case_n{n}_k{k}_s0"
    return Path(f"{stem}_labels.npy"), Path(f"{stem}_pp_{dtype}.npy")


def ensure_case(cache: Path, n: int, k: int) -> None:
    """Generate and cache the inputs of one (n, k) as .npy files (f64, and f32 renormalised in f32)."""
    cache.mkdir(parents=True, exist_ok=True)
    lab_path, p64_path = case_paths(cache, n, k, "f64")
    _, p32_path = case_paths(cache, n, k, "f32")
    if lab_path.exists() and p64_path.exists() and p32_path.exists():
        return
    labels, pp = make_case(n, k)
    p32 = pp.astype(np.float32)
    p32 /= p32.sum(axis=1, keepdims=True, dtype=np.float32)
    for path, arr in ((lab_path, labels), (p64_path, pp), (p32_path, p32)):
        tmp = path.with_name(path.name + f".tmp{os.getpid()}.npy")
        np.save(tmp, arr)
        tmp.replace(path)


# ---------------------------------------------------------------------------------------------
# Child: one measurement


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _sha1(*parts: bytes) -> str:
    h = hashlib.sha1()
    for p in parts:
        h.update(p)
    return h.hexdigest()


def fingerprint(out: Any, decimals: int) -> dict[str, Any]:
    """Output summary that lets two libraries' results be compared without storing them."""

    def floats(a: Any) -> bytes:
        return np.round(np.asarray(a, dtype=np.float64), decimals).tobytes()

    if isinstance(out, dict):  # health_summary
        score = float(out["overall_label_health_score"])
        joint = np.asarray(out["joint"], dtype=np.float64)
        n_overlap = len(out["overlapping_classes"])
        return {
            "kind": "health",
            "sum": score,
            "count": n_overlap,
            "sha1": _sha1(floats(score), floats(joint), str(n_overlap).encode()),
        }
    if isinstance(out, tuple):  # py, noise_matrix, inverse_noise_matrix, confident_joint
        arrays = [np.asarray(a) for a in out]
        ints = [a for a in arrays if a.dtype.kind in "iu"]
        return {
            "kind": "tuple",
            "sum": float(sum(float(np.asarray(a, dtype=np.float64).sum()) for a in arrays)),
            "count": int(sum(int(a.sum()) for a in ints)),
            "sha1": _sha1(*(floats(a) for a in arrays)),
            "int_sha1": _sha1(*(a.astype(np.int64).tobytes() for a in ints)),
        }
    if np.isscalar(out) or (isinstance(out, np.ndarray) and out.ndim == 0):
        value = float(out)  # type: ignore[arg-type]
        return {"kind": "scalar", "sum": value, "count": None, "sha1": _sha1(floats(value))}
    arr = np.asarray(out)
    if arr.dtype == np.bool_:
        return {
            "kind": "mask",
            "sum": int(arr.sum()),
            "count": int(arr.sum()),
            "sha1": _sha1(np.packbits(arr).tobytes()),
        }
    if arr.dtype.kind in "iu":
        if arr.ndim == 1:  # ranked indices: order may differ on ties, the set may not
            a64 = arr.astype(np.int64)
            return {
                "kind": "index",
                "sum": int(a64.sum()),
                "count": int(a64.size),
                "sha1": _sha1(a64.tobytes()),
                "sorted_sha1": _sha1(np.sort(a64).tobytes()),
            }
        return {
            "kind": "int",
            "sum": int(arr.sum()),
            "count": None,
            "sha1": _sha1(arr.astype(np.int64).tobytes()),
        }
    return {
        "kind": "float",
        "sum": float(arr.astype(np.float64).sum()),
        "count": None,
        "sha1": _sha1(floats(arr)),
    }


def _callable(lib: str, op: str, threads: int | None) -> Callable[[np.ndarray, np.ndarray], Any]:
    if lib == "floor":
        return lambda labels, pp: pp.sum()
    if lib == "cleanlab":
        import cleanlab.count as count
        import cleanlab.dataset as dataset
        import cleanlab.filter as filt
        import cleanlab.rank as rank
    else:
        import labelsieve

        if lib == "reference":
            labelsieve.set_backend("python")
        elif threads is not None:
            labelsieve.set_num_threads(threads)
        count = labelsieve.count
        filt = labelsieve.filter
        rank = labelsieve.rank
        dataset = None
        if op == "health_summary":
            import labelsieve.dataset as dataset
    extra: dict[str, Any] = {} if threads is None or lib != "labelsieve" else {"n_jobs": threads}
    if op == "confident_joint":
        return lambda y, p: count.compute_confident_joint(y, p)
    if op == "py_noise":
        return lambda y, p: count.estimate_py_and_noise_matrices_from_probabilities(y, p)
    if op == "num_label_issues":
        return lambda y, p: count.num_label_issues(y, p)
    if op.startswith("fli:"):
        fb = op.split(":", 1)[1]
        return lambda y, p: filt.find_label_issues(y, p, filter_by=fb, **extra)
    if op.startswith("fli_ranked:"):
        rb = op.split(":", 1)[1]
        return lambda y, p: filt.find_label_issues(y, p, return_indices_ranked_by=rb, **extra)
    if op.startswith("lqs:"):
        method = op.split(":", 1)[1]
        return lambda y, p: rank.get_label_quality_scores(y, p, method=method)
    if op == "health_summary":
        assert dataset is not None
        return lambda y, p: dataset.health_summary(y, p, verbose=False)
    raise ValueError(f"unknown op {op!r}")


def run_child(spec: dict[str, Any]) -> dict[str, Any]:
    """Measure one call; returns the record (printed as the child's last stdout line)."""
    lib, op, n, k, dtype = spec["lib"], spec["op"], spec["n"], spec["k"], spec["dtype"]
    threads = spec.get("threads")
    rec: dict[str, Any] = dict(spec)
    try:
        fn = _callable(lib, op, threads)
    except Exception as exc:  # e.g. labelsieve.dataset not importable yet
        rec.update(status="unavailable", error=f"{type(exc).__name__}: {exc}")
        return rec
    lab_path, pp_path = case_paths(Path(spec["cache"]), n, k, dtype)
    labels = np.load(lab_path)
    pp = np.load(pp_path)
    rec["pp_mib"] = pp.nbytes / 2**20
    m = min(n, SMALL_N)
    with contextlib.suppress(Exception):  # a slice may miss classes; warm-up only loads code
        fn(labels[:m].copy(), np.ascontiguousarray(pp[:m]))
    gc.collect()
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    before = _status_kib("VmRSS")
    rec["loadavg"] = os.getloadavg()[0]
    times: list[float] = []
    out: Any = None
    first_peak = 0
    try:
        total = 0.0
        while True:
            out = None
            t0 = time.perf_counter()
            out = fn(labels, pp)
            dt = time.perf_counter() - t0
            if not times:
                first_peak = _status_kib("VmHWM")
            times.append(dt)
            total += dt
            if times[0] >= 0.2 or total >= 0.5 or len(times) >= 200:
                break
    except Exception as exc:
        rec.update(status="error", error=f"{type(exc).__name__}: {exc}")
        return rec
    peak = _status_kib("VmHWM")
    # Memory is the first call's: later repeats only add timing. Their peak (all_reps_*) can be
    # higher when the allocator keeps what one call freed and the next call allocates beside it
    # (glibc raises its mmap threshold after a large free), which is not the call's own need.
    rec.update(
        status="ok",
        time_s=statistics.median(times),
        reps=len(times),
        peak_mib=first_peak / 1024,
        before_mib=before / 1024,
        extra_mib=(first_peak - before) / 1024,
        all_reps_peak_mib=peak / 1024,
        all_reps_extra_mib=(peak - before) / 1024,
        out=fingerprint(out, 9 if dtype == "f64" else 5),
    )
    return rec


# ---------------------------------------------------------------------------------------------
# Parent: schedule children


def measure(spec: dict[str, Any], timeout: float) -> dict[str, Any]:
    env = dict(os.environ)
    if spec["lib"] == "reference":
        env["LABELSIEVE_BACKEND"] = "python"
    else:
        env.pop("LABELSIEVE_BACKEND", None)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(spec)]
    # own session so that a timed-out cleanlab call's pool workers die with it
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return {**spec, "status": "timeout", "error": f"no result within {timeout:.0f} s"}
    for line in reversed(stdout.splitlines()):
        if line.startswith("RESULT "):
            rec: dict[str, Any] = json.loads(line[len("RESULT ") :])
            return rec
    return {**spec, "status": "crash", "error": f"rc={proc.returncode}: {stderr.strip()[-500:]}"}


def parse_sizes(text: str) -> list[tuple[int, int]]:
    sizes = []
    for item in text.split(","):
        n, k = item.lower().replace("_", "").split("x")
        sizes.append((int(float(n)), int(k)))
    return sizes


def select_ops(patterns: str | None, default: Iterable[str]) -> list[str]:
    ops = list(default)
    if not patterns:
        return ops
    wanted = [p.strip() for p in patterns.split(",") if p.strip()]
    return [o for o in OPS if any(o == w or o.startswith(w + ":") or o.split(":")[0] == w for w in wanted)]


def plan(args: argparse.Namespace) -> list[dict[str, Any]]:
    """All child specs, run-major so that an interrupted run still covers every cell once."""
    quick = args.grid == "quick"
    sizes = parse_sizes(args.sizes) if args.sizes else list(QUICK_SIZES if quick else FULL_SIZES)
    dtypes = [d.strip() for d in (args.dtypes or ("f64" if quick else "f64,f32")).split(",")]
    libs = [lib.strip() for lib in args.libs.split(",")]
    ops = select_ops(args.ops, QUICK_OPS if quick else OPS)
    scaling = [] if (quick or args.no_scaling) else parse_sizes(args.scaling_sizes)
    slow_repeats = args.repeats if args.slow_repeats is None else args.slow_repeats
    specs = []
    for run in range(args.repeats):
        for n, k in sizes:
            for dtype in dtypes:
                base = {"n": n, "k": k, "dtype": dtype, "run": run, "cache": str(args.cache_dir)}
                if "floor" in libs:
                    specs.append({**base, "lib": "floor", "op": FLOOR_OP, "threads": None})
                for op in ops:
                    for lib in libs:
                        if lib == "floor" or (lib in SLOW_LIBS and run >= slow_repeats):
                            continue
                        specs.append({**base, "lib": lib, "op": op, "threads": None})
        if "labelsieve" in libs:
            for n, k in scaling:
                base = {"n": n, "k": k, "dtype": "f64", "run": run, "cache": str(args.cache_dir)}
                for op in select_ops(args.ops, SCALING_OPS):
                    for threads in (1, 2):
                        specs.append(
                            {**base, "lib": "labelsieve", "op": op, "threads": threads, "scaling": True}
                        )
    return specs


# ---------------------------------------------------------------------------------------------
# Report


def _fmt_t(t: float | None) -> str:
    if t is None:
        return "–"
    if t >= 1:
        return f"{t:.2f} s"
    if t >= 1e-3:
        return f"{t * 1e3:.3g} ms"
    return f"{t * 1e6:.3g} µs"


def _fmt_x(x: float | None) -> str:
    if x is None:
        return "–"
    return f"×{x:.0f}" if x >= 100 else f"×{x:.3g}"


def _size(n: int, k: int) -> str:
    return f"{n:,}×{k}"


def agreement(a: dict[str, Any] | None, b: dict[str, Any] | None, dtype: str) -> str:
    """How a labelsieve output compares with cleanlab's: exact / same set / close / DIFF."""
    if not a or not b:
        return "–"
    if a["sha1"] == b["sha1"]:
        return "exact"
    if a.get("sorted_sha1") and a.get("sorted_sha1") == b.get("sorted_sha1"):
        return "same set"
    if a.get("int_sha1") and a.get("int_sha1") == b.get("int_sha1"):
        return "close"  # integer confident joint identical, float matrices differ in the last digits
    tol = 1e-9 if dtype == "f64" else 1e-5
    if a["kind"] in ("float", "scalar", "health", "tuple") and a["count"] == b["count"]:
        if abs(a["sum"] - b["sum"]) <= tol * max(1.0, abs(b["sum"])):
            return "close"
    # cleanlab given float32 computes in float32 (its thresholds are float32 means); labelsieve's
    # parity rule is cleanlab on the float64 cast of the same values (DESIGN.md), so a float32
    # difference is marked for the legend's note rather than reported as a plain mismatch.
    mark = "" if dtype == "f64" else "†"
    if a.get("count") is not None and b.get("count") is not None:
        return f"DIFF{mark} (count {a['count']} vs {b['count']})"
    return f"DIFF{mark} (sum {a['sum']:.6g} vs {b['sum']:.6g})"


class Cell:
    """Median over fresh runs of one (lib, op, n, k, dtype, threads)."""

    def __init__(self, recs: list[dict[str, Any]]) -> None:
        ok = [r for r in recs if r.get("status") == "ok"]
        self.runs = len(ok)
        self.status = "ok" if ok else (recs[0].get("status", "?") if recs else "missing")
        self.error = "" if ok else (recs[0].get("error", "") if recs else "")
        self.time = statistics.median(r["time_s"] for r in ok) if ok else None
        self.peak = statistics.median(r["peak_mib"] for r in ok) if ok else None
        self.extra = statistics.median(r["extra_mib"] for r in ok) if ok else None
        self.pp_mib = ok[0]["pp_mib"] if ok else None
        self.out = ok[0]["out"] if ok else None
        self.consistent = len({r["out"]["sha1"] for r in ok}) <= 1


# What a measured build is made of (a change elsewhere, e.g. to this README, is not "dirty").
SOURCE_PATHS = ("rust", "python", "Cargo.toml", "Cargo.lock", "pyproject.toml")


def source_commit() -> str:
    """The checkout's commit (12 hex digits), with ``+dirty`` when tracked source files (the Rust
    crates, the Python package, the build files; not docs or benches) differ from it; ``unknown``
    outside git. Records carry it so that a report never mixes builds unawares (it is
    the build's commit when the extension was rebuilt after the last change)."""
    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no", "--", *SOURCE_PATHS],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def host_id() -> str:
    """The machine the records come from: its CPU model, the widest vectors it has of those
    ``wide.rs`` builds for, and its logical CPUs. The ratios to the floor depend on the host
    (its memory bandwidth against its per-core speed), so a report names the hosts it merges."""
    model, flags = "unknown CPU", set()
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if key.strip() == "model name" and model == "unknown CPU":
                model = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = set(value.split())
    level = "avx512f" if "avx512f" in flags else "avx2" if "avx2" in flags else "no avx2"
    return f"{model}, {level}, {os.cpu_count()} CPUs"


def records_by_host(recs: list[dict[str, Any]]) -> dict[str, int]:
    """Records per host (``unrecorded`` for records that predate the field), by host name."""
    return dict(sorted(Counter(r.get("host", "unrecorded") for r in recs).items()))


def commits_by_lib(recs: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Per library, the commits its records were measured at (``unrecorded`` for records that
    predate the field)."""
    out: dict[str, set[str]] = defaultdict(set)
    for r in recs:
        out[r["lib"]].add(r.get("commit", "unrecorded"))
    return {lib: sorted(c) for lib, c in sorted(out.items())}


def load_records(path: Path) -> list[dict[str, Any]]:
    recs = []
    with open(path) as fh:
        for line in fh:
            if line.strip():
                recs.append(json.loads(line))
    return recs


def aggregate(recs: list[dict[str, Any]]) -> dict[tuple[Any, ...], Cell]:
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for r in recs:
        key = (r["lib"], r["op"], r["n"], r["k"], r["dtype"], r.get("threads"))
        groups[key].append(r)
    return {key: Cell(v) for key, v in groups.items()}


def _mark(ok: bool | None) -> str:
    return "–" if ok is None else ("pass" if ok else "**MISS**")


FLI_LIKE = (*(o for o in OPS if o.startswith("fli")), "num_label_issues", "health_summary")
FLOOR2 = ("confident_joint", *(f"lqs:{m}" for m in LQS_METHODS))


def targets_for(
    op: str, n: int, k: int, ls: Cell, cl: Cell | None, floor: Cell | None
) -> list[tuple[str, bool | None, str]]:
    """(target, pass?, detail) for one labelsieve cell."""
    out: list[tuple[str, bool | None, str]] = []
    t, ft = ls.time, floor.time if floor else None
    big = (n, k) in TARGET_SIZES
    if big and op in FLI_LIKE and t:
        sp = cl.time / t if cl and cl.time else None
        out.append(("≥30× cleanlab", None if sp is None else sp >= 30, _fmt_x(sp)))
        if ft:
            out.append(("≤4× floor", t / ft <= 4, _fmt_x(t / ft)))
    if big and op in FLOOR2 and t and ft:
        out.append(("≤2× floor", t / ft <= 2, _fmt_x(t / ft)))
    if n * k >= 10_000_000 and ls.extra is not None and ls.pp_mib is not None:
        budget = 0.10 * ls.pp_mib + 16 * n / 2**20
        out.append(("extra ≤10%+16 B/ex", ls.extra <= budget, f"{ls.extra:.0f}/{budget:.0f} MiB"))
    if n == SMALL_N and k == 10 and t is not None:
        out.append(("<1 ms", t < 1e-3, _fmt_t(t)))
    return out


def report(recs: list[dict[str, Any]], command: str) -> str:
    cells = aggregate(recs)
    keys = {(r["n"], r["k"], r["dtype"]) for r in recs if not r.get("scaling")}
    sizes = sorted({(n, k) for n, k, _ in keys}, key=lambda s: (s[1], s[0]))
    dtypes = sorted({d for _, _, d in keys}, reverse=True)
    ops_present = [o for o in OPS if any(r["op"] == o for r in recs)]
    lines: list[str] = []
    w = lines.append
    load = [r["loadavg"] for r in recs if "loadavg" in r]
    w(f"Command: `{command}`  ")
    commits = "; ".join(f"{lib} {', '.join(c)}" for lib, c in commits_by_lib(recs).items())
    w(f"Commits: {commits}  ")
    w(f"Hosts: {'; '.join(f'{h} ({c} records)' for h, c in records_by_host(recs).items())}  ")
    w(
        f"Records: {len(recs)} child processes; runs per cell shown as `n=`. "
        f"1-min load average during calls: median {statistics.median(load):.1f}, max {max(load):.1f} (2 cores)."
        if load
        else f"Records: {len(recs)}."
    )
    w("")
    w(
        "Columns: time = median over fresh processes (short calls: median of in-process repeats); "
        "peak = VmHWM MiB after the first timed call (inputs + interpreter + call); extra = peak − RSS "
        "before the call; "
        "%pp = extra / pred_probs size; B/ex = extra bytes per example; ×floor = time / `pred_probs.sum()` "
        "time; speed-up = cleanlab time / labelsieve time; agree = labelsieve output vs cleanlab "
        "(exact = same bytes, same set = same indices in another tie order, close = equal to ~1e-9 (f64) / 1e-5 (f32); "
        "DIFF† = differs from cleanlab run on the float32 input, which computes its thresholds in float32: "
        "labelsieve's float32 results are those of cleanlab on the float64 cast of the same values, "
        "which tests/test_cleanlab_parity.py checks)."
    )
    misses: list[str] = []
    # Headline
    headline_dtypes = [d for d in dtypes if any((n, k, d) in keys for n, k in TARGET_SIZES)]
    if headline_dtypes:
        w("")
        w("### Headline: 1M×100 and 10M×10 (labelsieve)")
        w("")
    for dtype in headline_dtypes:
        hdr = "| op |" + "".join(
            f" {_size(n, k)} {dtype}: time / speed-up / ×floor / extra MiB |" for n, k in TARGET_SIZES
        )
        w(hdr)
        w("|---|" + "---|" * len(TARGET_SIZES))
        for op in ops_present:
            row = f"| {op} |"
            for n, k in TARGET_SIZES:
                ls = cells.get(("labelsieve", op, n, k, dtype, None))
                cl = cells.get(("cleanlab", op, n, k, dtype, None))
                fl = cells.get(("floor", FLOOR_OP, n, k, dtype, None))
                if not ls or ls.time is None:
                    row += f" {ls.status if ls else '–'} |"
                    continue
                sp = cl.time / ls.time if cl and cl.time else None
                fx = ls.time / fl.time if fl and fl.time else None
                row += f" {_fmt_t(ls.time)} / {_fmt_x(sp)} / {_fmt_x(fx)} / {ls.extra:.0f} |"
            w(row)
        w("")
    # Per cell
    for n, k in sizes:
        for dtype in dtypes:
            fl = cells.get(("floor", FLOOR_OP, n, k, dtype, None))
            if not any(key[2:5] == (n, k, dtype) for key in cells):
                continue
            pp_mib = n * k * (8 if dtype == "f64" else 4) / 2**20
            w(
                f"### {_size(n, k)} {dtype} (pred_probs {pp_mib:.0f} MiB; floor {_fmt_t(fl.time if fl else None)})"
            )
            w("")
            w(
                "| op | labelsieve time | peak | extra (%pp, B/ex) | ×floor | reference time | cleanlab time "
                "| cleanlab peak / extra | speed-up | agree | targets |"
            )
            w("|---|---|---|---|---|---|---|---|---|---|---|")
            for op in ops_present:
                ls = cells.get(("labelsieve", op, n, k, dtype, None))
                ref = cells.get(("reference", op, n, k, dtype, None))
                cl = cells.get(("cleanlab", op, n, k, dtype, None))
                if not (ls or ref or cl):
                    continue

                def tcell(c: Cell | None) -> str:
                    if c is None:
                        return "–"
                    if c.time is None:
                        return f"{c.status}"
                    return f"{_fmt_t(c.time)} (n={c.runs})"

                if ls and ls.time is not None:
                    assert ls.extra is not None and ls.peak is not None
                    pct = 100 * ls.extra / pp_mib
                    bpe = ls.extra * 2**20 / n
                    mem = f"{ls.peak:.0f} | {ls.extra:.1f} ({pct:.0f}%, {bpe:.1f})"
                    fx = _fmt_x(ls.time / fl.time) if fl and fl.time else "–"
                    sp = _fmt_x(cl.time / ls.time) if cl and cl.time else "–"
                    tg = targets_for(op, n, k, ls, cl, fl)
                    for name, ok, detail in tg:
                        if ok is False:
                            misses.append(f"{_size(n, k)} {dtype} {op}: {name} missed ({detail})")
                    tgs = "; ".join(f"{name} {_mark(ok)} ({detail})" for name, ok, detail in tg) or "–"
                else:
                    mem, fx, sp, tgs = "– | –", "–", "–", "–"
                agree = agreement(ls.out if ls else None, cl.out if cl else None, dtype)
                if ls and not ls.consistent:
                    agree += " (labelsieve runs disagree!)"
                clm = (
                    f"{cl.peak:.0f} / {cl.extra:.0f}"
                    if cl and cl.peak is not None and cl.extra is not None
                    else "–"
                )
                w(
                    f"| {op} | {tcell(ls)} | {mem} | {fx} | {tcell(ref)} | {tcell(cl)} | {clm} | {sp} | {agree} | {tgs} |"
                )
            w("")
    # Scaling
    scal = [r for r in recs if r.get("scaling")]
    if scal:
        w("### Thread scaling (labelsieve, `set_num_threads` + `n_jobs`), target 2 threads ≥ 1.7× faster")
        w("")
        w("| case | op | 1 thread | 2 threads | speed-up | target |")
        w("|---|---|---|---|---|---|")
        for n, k, dtype in sorted({(r["n"], r["k"], r["dtype"]) for r in scal}):
            for op in ops_present:
                c1 = cells.get(("labelsieve", op, n, k, dtype, 1))
                c2 = cells.get(("labelsieve", op, n, k, dtype, 2))
                if not c1 or not c2 or c1.time is None or c2.time is None:
                    continue
                s = c1.time / c2.time
                if s < 1.7:
                    misses.append(f"{_size(n, k)} {dtype} {op}: 2-thread scaling {s:.2f}× < 1.7×")
                w(
                    f"| {_size(n, k)} {dtype} | {op} | {_fmt_t(c1.time)} | {_fmt_t(c2.time)} | ×{s:.2f} | {_mark(s >= 1.7)} |"
                )
        w("")
    bad = [
        f"{key[0]} {key[1]} {_size(key[2], key[3])} {key[4]}: {c.status} {c.error[:160]}"
        for key, c in sorted(cells.items(), key=lambda kv: str(kv[0]))
        if c.time is None
    ]
    if bad:
        w("### Unavailable / failed")
        w("")
        for b in bad:
            w(f"- {b}")
        w("")
    w("### Targets missed")
    w("")
    for m in misses or ["none"]:
        w(f"- {m}")
    return "\n".join(lines)


def write_readme(text: str, path: Path = README) -> None:
    body = path.read_text() if path.exists() else f"{BEGIN_MARK}\n{END_MARK}\n"
    if BEGIN_MARK not in body or END_MARK not in body:
        body += f"\n{BEGIN_MARK}\n{END_MARK}\n"
    head, rest = body.split(BEGIN_MARK, 1)
    _, tail = rest.split(END_MARK, 1)
    path.write_text(f"{head}{BEGIN_MARK}\n{text}\n{END_MARK}{tail}")


# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--grid", choices=("full", "quick"), default="full", help="default sizes/ops/dtypes")
    ap.add_argument("--quick", action="store_const", const="quick", dest="grid", help="same as --grid quick")
    ap.add_argument("--sizes", help="comma list of NxK, e.g. 1000000x100,10000000x10 (overrides --grid)")
    ap.add_argument("--dtypes", help="comma list of f64,f32 (default both; quick: f64)")
    ap.add_argument("--libs", default=",".join(LIBS), help=f"comma list of {','.join(LIBS)}")
    ap.add_argument("--ops", help="comma list of ops or families (fli, lqs, ...); default all")
    ap.add_argument("--repeats", type=int, default=3, help="fresh processes per cell (median)")
    ap.add_argument(
        "--slow-repeats", type=int, help="fresh processes per cell for reference/cleanlab (default --repeats)"
    )
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per child process")
    ap.add_argument("--scaling-sizes", default=",".join(f"{n}x{k}" for n, k in SCALING_SIZES))
    ap.add_argument("--no-scaling", action="store_true", help="skip the 1- vs 2-thread rows")
    ap.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE, help="where inputs are cached as .npy")
    ap.add_argument("--json", type=Path, help="append raw records (JSON lines) to this file")
    ap.add_argument(
        "--report-from", type=Path, nargs="+", help="only build the report from these JSONL files"
    )
    ap.add_argument("--write-readme", action="store_true", help="put the report in benches/README.md")
    ap.add_argument(
        "--allow-mixed-commits",
        action="store_true",
        help="let --report-from merge labelsieve records measured at different commits",
    )
    ap.add_argument(
        "--allow-mixed-hosts",
        action="store_true",
        help="let --report-from merge records taken on different hosts (the ratios then compare hosts)",
    )
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child:
        rec = run_child(json.loads(args.child))
        print("RESULT " + json.dumps(rec), flush=True)
        return 0

    command = "python benches/bench_kernels.py " + " ".join(argv if argv is not None else sys.argv[1:])
    if args.report_from:
        recs = [r for p in args.report_from for r in load_records(p)]
        ours = commits_by_lib(recs).get("labelsieve", [])
        if len(ours) > 1 and not args.allow_mixed_commits:
            print(
                f"error: the labelsieve records come from several commits ({', '.join(ours)}); "
                "pass files from one build, or --allow-mixed-commits",
                file=sys.stderr,
            )
            return 2
        hosts = [h for h in records_by_host(recs) if h != "unrecorded"]
        if len(hosts) > 1 and not args.allow_mixed_hosts:
            print(
                f"error: the records come from several hosts ({'; '.join(hosts)}); a ratio to the "
                "floor or to cleanlab is only meaningful on one host: pass files from one host, or "
                "--allow-mixed-hosts",
                file=sys.stderr,
            )
            return 2
    else:
        specs = plan(args)
        for n, k in sorted({(s["n"], s["k"]) for s in specs}):
            t0 = time.perf_counter()
            ensure_case(args.cache_dir, n, k)
            print(
                f"# inputs {_size(n, k)} ready ({time.perf_counter() - t0:.1f} s)",
                file=sys.stderr,
                flush=True,
            )
        recs = []
        commit, host = source_commit(), host_id()
        if args.json and args.json.exists() and args.json.stat().st_size > 0:
            held = commits_by_lib(load_records(args.json))
            print(f"# note: appending to {args.json}, which already holds records ({held})", file=sys.stderr)
        jf = open(args.json, "a") if args.json else None
        try:
            for i, spec in enumerate(specs, 1):
                rec = measure(spec, args.timeout)
                rec.update(commit=commit, host=host, at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
                recs.append(rec)
                if jf:
                    jf.write(json.dumps(rec) + "\n")
                    jf.flush()
                t = _fmt_t(rec.get("time_s")) if rec.get("status") == "ok" else rec.get("status")
                print(
                    f"[{i}/{len(specs)}] run{spec['run']} {spec['lib']:<10} {spec['op']:<28} "
                    f"{_size(spec['n'], spec['k'])} {spec['dtype']} thr={spec['threads']}: {t}",
                    file=sys.stderr,
                    flush=True,
                )
        finally:
            if jf:
                jf.close()
    text = report(recs, command)
    print(text)
    if args.write_readme:
        write_readme(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
