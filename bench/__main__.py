"""`python -m bench [--quick] [--db sqlite|postgresql|both]`: the alert path's figures, with targets.

A real server process (uvicorn) and real HTTP clients (httpx) against a fresh database per kind;
SMS go through the real `twilio` SDK to a local fake of the Twilio API. Prints a table and
writes bench/results.json. `--quick` is the smoke run CI executes (no targets asserted).
"""

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import cases, district
from bench.harness import database_url, now, seed, seed_fanout, start_naive_peer, start_server
from notifications.fake_twilio_api import FakeTwilioApi

WORKERS = 1  # `main.py serve` processes; more do not help on this 2-core machine (PostgreSQL and the load share it)
SMS_RATE = 150  # messages/s: the sender's rate limit the fan-out must respect

# name: (comparison, target, which database it applies to)
TARGETS: dict[str, tuple[str, float, str]] = {
    "batch_readings_per_s": (">=", 50_000, "postgresql"),
    "batch_vs_raw": (">=", 0.25, "postgresql"),
    "single_vs_naive": (">=", 1.5, "both"),
    "alert_p99_ms": ("<", 500, "both"),
    "fanout_seconds": ("<", 10, "both"),
    "fanout_busiest_second": ("<=", SMS_RATE, "both"),
    "fanout_duplicates": ("<=", 0, "both"),
    "peak_rss_mb": ("<", 300, "both"),
}
PAGES = ("week_schedule", "worker_today", "alert_board", "vitals_chart_30d", "resident_search")
SWEEPS = ("visit-reminders", "late-and-missed-visits", "detect-silent-devices", "escalate-alerts")
TARGETS |= {f"{page}_p95_ms": ("<", 150, "both") for page in PAGES}
TARGETS |= {f"{sweep}_ms": ("<", 100, "both") for sweep in SWEEPS}


def run(kind: str, quick: bool) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="carecenter-bench-"))
    results: dict[str, Any] = {"database": kind}
    results |= alert_path(kind, workdir, quick)
    results |= district_scale(kind, workdir, quick)
    return results


def alert_path(kind: str, workdir: Path, quick: bool) -> dict[str, Any]:
    """Figures 1-4 and 7 on one center of 5,000 residents (300 in --quick)."""
    url = database_url(kind, workdir)
    seeded = seed(url, residents=300 if quick else 5000, now=now())
    fanout = seed_fanout(url, alerts=20 if quick else 200, now=now())
    twilio = FakeTwilioApi().start()
    server = start_server(url, twilio, workers=WORKERS, extra_env={"CARECENTER_SMS_RATE_PER_SECOND": str(SMS_RATE)})
    singles = 300 if quick else 5000
    try:
        batches = 3 if quick else 30
        clients = 1 if kind == "sqlite" else (2 if quick else 4)  # SQLite has one writer at a time anyway
        ingestion = cases.batch_ingestion(server, seeded, batches=batches, clients=clients)
        raw = cases.raw_insert(url, seeded, rows=batches * 1000)
        single = cases.single_readings(server.url, cases.checkin_requests(seeded, singles), clients=64)
        latency = cases.alert_latency(
            server, seeded, twilio, sos=10 if quick else 500, background_per_s=50 if quick else 500
        )
        fan = cases.sms_fanout(server, fanout, twilio, rate_limit=SMS_RATE)
        rss = server.peak_rss_mb()
    finally:
        server.stop()
        twilio.stop()
    peer = start_naive_peer(url, workers=WORKERS)
    try:
        naive = cases.single_readings(peer.url, cases.naive_requests(seeded, singles), clients=64)
    finally:
        peer.stop()
    return {
        "batch_readings_per_s": ingestion["readings_per_s"],
        "batch_retries_503": ingestion["retries"],
        "raw_rows_per_s": raw["rows_per_s"],
        "batch_vs_raw": round(ingestion["readings_per_s"] / raw["rows_per_s"], 3),
        "single_requests_per_s": single["requests_per_s"],
        "single_p50_ms": single["p50_ms"],
        "single_p99_ms": single["p99_ms"],
        "naive_requests_per_s": naive["requests_per_s"],
        "naive_p50_ms": naive["p50_ms"],
        "naive_p99_ms": naive["p99_ms"],
        "single_vs_naive": round(single["requests_per_s"] / naive["requests_per_s"], 2),
        "single_failures": single["failures"] + naive["failures"],
        "alert_p50_ms": latency["p50_ms"],
        "alert_p99_ms": latency["p99_ms"],
        "alerts_delivered": f"{latency['delivered']}/{latency['sos']}",
        "fanout_messages": f"{fan['messages']}/{fan['expected']}",
        "fanout_seconds": fan["seconds"],
        "fanout_busiest_second": fan["busiest_second"],
        "fanout_duplicates": fan["duplicates"],
        "peak_rss_mb": round(rss, 1),
    }


def district_scale(kind: str, workdir: Path, quick: bool) -> dict[str, Any]:
    """Figures 5 and 6: 20 centers, 20,000 residents, 400 workers, 4 weeks of visits, 5 M readings."""
    url = database_url(kind, workdir, name="carecenter_bench_district")
    started = time.perf_counter()
    seeded = district.seed_district(
        url,
        centers=2 if quick else 20,
        residents_per_center=200 if quick else 1000,
        workers_per_center=4 if quick else 20,
        readings=20_000 if quick else 5_000_000,
        now=now(),
    )
    figures: dict[str, Any] = {
        "district": f"{seeded.centers} centers, {seeded.residents} residents, {seeded.visits} visits, "
        f"{seeded.readings} readings",
        "district_seed_s": round(time.perf_counter() - started),
    }
    twilio = FakeTwilioApi().start()
    server = start_server(url, twilio, workers=WORKERS)
    try:
        figures |= district.page_times(server, seeded, repeats=10 if quick else 40, now=now())
    finally:
        server.stop()
        twilio.stop()
    return figures | district.sweep_times(url, repeats=3 if quick else 10, now=now())


def verdict(name: str, value: Any, kind: str) -> str:
    if name not in TARGETS or value is None:
        return ""
    op, target, where = TARGETS[name]
    if where not in ("both", kind):
        return f"(target {op} {target:g} on {where})"
    ok = {">=": value >= target, "<": value < target, "<=": value <= target}[op]
    return f"{'met' if ok else 'MISSED'} ({op} {target:g})"


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="a small smoke run (what CI executes)")
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--out", default="bench/results.json")
    args = parser.parse_args()
    kinds = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    results = [run(kind, args.quick) for kind in kinds]
    print(
        f"CareCenter benchmarks ({'quick' if args.quick else 'full'}) on {platform.node()}, "
        f"{platform.processor() or platform.machine()}, Python {platform.python_version()}"
    )
    for result in results:
        print(f"\n[{result['database']}]")
        for name, value in result.items():
            if name != "database":
                print(f"  {name:<36} {value!s:>12}  {verdict(name, value, result['database'])}")
    Path(args.out).write_text(json.dumps({"quick": args.quick, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
