#!/usr/bin/env python3
"""CSV -> Parquet, Lantern and the peers side by side: one round = each engine once on each dataset, in turn.

usage: csv_side_by_side.py LANTERN_BINARY DATA_DIR [--rounds N] [--engines polars,pyarrow.csv,duckdb,pandas+pyarrow]
                          [--baseline LABEL=BINARY ...]

The machine these benchmarks run on is shared and its speed drifts by tens of percent within minutes, so engines
are not timed in separate sessions: every round runs each engine once, right after one another, and the report
gives, per dataset, each engine's median and Lantern's ratio to it within each round (its median and range).

Peers are timed in this process, warm, exactly as ../shared/bench/etl_ref.py times them (its functions are
imported). Lantern runs as `lantern etl run <dataset> --json` in a fresh catalog folder each time; its time is the
run's own `elapsed_secs` (from staging to the published version) — the process start (about 8 ms) is not
counted, as the peers' interpreter start is not. DATA_DIR holds cursor_usage.csv and apac_dot.csv
(../shared/bench/gen_data.py --csv). Run with the peers venv: $HOME/lantern-peers/venv/bin/python.

`--baseline old=path/to/lantern` (repeatable) runs another Lantern build in every round too, right after this
one, and reports this build's speed over it per round: an A/B of two builds that the machine's drift cannot bias.
"""
import argparse, json, os, shutil, statistics, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../../shared/bench"))
import etl_ref  # noqa: E402  (the peers' reference timings)

PEERS = {
    "polars": etl_ref.t_polars,
    "pyarrow.csv": etl_ref.t_pyarrow,
    "duckdb": etl_ref.t_duckdb,
    "pandas+pyarrow": etl_ref.t_pandas,
}


def lantern_run(binary, data, dataset, work):
    """One run of `dataset` into a fresh catalog: seconds as the run reports them."""
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(os.path.join(work, "datasets"))
    with open(os.path.join(work, "datasets", f"{dataset}.yaml"), "w") as f:
        f.write(f"id: {dataset}\nsource: {{kind: csv, path: {os.path.join(data, dataset + '.csv')}}}\n"
                "load: {retention: 1}\n")
    env = dict(os.environ, LANTERN_STORAGE_URL=os.path.join(work, "store"))
    out = subprocess.run([binary, "etl", "run", dataset, "--json"], cwd=work, env=env, check=True,
                         capture_output=True, text=True).stdout
    summary = json.loads(out)
    summary = summary[0] if isinstance(summary, list) else summary
    summary = summary.get("summary", summary)
    assert summary["rows"] > 0, summary
    return summary["elapsed_secs"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("lantern")
    ap.add_argument("data")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--engines", default="polars,pyarrow.csv")
    ap.add_argument("--baseline", action="append", default=[], metavar="LABEL=BINARY")
    a = ap.parse_args()
    engines = [e for e in a.engines.split(",") if e]
    baselines = dict(b.split("=", 1) for b in a.baseline)
    out = tempfile.mkdtemp()
    for dataset in ("cursor_usage", "apac_dot"):
        src = os.path.join(a.data, f"{dataset}.csv")
        rows = sum(1 for _ in open(src)) - 1
        times = {e: [] for e in ["lantern"] + [f"lantern@{b}" for b in baselines] + engines}
        for _ in range(a.rounds):
            times["lantern"].append(lantern_run(a.lantern, a.data, dataset, os.path.join(out, "lantern")))
            for label, binary in baselines.items():
                times[f"lantern@{label}"].append(lantern_run(binary, a.data, dataset, os.path.join(out, "lantern")))
            for e in engines:
                dst = os.path.join(out, f"{dataset}-{e}.parquet")
                t = time.perf_counter()
                PEERS[e](src, dst)
                times[e].append(time.perf_counter() - t)
        print(f"{dataset} ({rows} rows, {os.path.getsize(src) / 1e6:.0f} MB), {a.rounds} rounds:")
        for e, ts in times.items():
            m = statistics.median(ts)
            line = f"  {e:15s} median {m:5.3f} s  {rows / m / 1e6:5.2f} M rows/s  (runs {min(ts):.3f}-{max(ts):.3f})"
            if e != "lantern":
                ratios = [p / l for l, p in zip(times["lantern"], ts)]
                line += (f"  Lantern's speed / this: median {statistics.median(ratios):.2f}x"
                         f" (rounds {min(ratios):.2f}-{max(ratios):.2f})")
            print(line, flush=True)


if __name__ == "__main__":
    main()
