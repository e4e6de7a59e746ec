"""`python -m bench.table [bench/results.json]`: the results as the README's Markdown table
(`python -m bench --readme` writes it into README.md between its markers)."""

import json
import sys
from pathlib import Path
from typing import Any

from bench.__main__ import TARGETS, verdict

Key = str | tuple[str, ...]
ROWS: list[tuple[str, Key]] = [
    ("1. batch ingestion, readings/s (1,000 per batch)", "batch_readings_per_s"),
    ("1. the same, a fresh server's first batches", "batch_first_readings_per_s"),
    ("1. raw insert of the same rows (executemany / COPY), rows/s (the median of three)", "raw_rows_per_s"),
    ("1. ingestion / raw (one process)", "batch_vs_raw"),
    ("1. raw COPY, three runs around the batches: their range, rows/s", "raw_rows_per_s_range"),
    ("1. batch ingestion with two server processes, readings/s", "batch_two_processes_readings_per_s"),
    ("1. two processes / raw", "batch_two_processes_vs_raw"),
    (
        "1. CPU µs per reading: our server / PostgreSQL's for the raw COPY",
        ("batch_server_cpu_us_per_reading", "raw_db_cpu_us_per_row"),
    ),
    ("1. CPU µs per reading: PostgreSQL's for our batches (all its processes)", "batch_db_cpu_us_per_reading"),
    ("2. single readings, requests/s at 64 clients", "single_requests_per_s"),
    ("2. the naive peer, requests/s", "naive_requests_per_s"),
    ("2. ours / naive", "single_vs_naive"),
    ("2. p50 / p99 ms (ours)", ("single_p50_ms", "single_p99_ms")),
    ("3. SOS to SMS at the provider, p50 / p99 ms, 500 readings/s around", ("alert_p50_ms", "alert_p99_ms")),
    ("4. SMS fan-out 200 x 4: seconds to the last accepted", "fanout_seconds"),
    ("4. fan-out messages/s against the provider's limit (150/s)", "fanout_vs_rate_limit"),
    ("4. busiest second at the provider (limit 150/s)", "fanout_busiest_second"),
    ("4. sent twice", "fanout_duplicates"),
    ("4. server CPU ms per SOS (its request, alert, recipients, outbox and sends)", "fanout_server_cpu_ms_per_sos"),
    (
        "4. of which before its messages leave (request, alert, recipients, outbox rows) / sending its 4",
        ("fanout_composing_cpu_ms_per_sos", "fanout_sending_cpu_ms_per_sos"),
    ),
    ("5. week schedule p95 ms", "week_schedule_p95_ms"),
    ("5. care worker's today p95 ms", "worker_today_p95_ms"),
    ("5. alert board p95 ms", "alert_board_p95_ms"),
    ("5. resident's 30-day vitals chart p95 ms", "vitals_chart_30d_p95_ms"),
    ("5. residents search p95 ms", "resident_search_p95_ms"),
    ("6. due reminders sweep ms", "visit-reminders_ms"),
    ("6. late/missed visits sweep ms", "late-and-missed-visits_ms"),
    ("6. silent devices sweep ms", "detect-silent-devices_ms"),
    ("6. escalation sweep ms", "escalate-alerts_ms"),
    ("6. outage begins: watches silenced / incidents opened", ("outage_silenced", "outage_incidents")),
    ("6. outage begins: messages sent (limit 100) / first sweep ms", ("outage_messages", "outage_sweep_ms")),
    ("6. silent devices sweep ms, every watch quiet (an outage)", "silent_sweep_all_quiet_ms"),
    ("7. server peak RSS MB", "peak_rss_mb"),
    ("8. watches held by one gateway process", "watch_connections_held"),
    ("8. gateway RSS MB (KB per connection)", ("watch_rss_mb", "watch_rss_kb_per_connection")),
    ("8. frames/s sustained", "watch_frames_per_s"),
    ("8. frame to answer (LK) p50 / p99 ms", ("watch_lk_p50_ms", "watch_lk_p99_ms")),
    ("8. CPU ms per 1,000 frames", "watch_cpu_ms_per_1000_frames"),
    ("8. SOS frame to SMS at the provider p99 ms", "watch_sos_to_sms_p99_ms"),
    ("8. peak frames/s with p99 < 1 s", "watch_peak_frames_per_s"),
    ("9. MQTT: bare subscriber, readings/s (the broker's ceiling)", "mqtt_bare_readings_per_s"),
    ("9. MQTT: one gateway process, readings/s", "mqtt_one_process_readings_per_s"),
    ("9. HTTP batch, same batches, one process, readings/s", "mqtt_http_one_process_readings_per_s"),
    ("9. MQTT / HTTP batch, one process", "mqtt_one_process_vs_http"),
    ("9. MQTT: two processes (shared subscription), readings/s", "mqtt_two_processes_readings_per_s"),
    ("9. HTTP batch, two processes, readings/s", "mqtt_http_two_processes_readings_per_s"),
    ("9. MQTT / HTTP batch, two processes", "mqtt_two_processes_vs_http"),
    ("10. monthly report JSON / XLSX / CSV, s", ("report_json_max_s", "report_xlsx_max_s", "report_csv_max_s")),
    ("10. raw SQL of the same month, s", "report_raw_sql_s"),
    ("11. readings in the table (small / large)", ("scale_small_readings", "scale_large_readings")),
    (
        "11. batch ingestion readings/s (small / large)",
        ("scale_small_batch_readings_per_s", "scale_large_batch_readings_per_s"),
    ),
    ("11. batch ingestion change", "scale_batch_readings_per_s_change"),
    (
        "11. PostgreSQL CPU µs per reading of a batch (small / large)",
        ("scale_small_batch_db_cpu_us_per_reading", "scale_large_batch_db_cpu_us_per_reading"),
    ),
    ("11. PostgreSQL CPU per reading change", "scale_batch_db_cpu_us_per_reading_change"),
    ("11. 30-day chart p95 ms (small / large)", ("scale_small_chart_p95_ms", "scale_large_chart_p95_ms")),
    ("11. 30-day chart change", "scale_chart_p95_ms_change"),
    ("11. silent sweep ms (small / large)", ("scale_small_silent_sweep_ms", "scale_large_silent_sweep_ms")),
    ("11. silent sweep change", "scale_silent_sweep_ms_change"),
    ("11. disk per raw reading with its indexes, bytes", "scale_bytes_per_reading"),
    ("12. a city: watches / gateway processes sharing a port", ("city_watches", "city_gateway_processes")),
    ("12. frames/s sustained, SOS every 2 s", "city_frames_per_s"),
    ("12. frame (LK) to answer p50 / p99 ms", ("city_lk_p50_ms", "city_lk_p99_ms")),
    ("12. SOS frame to SMS at the provider p50 / p99 ms", ("city_sos_to_sms_p50_ms", "city_sos_to_sms_p99_ms")),
    (
        "12. CPU ms per 1,000 frames: the gateways / PostgreSQL",
        ("city_gateway_cpu_ms_per_1000_frames", "city_database_cpu_ms_per_1000_frames"),
    ),
    ("12. gateway RSS MB, all processes", "city_rss_mb_total"),
    ("12. gateway RSS MB, each process", "city_rss_mb_per_process"),
    ("12. connections lost before the restart", "city_connections_lost_before_restart"),
    ("12. restart: its watches / not back", ("city_restart_watches_dropped", "city_restart_watches_not_back")),
    (
        "12. restart: first reconnect to answered, p99 / slowest s",
        ("city_restart_answered_again_p99_s", "city_restart_answered_again_max_s"),
    ),
    ("12. LK answered before the restart / not stored", ("city_answered_lk_before_restart", "city_answered_lk_lost")),
]
START, END = "<!-- bench:table -->", "<!-- /bench:table -->"


def cell(result: dict[str, Any], key: Key) -> str:
    if isinstance(key, tuple):
        if all(result.get(k) is None for k in key):
            return "—"
        return " / ".join("—" if result.get(k) is None else f"{result.get(k)}" for k in key)
    value = result.get(key)
    if value is None:
        return "—"
    return f"{value:,}" if isinstance(value, int) else str(value)


def target(key: Key, results: list[dict[str, Any]]) -> str:
    """The row's target and where it was missed: a row of several figures misses when any of them does."""
    names = [name for name in (key if isinstance(key, tuple) else (key,)) if name in TARGETS]
    if not names:
        return ""
    op, value, where = TARGETS[names[-1]]
    verdicts = {(r["database"], name): verdict(name, r.get(name), r["database"]) for r in results for name in names}
    missed = [r["database"] for r in results if any(verdicts[(r["database"], n)].startswith("MISSED") for n in names)]
    if not any(verdicts.values()):
        return f"{op} {value:g}"
    scope = "" if where == "both" else f" on {where}"
    return f"{op} {value:g}{scope}: " + (f"**missed** ({', '.join(missed)})" if missed else "met")


def markdown(results: list[dict[str, Any]]) -> str:
    kinds = [r["database"] for r in results]
    lines = ["| figure | " + " | ".join(kinds) + " | target |", "| --- |" + " --- |" * len(kinds) + " --- |"]
    for label, key in ROWS:
        keys = key if isinstance(key, tuple) else (key,)
        if all(r.get(k) is None for r in results for k in keys):
            continue  # a case not run
        lines.append(f"| {label} | " + " | ".join(cell(r, key) for r in results) + f" | {target(key, results)} |")
    return "\n".join(lines)


def write_readme(results: list[dict[str, Any]], readme: Path) -> None:
    """Replace the table between the README's markers."""
    text = readme.read_text()
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    readme.write_text(f"{head}{START}\n{markdown(results)}\n{END}{tail}")


def main() -> None:
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "bench/results.json")
    print(markdown(json.loads(path.read_text())["results"]))


if __name__ == "__main__":
    main()
