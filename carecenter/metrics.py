"""Prometheus metrics: what this process did, and what the database says about everyone.

Counters and histograms of this process's own work (readings ingested, sweep durations, who
holds the scheduler lock) live in the default registry. Figures that every process shares —
alerts opened by kind, time to acknowledge, messages by status — are read from the database at
scrape time, so any process's /metrics gives the same answer.
"""

import os
import socket

from prometheus_client import Counter, Gauge, Histogram

PROCESS = f"{socket.gethostname()}:{os.getpid()}"

READINGS = Counter("carecenter_readings_ingested", "Readings posted by devices, by outcome", ["result"])
SWEEP_SECONDS = Histogram(
    "carecenter_sweep_duration_seconds",
    "How long each run of a scheduled job took",
    ["job"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
SCHEDULER_LEADER = Gauge(
    "carecenter_scheduler_leader", "1 while this process holds the scheduler lock and runs the jobs", ["process"]
)
