#!/usr/bin/env python3
"""Runs loop_bench and prints herd against libuv, scenario by scenario.

Every scenario runs as herd/<scenario> and libuv/<scenario> in the same process, repeated with
Google Benchmark's random interleaving (the repetitions of all benchmarks are shuffled together,
so slow drifts of the machine hit both sides alike). Each side's number is the median of the
repetitions (Google Benchmark's "median" aggregate); the spread column shows min..max.

  ratio = libuv time / herd time      (> 1.0: herd is faster)
  for tcp_pump the ratio is of bytes/s: herd bytes/s / libuv bytes/s (> 1.0: herd is faster)

The time is wall-clock; "cpu ratio" compares the whole process's CPU time (pool and sender
threads included) the same way.

The verdict column says whether the runs settle the question:
  ahead     every herd repetition beat every libuv repetition (herd's worst is better than
            libuv's best): the margin is outside the spread
  behind    the reverse
  overlap   the two ranges overlap: the median ratio alone decides nothing; repeat on a quieter
            machine or with more repetitions

Usage: bench/compare.py [--bench build/bin/loop_bench] [--repetitions 5] [--filter REGEX]
                        [--json-out FILE] [--json-in FILE]
Python 3 standard library only.
"""

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys

UNIT_TO_MS = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}


def default_bench():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.path.join(root, "build", "bin", "loop_bench")


def split_name(run_name):
    """'herd/tcp_pump/iterations:2/real_time' -> ('herd', 'tcp_pump')."""
    parts = run_name.split("/")
    if len(parts) < 2 or parts[0] not in ("herd", "libuv"):
        return None
    return parts[0], parts[1]


def collect(report):
    """Returns {scenario: {impl: {"median": entry, "runs": [entries]}}}."""
    table = {}
    for b in report.get("benchmarks", []):
        key = split_name(b.get("run_name", b["name"]))
        if key is None:
            continue
        impl, scenario = key
        slot = table.setdefault(scenario, {}).setdefault(impl, {"median": None, "runs": []})
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                slot["median"] = b
        elif "error_occurred" not in b or not b["error_occurred"]:
            slot["runs"].append(b)
    return table


def ms(entry, field):
    return entry[field] * UNIT_TO_MS[entry.get("time_unit", "ns")]


def median_of(slot, getter):
    if slot["median"] is not None:
        return getter(slot["median"])
    return statistics.median(getter(r) for r in slot["runs"])


def spread(slot, getter, fmt):
    values = [getter(r) for r in slot["runs"]]
    if not values:
        return "-"
    return f"{fmt(min(values))}..{fmt(max(values))}"


def verdict(herd_values, uv_values, higher_is_better):
    """'ahead', 'behind' or 'overlap' (see the module docstring)."""
    if not herd_values or not uv_values:
        return "-"
    if higher_is_better:
        herd_values = [-v for v in herd_values]
        uv_values = [-v for v in uv_values]
    if max(herd_values) < min(uv_values):
        return "ahead"
    if min(herd_values) > max(uv_values):
        return "behind"
    return "overlap"


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", default=default_bench(), help="the loop_bench binary")
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--filter", help="--benchmark_filter regex (matches herd/ and libuv/)")
    parser.add_argument("--json-out", help="also save the raw Google Benchmark JSON here")
    parser.add_argument("--json-in", help="do not run: read a JSON report saved earlier")
    args = parser.parse_args()

    if args.json_in:
        with open(args.json_in) as f:
            report = json.load(f)
        print(f"report: {args.json_in}")
    else:
        cmd = [args.bench, "--benchmark_format=json",
               f"--benchmark_repetitions={args.repetitions}",
               "--benchmark_enable_random_interleaving=true"]
        if args.filter:
            cmd.append(f"--benchmark_filter={args.filter}")
        print("command:", shlex.join(cmd), flush=True)
        load_before = os.getloadavg()[0]
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
        load_after = os.getloadavg()[0]
        if proc.returncode != 0:
            sys.exit(f"loop_bench exited with status {proc.returncode}")
        report = json.loads(proc.stdout)
        if args.json_out:
            with open(args.json_out, "w") as f:
                f.write(proc.stdout)
        # loop_bench itself keeps about one core busy (two in pool_roundtrips, async_wakeups):
        # a 1-minute load average well above that means something else competed for the CPUs.
        print(f"load average (1 min): {load_before:.2f} before, {load_after:.2f} after")
        if max(load_before, load_after) > 2.5:
            print("WARNING: the machine was busy with other work; expect noisy numbers")

    ctx = report.get("context", {})
    print("context: {} cpus, {} MHz, libbenchmark build {}, libuv {}, pools: herd {} / libuv {}, "
          "scale 1/{}, {}".format(
              ctx.get("num_cpus"), ctx.get("mhz_per_cpu"), ctx.get("library_build_type"),
              ctx.get("libuv_version"), ctx.get("herd_threadpool_size"),
              ctx.get("libuv_threadpool_size"), ctx.get("loop_bench_scale"), ctx.get("date")))
    print()

    rows = []
    missing = []
    for scenario, sides in collect(report).items():
        if "herd" not in sides or "libuv" not in sides:
            missing.append(scenario)
            continue
        h, u = sides["herd"], sides["libuv"]
        cpu = lambda e: ms(e, "cpu_time")
        cpu_ratio = median_of(u, cpu) / median_of(h, cpu)
        if scenario == "tcp_pump":
            bps = lambda e: e["bytes_per_second"] / 2**20
            hv, uv = median_of(h, bps), median_of(u, bps)
            fmt = lambda v: f"{v:.0f}"
            rows.append((scenario, "MiB/s", fmt(hv), fmt(uv), hv / uv, cpu_ratio,
                         spread(h, bps, fmt), spread(u, bps, fmt),
                         verdict([bps(r) for r in h["runs"]], [bps(r) for r in u["runs"]], True)))
        else:
            real = lambda e: ms(e, "real_time")
            hv, uv = median_of(h, real), median_of(u, real)
            fmt = lambda v: f"{v:.1f}"
            rows.append((scenario, "ms", fmt(hv), fmt(uv), uv / hv, cpu_ratio,
                         spread(h, real, fmt), spread(u, real, fmt),
                         verdict([real(r) for r in h["runs"]], [real(r) for r in u["runs"]],
                                 False)))

    header = ("scenario", "unit", "herd median", "libuv median", "ratio", "cpu ratio",
              "herd min..max", "libuv min..max", "verdict")
    cells = [header] + [(r[0], r[1], r[2], r[3], f"{r[4]:.2f}", f"{r[5]:.2f}", r[6], r[7], r[8])
                        for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    for i, c in enumerate(cells):
        print("  ".join(v.ljust(widths[j]) if j < 2 or j == 8 else v.rjust(widths[j])
                        for j, v in enumerate(c)))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    print()
    print("ratio > 1.0: herd is faster (libuv time / herd time; for tcp_pump herd bytes/s / "
          "libuv bytes/s). Medians of the interleaved repetitions; wall-clock time.")
    behind = [r[0] for r in rows if r[4] < 1.0]
    unsettled = [r[0] for r in rows if r[8] == "overlap"]
    print(f"median ratio >= 1.0 on {len(rows) - len(behind)} of {len(rows)} scenarios"
          + (f"; below 1.0: {', '.join(behind)}" if behind else ""))
    if unsettled:
        print("ranges overlap (no verdict outside the spread): " + ", ".join(unsettled))
    if missing:
        sys.exit("unpaired scenarios: " + ", ".join(missing))


if __name__ == "__main__":
    main()
