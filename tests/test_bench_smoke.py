"""Smoke test of benches/bench_kernels.py: a tiny --quick grid must give well-formed records in which
labelsieve's outputs agree with cleanlab's (no timing assertions)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benches" / "bench_kernels.py"

pytest.importorskip("cleanlab")


def test_quick_grid_records_agree(tmp_path: Path) -> None:
    out = tmp_path / "records.jsonl"
    cmd = [sys.executable, str(BENCH), "--quick", "--repeats", "1", "--cache-dir", str(tmp_path / "cache")]
    proc = subprocess.run([*cmd, "--json", str(out)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "| op |" in proc.stdout and "Targets missed" in proc.stdout

    recs = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    assert {r["lib"] for r in recs} == {"labelsieve", "reference", "cleanlab", "floor"}
    by_key = {(r["lib"], r["op"]): r for r in recs}
    ops = {r["op"] for r in recs if r["lib"] != "floor"}
    assert ops == {"confident_joint", "fli:prune_by_noise_rate"}
    for r in recs:
        assert r["status"] == "ok", r
        assert (r["n"], r["k"], r["dtype"]) == (20_000, 10, "f64")
        assert r["time_s"] > 0 and r["reps"] >= 1
        assert r["peak_mib"] >= r["before_mib"] > 0
        assert r["extra_mib"] >= 0 and r["pp_mib"] > 0
        # Memory is the first call's; repeats can only raise the high-water mark.
        assert r["all_reps_peak_mib"] >= r["peak_mib"]
        assert r["all_reps_extra_mib"] >= r["extra_mib"]
        assert set(r["out"]) >= {"kind", "sum", "count", "sha1"}
    for op in ops:
        ls, ref, cl = (by_key[(lib, op)]["out"] for lib in ("labelsieve", "reference", "cleanlab"))
        assert ls["sha1"] == cl["sha1"], (op, ls, cl)
        assert ref["sha1"] == cl["sha1"], (op, ref, cl)
    assert by_key[("labelsieve", "fli:prune_by_noise_rate")]["out"]["count"] > 0

    # Every record names the commit it was measured at; a report refuses to merge labelsieve
    # records of two commits unless told to, and says which commits it merged.
    commits = {r["commit"] for r in recs}
    assert len(commits) == 1 and all(r["at"].endswith("Z") for r in recs), commits
    # ... and the host (CPU model, vector level, CPUs), which the report lists.
    hosts = {r["host"] for r in recs}
    assert len(hosts) == 1 and f"{os.cpu_count()} CPUs" in next(iter(hosts)), hosts
    other = tmp_path / "other.jsonl"
    other.write_text("".join(json.dumps({**r, "commit": "0" * 12}) + "\n" for r in recs))
    report = [sys.executable, str(BENCH), "--report-from", str(out), str(other)]
    mixed = subprocess.run(report, capture_output=True, text=True, timeout=120)
    assert mixed.returncode == 2 and "0" * 12 in mixed.stderr and commits.pop() in mixed.stderr
    allowed = subprocess.run([*report, "--allow-mixed-commits"], capture_output=True, text=True, timeout=120)
    assert allowed.returncode == 0, allowed.stderr
    assert "Commits: cleanlab" in allowed.stdout and "0" * 12 in allowed.stdout
    host = hosts.pop()
    assert f"Hosts: {host} ({2 * len(recs)} records)" in allowed.stdout
    # Records of another host are refused in the same way (the ratios would compare hosts).
    elsewhere = tmp_path / "elsewhere.jsonl"
    elsewhere.write_text("".join(json.dumps({**r, "host": "Other CPU, avx2, 2 CPUs"}) + "\n" for r in recs))
    hosted = [sys.executable, str(BENCH), "--report-from", str(out), str(elsewhere)]
    refused = subprocess.run(hosted, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "Other CPU" in refused.stderr and host in refused.stderr
    merged = subprocess.run([*hosted, "--allow-mixed-hosts"], capture_output=True, text=True, timeout=120)
    assert merged.returncode == 0, merged.stderr
    listed = next(line for line in merged.stdout.splitlines() if line.startswith("Hosts: "))
    assert sorted(listed.removeprefix("Hosts: ").strip().split("; ")) == sorted(
        [f"Other CPU, avx2, 2 CPUs ({len(recs)} records)", f"{host} ({len(recs)} records)"]
    ), listed
