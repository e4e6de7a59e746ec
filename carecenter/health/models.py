"""What the platform records about itself: each process's heartbeat, each sweep's last run, and
the problems it found and told the admins about."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from carecenter.fields import OptionalWholeNumber, instant_field


class ProcessBeat(SQLModel, table=True):
    """A long-running process says it is alive; one row per role and host (a restart reuses it)."""

    __tablename__ = "process_beat"

    name: str = Field(primary_key=True, max_length=120)  # "gateway@host", "web@host", "scheduler-leader"
    role: str = Field(max_length=20)
    started_at: datetime = instant_field()
    beat_at: datetime = instant_field()


class SweepRun(SQLModel, table=True):
    """When a scheduled job last started and finished, and how long it took."""

    __tablename__ = "sweep_run"

    job_id: str = Field(primary_key=True, max_length=40)
    interval_seconds: OptionalWholeNumber = None  # None: a nightly job (not watched for lateness)
    started_at: datetime = instant_field()
    finished_at: datetime | None = instant_field(default=None)
    seconds: float | None = None


class SystemProblem(SQLModel, table=True):
    """Something down that the admins were told about (once), and when it recovered."""

    __tablename__ = "system_problem"

    key: str = Field(primary_key=True, max_length=120)
    detail: str = Field(max_length=300)
    since: datetime = instant_field()
    reported_at: datetime | None = instant_field(default=None)
    cleared_at: datetime | None = instant_field(default=None)
