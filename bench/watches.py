"""The `watch-connections` case of `python -m bench` (`--case watch-connections`).

Held watch connections against one `python main.py gateway` process (#18, part 1): N watches
(real TCP sockets, asyncio, frames as the vendors document them) each sending `LK` every
5 minutes and a position or a heart rate every 60 s, with SOS alarms sprinkled in. Then the
peak: every watch sends `LK` faster and faster until the p99 from frame to answer passes 1 s.

Figures, each beside its target: connections held; the gateway's RSS and RSS per connection;
frames/s sustained; frame-to-answer p50/p99 (for `LK` and `AL`, the frames the protocol
answers, after the commit); CPU per 1,000 frames; SOS to the (fake) SMS provider p99; the peak.
The file-descriptor limit is raised to the hard limit here and in the gateway (20,000 sockets
need more than the usual 1,024).
"""

import asyncio
import os
import random
import resource
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench import progress
from bench.harness import ROOT, SECRET, cpu_seconds, database_url, free_port, log_file, percentile, seed
from carecenter.db import make_engine
from carecenter.devices.watch_protocol import FrameReader, encode
from notifications.fake_twilio_api import FakeTwilioApi

LK_EVERY, REPORT_EVERY = 300.0, 60.0  # seconds, per watch
WORKER_PHONE = "+8613700009001"  # bench.harness.seed's care worker
SETTLE_SECONDS = 10


WANTED_FDS = 65_536


def raise_fd_limit() -> None:
    """As high as allowed: 65,536 (root may raise the hard limit), else the hard limit."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(hard, WANTED_FDS), max(hard, WANTED_FDS)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Gateway:
    process: subprocess.Popen[Any]
    port: int

    def rss_mb(self) -> float:
        return rss_mb(self.process.pid)

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.process.pid) or 0.0

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def gateway_env(url: str, twilio: FakeTwilioApi, port: int, **more: str) -> dict[str, str]:
    """A `gateway` process's environment: the watch listener on `port` (127.0.0.1 unless `more`
    says otherwise), SMS through the Twilio SDK to the fake API, text logs."""
    return (
        {k: v for k, v in os.environ.items() if not k.startswith("CARECENTER_")}
        | {
            "CARECENTER_DATABASE_URL": url,
            "CARECENTER_SECRET_KEY": SECRET,
            "CARECENTER_WATCH_PORT": str(port),
            "CARECENTER_WATCH_HOST": "127.0.0.1",
            "CARECENTER_SMS_PROVIDER": "twilio",
            "CARECENTER_TWILIO_ACCOUNT_SID": twilio.account_sid,
            "CARECENTER_TWILIO_AUTH_TOKEN": twilio.auth_token,
            "CARECENTER_TWILIO_FROM_NUMBER": "+15005550006",
            "CARECENTER_TWILIO_API_BASE": twilio.base_url,
            "CARECENTER_LOG_FORMAT": "text",
        }
        | {f"CARECENTER_{name.upper()}": value for name, value in more.items()}
    )


def start_gateway(url: str, twilio: FakeTwilioApi) -> Gateway:
    """`python main.py gateway` with the watch listener, SMS through the SDK to the fake API; its log to a file."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "main.py", "gateway"],
        cwd=ROOT,
        env=gateway_env(url, twilio, port),
        preexec_fn=raise_fd_limit,
        stdout=subprocess.DEVNULL,
        stderr=log_file("gateway").open("w"),  # out of the way of the progress bars
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return Gateway(process, port)
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the gateway did not listen within 30 s")


def watch_ids(url: str) -> list[str]:
    """Make the seeded watches 4G watches: protocol watch-tcp, IMEI-like ids."""
    engine = make_engine(url)
    with engine.begin() as conn:
        ids = [row[0] for row in conn.execute(sa.text("SELECT id FROM device WHERE kind = 'watch' ORDER BY id"))]
        serials = [f"86{n:013d}" for n in ids]
        conn.execute(
            sa.text("UPDATE device SET protocol = 'watch-tcp', serial = :serial WHERE id = :id"),
            [{"serial": s, "id": n} for s, n in zip(serials, ids, strict=True)],
        )
    engine.dispose()
    return serials


@dataclass
class Figures:
    acks: list[float] = field(default_factory=list)  # seconds from LK/AL sent to its answer
    frames: int = 0
    closed: int = 0


class Watch:
    def __init__(self, serial: str, figures: Figures) -> None:
        self.serial, self.figures = serial, figures
        self.waiting: list[float] = []  # send times of frames the gateway answers, in order
        self.writer: asyncio.StreamWriter | None = None
        self.reading: asyncio.Task[None] | None = None

    async def connect(self, port: int) -> None:
        reader, self.writer = await asyncio.open_connection("127.0.0.1", port)
        self.reading = asyncio.create_task(self._read(reader))
        self.send("LK,0,0,90", answered=True)

    async def _read(self, reader: asyncio.StreamReader) -> None:
        frames = FrameReader()
        while data := await reader.read(4096):
            for _ in frames.feed(data):
                if self.waiting:
                    self.figures.acks.append(time.monotonic() - self.waiting.pop(0))
        self.figures.closed += 1

    def send(self, content: str, *, answered: bool) -> None:
        assert self.writer is not None
        if answered:
            self.waiting.append(time.monotonic())
        self.writer.write(encode("3G", self.serial, None, content))
        self.figures.frames += 1


def position(now: datetime, status: int = 0) -> str:
    return (
        f"{now:%d%m%y},{now:%H%M%S},A,39.76{random.randint(0, 99):02d},N,116.21{random.randint(0, 99):02d},E,"
        f"0.0,0.0,50,8,80,{random.randint(20, 100)},100,0,{status:08X},0"
    )


async def drive(watches: list[Watch], seconds: float, rate: float, lk_share: float, sos_every: float) -> list[float]:
    """Send `rate` frames/s for `seconds` (LK with `lk_share`, else positions and heart rates); SOS sent times."""
    sos_sent: list[float] = []
    start = time.monotonic()
    sent = 0
    next_sos = start + sos_every
    while (elapsed := time.monotonic() - start) < seconds:
        due = int(elapsed * rate) - sent
        for _ in range(due):
            watch = random.choice(watches)
            roll = random.random()
            if roll < lk_share:
                watch.send(f"LK,0,0,{random.randint(20, 100)}", answered=True)
            elif roll < (1 + lk_share) / 2:
                watch.send("UD," + position(datetime.now(UTC)), answered=False)
            else:
                watch.send(f"heart,{random.randint(60, 95)}", answered=False)
        sent += max(due, 0)
        if sos_every and time.monotonic() >= next_sos:
            random.choice(watches).send("AL," + position(datetime.now(UTC), status=1 << 16), answered=True)
            sos_sent.append(time.monotonic())
            next_sos += sos_every
        await asyncio.sleep(0.01)
    return sos_sent


async def run(
    kind: str,
    connections: int,
    seconds: float,
    peak_steps: list[int],
    settle: float = SETTLE_SECONDS,
    peak_for: float = 10,
) -> dict[str, Any]:
    """`settle` and `peak_for` (seconds) are shorter in the quick run, which checks the harness, not the figures."""
    raise_fd_limit()
    workdir = Path(tempfile.mkdtemp(prefix="carecenter-watches-"))
    url = database_url(kind, workdir, name="carecenter_bench_watches")
    seed(url, residents=connections, now=datetime.now(UTC))
    serials = watch_ids(url)
    twilio = FakeTwilioApi().start()
    gateway = start_gateway(url, twilio)
    figures = Figures()
    results: dict[str, Any] = {"database": kind, "connections": connections}
    try:
        rss_idle = gateway.rss_mb()
        watches = [Watch(serial, figures) for serial in serials]
        ramp = time.monotonic()
        with progress.phase(f"connect: {len(watches):,} watches, until each is answered", len(watches)) as advance:
            for n in range(0, len(watches), 500):  # open in waves, as watches come online after a restart
                await asyncio.gather(*(w.connect(gateway.port) for w in watches[n : n + 500]))
                await asyncio.sleep(0.2)
            answered = 0
            while len(figures.acks) < len(watches) and time.monotonic() - ramp < 600:
                await asyncio.sleep(0.5)  # every watch's first LK answered: all are known and connected
                advance(len(figures.acks) - answered)
                answered = len(figures.acks)
        results["all_connected_and_answered_s"] = round(time.monotonic() - ramp, 1)
        results["connect_p99_ms"] = round((percentile(figures.acks, 0.99) or 0) * 1000, 1)
        await asyncio.sleep(settle)  # the gateway records the 19,000 new connections: not steady state yet
        results["connections_held"] = len(watches) - figures.closed
        rss = gateway.rss_mb()
        results["rss_mb"] = round(rss, 1)
        results["rss_kb_per_connection"] = round((rss - rss_idle) * 1024 / max(1, len(watches)), 1)

        rate = connections / REPORT_EVERY + connections / LK_EVERY
        figures.acks.clear()
        frames_before, cpu_before, started = figures.frames, gateway.cpu_seconds(), time.monotonic()
        lk_share = (connections / LK_EVERY) / rate
        received_before = len(twilio.received)
        with progress.phase(f"steady: {rate:.0f} frames/s for {seconds:.0f} s", None):
            # 30 SOS: the p99 of nine would be their maximum
            sos_sent = await drive(watches, seconds, rate, lk_share, sos_every=max(1.0, seconds / 30))
        await asyncio.sleep(2)
        frames = figures.frames - frames_before
        results["frames_per_s"] = round(frames / (time.monotonic() - started - 2), 1)
        results["lk_p50_ms"] = round((percentile(figures.acks, 0.5) or 0) * 1000, 1)
        results["lk_p99_ms"] = round((percentile(figures.acks, 0.99) or 0) * 1000, 1)
        results["cpu_ms_per_1000_frames"] = round((gateway.cpu_seconds() - cpu_before) * 1000 / frames * 1000, 1)
        # Each SOS is a new alert that texts the residents' care worker first: one SMS to that number each.
        arrived = sorted(m.received_at for m in twilio.received[received_before:] if m.to == WORKER_PHONE)
        waits = [a - s for s, a in zip(sos_sent, arrived, strict=False)]
        results["sos_sent"], results["sos_sms"] = len(sos_sent), len(arrived)
        results["sos_to_sms_p99_ms"] = round((percentile(waits, 0.99) or 0) * 1000, 1)

        peak = 0
        for step in peak_steps:
            progress.note(f"peak: {step} frames/s for {peak_for:.0f} s")
            figures.acks.clear()
            await drive(watches, peak_for, step, 1.0, sos_every=0)
            await asyncio.sleep(1)
            p99 = percentile(figures.acks, 0.99) or 99.0
            results[f"peak_{step}_p99_ms"] = round(p99 * 1000, 1)
            if p99 > 1.0:
                break
            peak = step
        results["peak_frames_per_s"] = peak
        results["rss_mb_after"] = round(gateway.rss_mb(), 1)
        for watch in watches:
            if watch.writer is not None:
                watch.writer.close()
            if watch.reading is not None:
                watch.reading.cancel()
        await asyncio.gather(*(w.reading for w in watches if w.reading is not None), return_exceptions=True)
    finally:
        gateway.stop()
        twilio.stop()
    return results
