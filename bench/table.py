"""`python -m bench.table [bench/results.json]`: the results as the README's Markdown table."""

import json
import sys
from pathlib import Path
from typing import Any

from bench.__main__ import TARGETS, verdict

ROWS: list[tuple[str, str | tuple[str, str]]] = [
    ("1. batch ingestion, readings/s (1,000 per batch)", "batch_readings_per_s"),
    ("1. raw insert of the same rows (executemany / COPY), rows/s", "raw_rows_per_s"),
    ("1. ingestion / raw", "batch_vs_raw"),
    ("2. single readings, requests/s at 64 clients", "single_requests_per_s"),
    ("2. the naive peer, requests/s", "naive_requests_per_s"),
    ("2. ours / naive", "single_vs_naive"),
    ("2. p50 / p99 ms (ours)", ("single_p50_ms", "single_p99_ms")),
    ("3. SOS to SMS at the provider, p50 / p99 ms, 500 readings/s around", ("alert_p50_ms", "alert_p99_ms")),
    ("4. SMS fan-out 200 x 4: seconds to the last accepted", "fanout_seconds"),
    ("4. busiest second at the provider (limit 150/s)", "fanout_busiest_second"),
    ("4. sent twice", "fanout_duplicates"),
    ("5. week schedule p95 ms", "week_schedule_p95_ms"),
    ("5. care worker's today p95 ms", "worker_today_p95_ms"),
    ("5. alert board p95 ms", "alert_board_p95_ms"),
    ("5. resident's 30-day vitals chart p95 ms", "vitals_chart_30d_p95_ms"),
    ("5. residents search p95 ms", "resident_search_p95_ms"),
    ("6. due reminders sweep ms", "visit-reminders_ms"),
    ("6. late/missed visits sweep ms", "late-and-missed-visits_ms"),
    ("6. silent devices sweep ms", "detect-silent-devices_ms"),
    ("6. escalation sweep ms", "escalate-alerts_ms"),
    ("7. server peak RSS MB", "peak_rss_mb"),
]


def cell(result: dict[str, Any], key: str | tuple[str, str]) -> str:
    if isinstance(key, tuple):
        return " / ".join(f"{result.get(k)}" for k in key)
    value = result.get(key)
    return f"{value:,}" if isinstance(value, int) else str(value)


def target(key: str | tuple[str, str], results: list[dict[str, Any]]) -> str:
    name = key[1] if isinstance(key, tuple) else key
    if name not in TARGETS:
        return ""
    verdicts = [verdict(name, r.get(name), r["database"]) for r in results]
    op, value, where = TARGETS[name]
    missed = [r["database"] for r, v in zip(results, verdicts, strict=True) if v.startswith("MISSED")]
    scope = "" if where == "both" else f" on {where}"
    return f"{op} {value:g}{scope}: " + (f"**missed** ({', '.join(missed)})" if missed else "met")


def main() -> None:
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "bench/results.json")
    results = json.loads(path.read_text())["results"]
    kinds = [r["database"] for r in results]
    print("| figure | " + " | ".join(kinds) + " | target |")
    print("| --- |" + " --- |" * len(kinds) + " --- |")
    for label, key in ROWS:
        print(f"| {label} | " + " | ".join(cell(r, key) for r in results) + f" | {target(key, results)} |")


if __name__ == "__main__":
    main()
