#!/usr/bin/env python3
"""PostgreSQL -> Parquet peer: ConnectorX read_sql (Arrow) + pyarrow.parquet.write_table (zstd).

usage: pg_to_parquet.py [--setup] [--url URL] [--csv CSV] [--repeats N] [--partition-num N] [--protocol P]

  --setup            (re)create table bench_cursor_usage from the cursor_usage CSV (drop + create + COPY + VACUUM ANALYZE),
                     then run the timings
  --url              PostgreSQL URL; default $LANTERN_TEST_PG_URL or postgres://lantern:lantern@127.0.0.1:5432/lantern_test
  --csv              default $HOME/lantern-peers/csvdata/cursor_usage.csv (from /work/shared/bench/gen_data.py --csv)
  --repeats          timed runs per mode (default 3)
  --partition-num    ConnectorX partition_num for the partitioned mode, partition_on the bigserial column `id`
                     (default 2; 0 or 1 skips the partitioned mode)
  --protocol         ConnectorX protocol for PostgreSQL: binary (its default) or cursor

Reports, for the single and the partitioned read: rows, best and median seconds (read + write), the read and write
medians, rows/s at the median, Parquet size and peak RSS. Each mode runs in its own child process, so peak RSS
(getrusage ru_maxrss) is per mode. Run with the peers venv: $HOME/lantern-peers/venv/bin/python.
"""
import argparse, os, resource, statistics, subprocess, sys, tempfile, time

TABLE = "bench_cursor_usage"
# Column types by CSV header name: dates as date, counts as bigint, flags as boolean, money as double precision,
# everything else text. `id` is added for ConnectorX partition_on (it needs a numeric column).
TYPES = {
    "date": "date",
    "is_active": "boolean",
    "chat_requests": "bigint", "composer_requests": "bigint", "agent_requests": "bigint",
    "tabs_shown": "bigint", "tabs_accepted": "bigint", "lines_added": "bigint", "lines_accepted": "bigint",
    "cost_usd": "double precision",
}
DEFAULT_URL = "postgres://lantern:lantern@127.0.0.1:5432/lantern_test"


def setup(url, csv_path):
    import csv, psycopg
    with open(csv_path, newline="") as f:
        header = next(csv.reader(f))
    cols = ",\n  ".join(f'"{c}" {TYPES.get(c, "text")}' for c in header)
    ddl = f"CREATE TABLE {TABLE} (\n  id bigserial PRIMARY KEY,\n  {cols}\n)"
    t = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(f"DROP TABLE IF EXISTS {TABLE}")
        con.execute(ddl)
        collist = ", ".join(f'"{c}"' for c in header)
        with con.cursor() as cur, open(csv_path, "rb") as f:
            with cur.copy(f"COPY {TABLE} ({collist}) FROM STDIN WITH (FORMAT csv, HEADER true)") as cp:
                while chunk := f.read(1 << 20):
                    cp.write(chunk)
        con.execute(f"VACUUM (FREEZE, ANALYZE) {TABLE}")  # set hint bits now, not during the first timed read
        rows = con.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0]
    print(f"setup: {ddl}")
    print(f"setup: loaded {rows} rows from {csv_path} in {time.perf_counter() - t:.2f} s")


def run_mode(a, partition_num):
    import connectorx as cx, pyarrow.parquet as pq
    kw = {"return_type": "arrow"}
    if a.protocol:
        kw["protocol"] = a.protocol
    if partition_num > 1:
        kw.update(partition_on="id", partition_num=partition_num)
    label = f"partitioned x{partition_num}" if partition_num > 1 else "single"
    out = tempfile.mkdtemp(prefix="pg_to_parquet-")
    dst = os.path.join(out, "bench_cursor_usage.parquet")
    total, reads, writes, rows = [], [], [], 0
    for _ in range(a.repeats):
        t0 = time.perf_counter()
        tbl = cx.read_sql(a.url, f"SELECT * FROM {TABLE}", **kw)
        t1 = time.perf_counter()
        pq.write_table(tbl, dst, compression="zstd")
        t2 = time.perf_counter()
        rows = tbl.num_rows
        del tbl
        reads.append(t1 - t0); writes.append(t2 - t1); total.append(t2 - t0)
    size = os.path.getsize(dst)
    os.remove(dst); os.rmdir(out)
    med = statistics.median(total)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux -> MiB
    print(f"{label:16s} rows {rows}  best {min(total):.3f} s  median {med:.3f} s  "
          f"(read {statistics.median(reads):.3f} s + write {statistics.median(writes):.3f} s)  "
          f"{rows / med / 1e6:.2f} M rows/s  parquet {size / 1e6:.1f} MB  peak RSS {rss:.0f} MiB", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--setup", action="store_true")
    ap.add_argument("--url", default=os.environ.get("LANTERN_TEST_PG_URL", DEFAULT_URL))
    ap.add_argument("--csv", default=os.path.expanduser("~/lantern-peers/csvdata/cursor_usage.csv"))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--partition-num", type=int, default=2)
    ap.add_argument("--protocol", choices=["binary", "cursor"])
    ap.add_argument("--only-partition-num", type=int, help=argparse.SUPPRESS)  # child process: run one mode
    a = ap.parse_args()
    if a.only_partition_num is not None:
        return run_mode(a, a.only_partition_num)
    if a.setup:
        setup(a.url, a.csv)
    import connectorx as cx
    print(f"connectorx {cx.__version__}, {a.repeats} repeats, read_sql(return_type='arrow') + write_table(zstd), "
          f"{os.cpu_count()} CPUs", flush=True)
    modes = [1] + ([a.partition_num] if a.partition_num > 1 else [])
    base = [sys.executable, os.path.abspath(__file__), "--url", a.url, "--repeats", str(a.repeats)]
    if a.protocol:
        base += ["--protocol", a.protocol]
    for n in modes:
        subprocess.run(base + ["--only-partition-num", str(n)], check=True)


if __name__ == "__main__":
    main()
