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
from pathlib import Path
from typing import Any

from bench import cases
from bench.harness import database_url, now, seed, start_server
from notifications.fake_twilio_api import FakeTwilioApi

TARGETS = {
    "batch_readings_per_s": (">=", 50_000, "PostgreSQL"),
    "batch_vs_raw": (">=", 0.25, "PostgreSQL"),
    "alert_p99_ms": ("<", 500, "both"),
    "peak_rss_mb": ("<", 300, "both"),
}


def run(kind: str, quick: bool) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="carecenter-bench-"))
    url = database_url(kind, workdir)
    seeded = seed(url, residents=300 if quick else 5000, now=now())
    twilio = FakeTwilioApi().start()
    server = start_server(url, twilio)
    try:
        batches = 3 if quick else 30
        clients = 1 if kind == "sqlite" else (2 if quick else 4)  # SQLite has one writer at a time anyway
        ingestion = cases.batch_ingestion(server, seeded, batches=batches, clients=clients)
        raw = cases.raw_insert(url, seeded, rows=batches * 1000)
        latency = cases.alert_latency(
            server, seeded, twilio, sos=10 if quick else 500, background_per_s=50 if quick else 500
        )
        rss = server.peak_rss_mb()
    finally:
        server.stop()
        twilio.stop()
    return {
        "database": kind,
        "batch_readings_per_s": ingestion["readings_per_s"],
        "batch_retries_503": ingestion["retries"],
        "raw_rows_per_s": raw["rows_per_s"],
        "batch_vs_raw": round(ingestion["readings_per_s"] / raw["rows_per_s"], 3),
        "alert_p50_ms": latency["p50_ms"],
        "alert_p99_ms": latency["p99_ms"],
        "alerts_delivered": f"{latency['delivered']}/{latency['sos']}",
        "peak_rss_mb": round(rss, 1),
    }


def verdict(name: str, value: Any, kind: str) -> str:
    if name not in TARGETS or value is None:
        return ""
    op, target, where = TARGETS[name]
    if where != "both" and where.lower() != kind:
        return f"(target {op} {target} on {where})"
    ok = value >= target if op == ">=" else value < target
    return f"{'met' if ok else 'MISSED'} ({op} {target})"


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
                print(f"  {name:<22} {value!s:>12}  {verdict(name, value, result['database'])}")
    Path(args.out).write_text(json.dumps({"quick": args.quick, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
