"""The visit timings the services and sweeps work with (from Settings)."""

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class VisitRules:
    horizon_days: int = 14
    reminder_before: timedelta = timedelta(minutes=30)
    late_after: timedelta = timedelta(minutes=15)
    missed_after: timedelta = timedelta(minutes=30)
    travel_buffer: timedelta = timedelta(minutes=15)
    far_from_home_m: int = 200
    digest_hour: int = 7
    summary_hour: int = 18
    verified_target: float = 0.9  # the share of completed visits a payer expects verified
    home_code_key: bytes = b"development home-code key"  # from the deployment's secret key
