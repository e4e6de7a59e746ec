"""The `monthly-report` case of `python -m bench` (`--case monthly-report`).

The monthly report (#16): one center of 500 residents with a month of service records (meals
every day, two or three home services a week: about 20,000 records), a signed assessment and
eligibility groups for each, the center's subsidy rules. A real server process answers
`GET /api/v1/reports/monthly` as JSON, XLSX and CSV; each is timed end to end (request to last
byte). Beside each: the raw limit, the database alone reading the same month's rows and summing
them (SQL, no Python objects), so the cost of the product's own work shows.
Target: every format under 5 s.
"""

import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from sqlmodel import Session, select

from bench.harness import PASSWORD, copy_rows, database_url, seed, start_server
from carecenter.assessments.models import Assessment
from carecenter.catalogue.service import DEFAULT_CATALOGUE, seed_default_catalogue
from carecenter.db import make_engine
from carecenter.residents.models import Resident
from carecenter.staff.models import Staff
from carecenter.subsidies.models import Eligibility, EligibilityGroup, SubsidyRule
from notifications.fake_twilio_api import FakeTwilioApi

MONTH = "2026-10"
RECORD_COLUMNS = [
    "center_id", "resident_id", "service_code", "category", "unit", "quantity", "delivered", "service_on", "month",
    "worker_id", "checked_in_at", "checked_out_at", "check_in_distance_m", "check_out_distance_m", "far_from_home",
    "unit_price_fen", "amount_fen", "subsidy_fen", "resident_fen", "eligibility_group", "subsidy_rule_id", "created_at",
]  # fmt: skip


def seed_month(url: str, residents: int) -> int:
    """The month's records, written straight to the table (COPY on PostgreSQL); returns how many."""
    rng = random.Random(16)
    seeded_at = datetime(2026, 11, 1, tzinfo=UTC)
    seed(url, residents=residents, now=seeded_at)
    engine = make_engine(url)
    with Session(engine) as session:
        manager = session.exec(select(Staff).where(Staff.username == "bench_manager")).one()
        center_id, worker_id = manager.center_id or 0, manager.id
        seed_default_catalogue(session, center_id=center_id, now=seeded_at)
        rule = SubsidyRule(
            center_id=center_id,
            group=EligibilityGroup.subsistence,
            share_percent=80,
            starts_on=date(2026, 1, 1),
            created_at=seeded_at,
        )
        session.add(rule)
        people = session.exec(select(Resident.id)).all()
        for n, resident_id in enumerate(people):
            session.add(
                Assessment(
                    center_id=center_id, resident_id=resident_id or 0, definition="gbt-42195-2022",
                    definition_version="2022", assessed_on=date(2026, 5, 1), reason="first", answers={},
                    total=70, level_by_score="mild", level="mild", signed_at=seeded_at, created_at=seeded_at,
                )
            )  # fmt: skip
            if n % 3 == 0:
                session.add(
                    Eligibility(
                        center_id=center_id, resident_id=resident_id or 0, group=EligibilityGroup.subsistence,
                        starts_on=date(2026, 1, 1), document_ref="民低12号", created_at=seeded_at,
                    )
                )  # fmt: skip
        session.commit()
        rule_id = rule.id
    prices = {entry["code"]: entry for entry in DEFAULT_CATALOGUE}
    rows = []
    for n, resident_id in enumerate(people):
        poor = n % 3 == 0
        for day in range(1, 32):
            served = date(2026, 10, day)
            codes = ["meals"] + (
                rng.sample(["bathing", "cleaning", "medication", "health_check"], 2) if day % 3 == 0 else []
            )
            for code in codes:
                entry = prices[code]
                amount = entry["unit_price_fen"]
                subsidy = amount * 80 // 100 if poor else 0
                at = datetime(2026, 10, day, 2, tzinfo=UTC)
                rows.append((
                    center_id, resident_id, code, entry["category"], entry["unit"], 1.0, True, served, MONTH,
                    worker_id, at, at + timedelta(minutes=40), 12.0, 15.0, False, amount, amount, subsidy,
                    amount - subsidy, "subsistence" if poor else None, rule_id if poor else None, seeded_at,
                ))  # fmt: skip
    if engine.dialect.name == "postgresql":
        copy_rows(engine, "service_record", RECORD_COLUMNS, rows)
    else:
        with engine.begin() as conn:
            table = sa.table("service_record", *[sa.column(c) for c in RECORD_COLUMNS])
            conn.execute(sa.insert(table), [dict(zip(RECORD_COLUMNS, row, strict=True)) for row in rows])
    engine.dispose()
    return len(rows)


def raw_limit(url: str) -> float:
    """The database alone: every record of the month read, and summed by category, in SQL."""
    engine = make_engine(url)
    started = time.perf_counter()
    with engine.connect() as conn:
        conn.execute(
            sa.text("SELECT * FROM service_record WHERE month = :m ORDER BY service_on, id"), {"m": MONTH}
        ).all()
        conn.execute(
            sa.text(
                "SELECT category, count(DISTINCT resident_id), count(*), sum(quantity), sum(amount_fen),"
                " sum(subsidy_fen) FROM service_record WHERE month = :m GROUP BY category"
            ),
            {"m": MONTH},
        ).all()
    engine.dispose()
    return time.perf_counter() - started


def run(kind: str, residents: int, repeats: int) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="carecenter-report-"))
    url = database_url(kind, workdir)
    records = seed_month(url, residents)
    twilio = FakeTwilioApi().start()
    server = start_server(url, twilio)
    figures: dict[str, Any] = {"database": kind, "residents": residents, "records": records}
    try:
        with httpx.Client(base_url=server.url, timeout=120) as client:
            token = client.post("/api/v1/auth/token", data={"username": "bench_manager", "password": PASSWORD})
            headers = {"Authorization": f"Bearer {token.raise_for_status().json()['access_token']}"}
            for fmt in ("json", "xlsx", "csv"):
                times, size = [], 0
                for _ in range(repeats):
                    started = time.perf_counter()
                    response = client.get(
                        "/api/v1/reports/monthly", params={"month": MONTH, "format": fmt}, headers=headers
                    )
                    response.raise_for_status()
                    times.append(time.perf_counter() - started)
                    size = len(response.content)
                figures[f"{fmt}_s"] = round(statistics.median(times), 2)
                figures[f"{fmt}_max_s"] = round(max(times), 2)
                figures[f"{fmt}_kb"] = round(size / 1024)
        figures["raw_sql_s"] = round(min(raw_limit(url) for _ in range(repeats)), 3)
    finally:
        server.stop()
        twilio.stop()
    return figures
