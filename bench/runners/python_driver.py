"""Runner: the DataStax/Apache Python driver (PyPI cassandra-driver), in the venv bench/run.ts makes (bench/.venv).

The same loop as bench/lib/harness.ts, in the driver's fastest idiom: N chains of callbacks, each sending its next
request from the completion callback of the previous one (futures with add_callbacks; paging with
start_fetching_next_page). Reads a RunSpec (JSON, argv[1]) and prints one `RESULT {json}` line per concurrency.
The reactor is libev (BENCH_PY_REACTOR=asyncio for the other one); both ship in the wheel, nothing is compiled.
"""
import gc
import json
import math
import os
import random
import resource
import sys
import threading
import time

from cassandra import ConsistencyLevel
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
from cassandra.policies import DCAwareRoundRobinPolicy
from cassandra.query import BatchStatement, BatchType

BATCH_SIZE = 10
CQL = {
    "select": "SELECT k, name, n, score FROM bench.rows WHERE k = ?",
    "insert": "INSERT INTO bench.writes (k, name, n, score) VALUES (?, ?, ?, ?)",
    "batchInsert": "INSERT INTO bench.batches (p, c, name, n, score) VALUES (?, ?, ?, ?, ?)",
    "scan": "SELECT k, name, n, score FROM bench.rows WHERE token(k) > ? AND token(k) <= ?",
}
MIN_TOKEN = -(2**63)
MAX_TOKEN = 2**63 - 1


def row_values(k):
    return (f"name-{k}", k * 1000003, k / 7)


def token_ranges(parts):
    span = (MAX_TOKEN - MIN_TOKEN) // parts
    out = []
    for i in range(parts):
        lo = MIN_TOKEN + span * i
        out.append((lo, MAX_TOKEN if i == parts - 1 else lo + span))
    return out


class Histogram:
    """bench/lib/histogram.ts, same buckets: exact below 128 us, then 64 sub-buckets per power of two."""

    BUCKETS = 128 + (31 - 7) * 64

    def __init__(self):
        self.counts = [0] * self.BUCKETS
        self.total = 0

    def record_ms(self, ms):
        us = int(ms * 1000 + 0.5)
        if us < 128:
            i = us if us > 0 else 0
        else:
            v = us if us < 0x7FFFFFFF else 0x7FFFFFFF
            shift = v.bit_length() - 7
            i = 128 + (shift - 1) * 64 + ((v >> shift) - 64)
        self.counts[i] += 1
        self.total += 1

    @staticmethod
    def value_of(i):
        if i < 128:
            return i
        shift = ((i - 128) >> 6) + 1
        low = (((i - 128) & 63) + 64) << shift
        return low + ((1 << shift) - 1) / 2

    def quantile_ms(self, q):
        if self.total == 0:
            return None
        rank = max(1, math.ceil(q * self.total))
        seen = 0
        for i, c in enumerate(self.counts):
            seen += c
            if seen >= rank:
                return self.value_of(i) / 1000
        return self.value_of(self.BUCKETS - 1) / 1000


def reset_peak_rss():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_rss_mb(reset_worked):
    if reset_worked:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Window:
    """One measured (or warm-up) window: `concurrency` callback chains until time or maxOps runs out."""

    def __init__(self, concurrency, seconds, max_ops):
        self.ops = 0
        self.errors = 0
        self.first_error = None
        self.histogram = Histogram()
        self.deadline = time.perf_counter() + seconds
        self.max_ops = max_ops
        self.stop = False
        self.active = concurrency
        self.lock = threading.Lock()
        self.done = threading.Event()

    def completed(self, t0, n):
        t = time.perf_counter()
        with self.lock:
            self.histogram.record_ms((t - t0) * 1000)
            self.ops += n
            if self.ops >= self.max_ops or t >= self.deadline:
                self.stop = True
            return not self.stop

    def failed(self, exc):
        with self.lock:
            self.errors += 1
            if self.first_error is None:
                self.first_error = f"{type(exc).__name__}: {exc}"
            if self.errors > 1000 and self.errors > self.ops:
                self.stop = True
            if time.perf_counter() >= self.deadline:
                self.stop = True
            return not self.stop

    def worker_done(self):
        with self.lock:
            self.active -= 1
            if self.active == 0:
                self.done.set()


def main():
    spec = json.loads(sys.argv[1])
    if os.environ.get("BENCH_PY_REACTOR", "libev") == "asyncio":
        from cassandra.io.asyncioreactor import AsyncioConnection as connection_class
    else:
        from cassandra.io.libevreactor import LibevConnection as connection_class
    target = spec["target"]
    profile = ExecutionProfile(
        load_balancing_policy=DCAwareRoundRobinPolicy(local_dc="dc1"),
        consistency_level=ConsistencyLevel.LOCAL_ONE,
    )
    cluster = Cluster(
        [target["host"]],
        port=target["port"],
        connection_class=connection_class,
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
    )
    session = cluster.connect()
    stmts = {name: session.prepare(q) for name, q in CQL.items()}
    rows = spec["rows"]
    partitions = max(1, rows // BATCH_SIZE)
    page_size = spec["pageSize"]

    def request(workload):
        if workload == "select":
            return session.execute_async(stmts["select"], (random.randrange(rows),))
        if workload == "insert":
            k = random.randrange(rows)
            return session.execute_async(stmts["insert"], (k, *row_values(k)))
        p = random.randrange(partitions)
        batch = BatchStatement(batch_type=BatchType.UNLOGGED)
        for c in range(BATCH_SIZE):
            batch.add(stmts["batchInsert"], (p, c, *row_values(p * BATCH_SIZE + c)))
        return session.execute_async(batch)

    def run_window(workload, concurrency, seconds):
        w = Window(concurrency, seconds, spec["maxOps"])

        if workload == "stream":
            ranges = token_ranges(concurrency)
            next_range = [0]

            def take_range():
                with w.lock:
                    if w.stop or next_range[0] >= len(ranges):
                        return None
                    next_range[0] += 1
                    return ranges[next_range[0] - 1]

            def scan_next():
                r = take_range()
                if r is None:
                    w.worker_done()
                    return
                bound = stmts["scan"].bind(r)
                bound.fetch_size = page_size
                state = {"t0": time.perf_counter()}
                future = session.execute_async(bound)

                def on_page(page):
                    if w.completed(state["t0"], len(page)) and future.has_more_pages:
                        state["t0"] = time.perf_counter()
                        future.start_fetching_next_page()
                    else:
                        scan_next()

                def on_error(exc):
                    w.failed(exc)
                    scan_next()

                future.add_callbacks(on_page, on_error)

            for _ in range(concurrency):
                scan_next()
        else:

            def send():
                t0 = time.perf_counter()
                future = request(workload)
                future.add_callbacks(on_ok, on_error, callback_args=(t0,), errback_args=(t0,))

            def on_ok(_rows, t0):
                if w.completed(t0, 1):
                    send()
                else:
                    w.worker_done()

            def on_error(exc, _t0):
                if w.failed(exc):
                    send()
                else:
                    w.worker_done()

            for _ in range(concurrency):
                send()
        w.done.wait()
        return w

    for concurrency in spec["concurrencies"]:
        if spec["warmupS"] > 0:
            run_window(spec["workload"], concurrency, spec["warmupS"])
        gc.collect()
        reset_worked = reset_peak_rss()
        ru0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.perf_counter()
        w = run_window(spec["workload"], concurrency, spec["durationS"])
        elapsed = time.perf_counter() - t0
        ru1 = resource.getrusage(resource.RUSAGE_SELF)
        cpu_ms = ((ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)) * 1000
        result = {
            "workload": spec["workload"],
            "concurrency": concurrency,
            "ops": w.ops,
            "errors": w.errors,
            "elapsedS": elapsed,
            "opsPerSec": w.ops / elapsed,
            "p50Ms": w.histogram.quantile_ms(0.5),
            "p99Ms": w.histogram.quantile_ms(0.99),
            "p999Ms": w.histogram.quantile_ms(0.999),
            "cpuMsPer1kOps": cpu_ms / w.ops * 1000 if w.ops > 0 else None,
            "peakRssMb": peak_rss_mb(reset_worked),
            "protocol": cluster.protocol_version,
        }
        if w.first_error is not None:
            result["firstError"] = w.first_error
        print("RESULT " + json.dumps(result), flush=True)
    cluster.shutdown()
    # The driver's threads need not outlive the results.
    os._exit(0)


if __name__ == "__main__":
    main()
