"""The `city` case of `python -m bench` (`--case city`): a city's watches on one box (#30, part 3).

100,000 watches hold connections to several `python main.py gateway` processes sharing one port
(CARECENTER_LISTENERS_SHARE_PORT: the kernel spreads the connections), at a city's load: 2,000
frames/s (each watch `LK` every 5 minutes and a position or heart rate every minute, scaled to
the rate) and an SOS every 2 s. This machine allows 20,000 descriptors a process, so the watches
come from several load processes (`python -m bench.city --load`, each from its own loopback
address, which also gives each its own 28,000 source ports) and the gateways are as many as
keep each under that limit when one of them is down.

Figures: connections held; frame (`LK`) to answer p50/p99; SOS to SMS at the (fake) provider
p99; RSS of each gateway process and in all. Then one gateway process is restarted while it holds
its share (SIGTERM, started again at once, as a supervisor does): its watches reconnect after a
random 0-5 s, as watches do, to whichever process the kernel gives them. How long after its
first reconnect attempt each is answered again (p99 and the slowest), and whether every `LK`
answered before the restart is stored (each `LK` carries a step count of its own, and the
readings are read back).
"""

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench import progress
from bench.harness import ROOT, database_cpu_seconds, database_url, free_port, log_file, percentile, seed
from bench.watches import WORKER_PHONE, Gateway, gateway_env, position, raise_fd_limit, rss_mb, watch_ids
from carecenter.db import make_engine
from carecenter.devices.watch_protocol import FrameReader, encode
from notifications.fake_twilio_api import FakeTwilioApi

LK_EVERY, REPORT_EVERY = 300.0, 60.0  # seconds, per watch
PER_PROCESS = 19_000  # descriptors: this machine allows 20,000 a process
RECONNECT_WITHIN = 5.0  # seconds: a watch whose connection dropped tries again after up to this
SOURCE_PORTS = (32768, 60999)  # the kernel's ephemeral range here (net.ipv4.ip_local_port_range)


# -- one load process -----------------------------------------------------------------------------
class CityWatch:
    """A watch: connects from `source`, answers counted per frame; each LK's step count is its own."""

    def __init__(self, serial: str, load: "Load") -> None:
        self.serial, self.load = serial, load
        self.waiting: list[tuple[float, int | None]] = []  # (sent, LK's steps) of frames the gateway answers
        self.writer: asyncio.StreamWriter | None = None
        self.steps = 0
        self.dropped_at: float | None = None  # when its connection dropped (restart phase)
        self.first_attempt: float | None = None
        self.reading: asyncio.Task[None] | None = None

    async def connect(self, source_port: int = 0) -> None:
        reader, self.writer = await asyncio.open_connection(
            "127.0.0.1", self.load.port, local_addr=(self.load.source, source_port)
        )
        self.reading = asyncio.create_task(self._read(reader))
        self.lk()

    async def _read(self, reader: asyncio.StreamReader) -> None:
        frames = FrameReader()
        try:
            while data := await reader.read(4096):
                for _ in frames.feed(data):
                    if self.waiting:
                        sent, steps = self.waiting.pop(0)
                        self.load.answered(self, time.monotonic() - sent, steps)
        except ConnectionError:
            pass
        self.writer, self.waiting = None, []
        self.load.closed(self)

    def send(self, content: str, *, answered: bool, steps: int | None = None) -> None:
        if self.writer is None or self.writer.is_closing():  # dropped: its read notices and reconnects
            return
        if answered:
            self.waiting.append((time.monotonic(), steps))
        self.writer.write(encode("3G", self.serial, None, content))
        self.load.frames += 1

    def lk(self) -> None:
        self.steps += 1
        self.send(f"LK,{self.steps},0,{random.randint(20, 100)}", answered=True, steps=self.steps)


class Load:
    """The watches of one load process, driven by the commands on stdin (one JSON per line)."""

    def __init__(self, port: int, source: str, serials: list[str]) -> None:
        self.port, self.source = port, source
        self.watches = [CityWatch(serial, self) for serial in serials]
        self.acks: list[float] = []
        self.frames = 0
        self.stored_steps: dict[str, list[int]] = {}  # LK answered (so committed), by watch
        self.restarting = False
        self.reconnect_waits: list[float] = []  # first reconnect attempt to the first answer, seconds
        self.lost = 0  # connections that dropped outside the restart phase

    def answered(self, watch: CityWatch, seconds: float, steps: int | None) -> None:
        self.acks.append(seconds)
        if steps is not None and not self.restarting:
            self.stored_steps.setdefault(watch.serial, []).append(steps)
        if watch.first_attempt is not None:
            self.reconnect_waits.append(time.monotonic() - watch.first_attempt)
            watch.first_attempt = None

    def closed(self, watch: CityWatch) -> None:
        if not self.restarting:
            self.lost += 1
            return
        watch.dropped_at = time.monotonic()
        asyncio.get_running_loop().create_task(self._reconnect(watch))

    async def _reconnect(self, watch: CityWatch) -> None:
        await asyncio.sleep(random.uniform(0, RECONNECT_WITHIN))
        watch.first_attempt = time.monotonic()
        while True:
            try:
                # A new source port, as a carrier's NAT gives a watch that reconnects. Left to the
                # kernel, a bound address gets back the port it just freed: the same four-tuple, so
                # the same place in the processes sharing the port (since the restart, another process).
                await watch.connect(random.randint(*SOURCE_PORTS))
                return
            except OSError:  # that port is taken (or the connection failed): another
                await asyncio.sleep(0.05)

    async def connect_all(self) -> None:
        for n in range(0, len(self.watches), 250):  # in waves, as watches come online
            await asyncio.gather(*(w.connect() for w in self.watches[n : n + 250]))
            await asyncio.sleep(0.1)
        deadline = time.monotonic() + 600
        while len(self.acks) < len(self.watches) and time.monotonic() < deadline:
            await asyncio.sleep(0.2)

    async def drive(self, seconds: float, rate: float, sos_every: float) -> list[float]:
        """`rate` frames/s (LK, positions, heart rates in the documented proportions); SOS sent times."""
        lk_share = (1 / LK_EVERY) / (1 / LK_EVERY + 1 / REPORT_EVERY)
        sos_sent: list[float] = []
        start, sent = time.monotonic(), 0
        next_sos = start + random.uniform(0, sos_every) if sos_every else float("inf")
        while (elapsed := time.monotonic() - start) < seconds:
            for _ in range(int(elapsed * rate) - sent):
                watch = random.choice(self.watches)
                roll = random.random()
                if roll < lk_share:
                    watch.lk()
                elif roll < (1 + lk_share) / 2:
                    watch.send("UD," + position(datetime.now(UTC)), answered=False)
                else:
                    watch.send(f"heart,{random.randint(60, 95)}", answered=False)
            sent = max(sent, int(elapsed * rate))
            if time.monotonic() >= next_sos:
                watch = random.choice(self.watches)
                if watch.writer is not None and not watch.writer.is_closing():
                    watch.send("AL," + position(datetime.now(UTC), status=1 << 16), answered=True)
                    sos_sent.append(time.monotonic())
                next_sos += sos_every
            await asyncio.sleep(0.01)
        return sos_sent


async def _load_main(port: int, source: str, serials: list[str]) -> None:
    load = Load(port, source, serials)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    def say(**values: Any) -> None:
        print(json.dumps(values), flush=True)

    while line := await reader.readline():
        command = json.loads(line)
        what = command["do"]
        if what == "connect":
            started = time.monotonic()
            await load.connect_all()
            say(connected=len(load.watches), seconds=time.monotonic() - started, rss_mb=rss_mb(os.getpid()))
        elif what == "steady":
            load.acks.clear()
            frames = load.frames
            sos = await load.drive(command["seconds"], command["rate"], command["sos_every"])
            await asyncio.sleep(2)
            say(acks=load.acks, sos_sent=sos, frames=load.frames - frames, lost=load.lost)
        elif what == "restart":
            load.restarting = True
            await load.drive(command["seconds"], command["rate"], 0)
            dropped = [w for w in load.watches if w.dropped_at is not None]
            say(
                dropped=len(dropped),
                unanswered=sum(1 for w in dropped if w.first_attempt is not None or w.writer is None),
                reconnect_waits=load.reconnect_waits,
                stored_steps=load.stored_steps,
            )
        elif what == "stop":
            return


# -- the parent -----------------------------------------------------------------------------------
def start_gateway(url: str, twilio: FakeTwilioApi, port: int, name: str) -> Gateway:
    """A `gateway` process named `name`, sharing `port` with the others; returns once it listens."""
    everywhere = "0.0.0.0"  # noqa: S104 - all of loopback: the watches come from several addresses
    env = gateway_env(url, twilio, port, watch_host=everywhere, listeners_share_port="true", process_name=name)
    popen = subprocess.Popen(
        [sys.executable, "main.py", "gateway"],
        cwd=ROOT,
        env=env,
        preexec_fn=raise_fd_limit,
        stdout=subprocess.PIPE,
        stderr=log_file(name).open("w"),
        text=True,
    )
    assert popen.stdout is not None
    line = popen.stdout.readline()  # "gateway running" once its listener listens
    if "running" not in line:
        popen.kill()
        raise RuntimeError(f"{name} did not start: {line!r}")
    return Gateway(popen, port)


class LoadProcess:
    def __init__(self, port: int, source: str, serials: list[str], workdir: Path) -> None:
        listed = workdir / f"serials-{source}.json"
        listed.write_text(json.dumps(serials))
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "bench.city", "--load", "--port", str(port), "--source", source],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log_file(f"load-{source}").open("w"),
            text=True,
            preexec_fn=raise_fd_limit,
            env=os.environ | {"CITY_SERIALS": str(listed)},
        )

    def send(self, **command: Any) -> None:
        stdin = self.popen.stdin
        assert stdin is not None
        stdin.write(json.dumps(command) + "\n")
        stdin.flush()

    def answer(self) -> dict[str, Any]:
        assert self.popen.stdout is not None
        line = self.popen.stdout.readline()
        if not line:
            raise RuntimeError("a load process stopped; see its log")
        result: dict[str, Any] = json.loads(line)
        return result


def _stored_steps(url: str) -> dict[str, set[int]]:
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT d.serial, r.steps FROM reading r JOIN device d ON d.id = r.device_id "
                "WHERE r.kind = 'heartbeat' AND r.steps IS NOT NULL"
            )
        ).all()
    engine.dispose()
    stored: dict[str, set[int]] = {}
    for serial, steps in rows:
        stored.setdefault(serial, set()).add(int(steps))
    return stored


def run(
    kind: str, watches: int, gateways: int, loads: int, seconds: float, rate: float, after_restart: float = 60.0
) -> dict[str, Any]:
    """`watches` over `gateways` processes sharing a port, from `loads` load processes; `after_restart`
    seconds of load once one gateway process was restarted."""
    workdir = Path(tempfile.mkdtemp(prefix="carecenter-city-"))
    url = database_url(kind, workdir, name="carecenter_bench_city")
    seed(url, residents=watches, now=datetime.now(UTC))
    serials = watch_ids(url)
    twilio = FakeTwilioApi().start()
    port = free_port()
    names = [f"gateway-{n + 1}" for n in range(gateways)]
    results: dict[str, Any] = {"database": kind, "watches": watches, "gateway_processes": gateways}
    processes: dict[str, Gateway] = {}
    drivers: list[LoadProcess] = []
    try:
        with progress.phase(f"start: {gateways} gateway processes on one port", gateways) as advance:
            for name in names:
                processes[name] = start_gateway(url, twilio, port, name)
                advance(1)
        idle_rss = sum(p.rss_mb() for p in processes.values())
        share = -(-len(serials) // loads)
        drivers = [
            LoadProcess(port, f"127.0.0.{n + 2}", serials[n * share : (n + 1) * share], workdir) for n in range(loads)
        ]
        with progress.phase(f"connect: {watches:,} watches from {loads} load processes", None):
            for driver in drivers:
                driver.send(do="connect")
            connected = [driver.answer() for driver in drivers]
        results["all_connected_and_answered_s"] = round(max(c["seconds"] for c in connected), 1)
        time.sleep(10)  # the gateways record the new connections: not steady state yet
        rss = {name: round(p.rss_mb(), 1) for name, p in processes.items()}
        results["rss_mb_per_process"] = ", ".join(f"{v:.0f}" for v in rss.values())
        results["rss_mb_total"] = round(sum(rss.values()), 1)
        results["rss_kb_per_connection"] = round((sum(rss.values()) - idle_rss) * 1024 / watches, 1)
        results["load_rss_mb_total"] = round(sum(c["rss_mb"] for c in connected), 1)

        received_before = len(twilio.received)
        cpu_before = sum(p.cpu_seconds() for p in processes.values())
        database_before = database_cpu_seconds() if kind == "postgresql" else 0.0
        with progress.phase(f"steady: {rate:.0f} frames/s and an SOS every 2 s for {seconds:.0f} s", None):
            for driver in drivers:
                driver.send(do="steady", seconds=seconds, rate=rate / loads, sos_every=2.0 * loads)
            steady = [driver.answer() for driver in drivers]
        frames = sum(s["frames"] for s in steady)
        gateways_cpu = sum(p.cpu_seconds() for p in processes.values()) - cpu_before
        # Where the box's two cores go at a city's load: the gateways', and PostgreSQL's (all its processes).
        results["gateway_cpu_ms_per_1000_frames"] = round(gateways_cpu * 1e6 / max(frames, 1), 1)
        if kind == "postgresql":
            database_cpu = database_cpu_seconds() - database_before
            results["database_cpu_ms_per_1000_frames"] = round(database_cpu * 1e6 / max(frames, 1), 1)
        acks = [a for s in steady for a in s["acks"]]
        results["frames_per_s"] = round(frames / seconds, 1)
        results["lk_p50_ms"] = round((percentile(acks, 0.5) or 0) * 1000, 1)
        results["lk_p99_ms"] = round((percentile(acks, 0.99) or 0) * 1000, 1)
        sos_sent = sorted(t for s in steady for t in s["sos_sent"])
        arrived = sorted(m.received_at for m in twilio.received[received_before:] if m.to == WORKER_PHONE)
        waits = [a - s for s, a in zip(sos_sent, arrived, strict=False)]
        results["sos_sent"], results["sos_sms"] = len(sos_sent), len(arrived)
        results["sos_to_sms_p50_ms"] = round((percentile(waits, 0.5) or 0) * 1000, 1)
        results["sos_to_sms_p99_ms"] = round((percentile(waits, 0.99) or 0) * 1000, 1)
        results["connections_lost_before_restart"] = sum(s["lost"] for s in steady)

        restarted = names[0]
        with progress.phase(f"restart: {restarted} while it holds its share, then {after_restart:.0f} s", None):
            for driver in drivers:
                driver.send(do="restart", seconds=after_restart, rate=rate / loads)
            processes[restarted].stop()
            processes[restarted] = start_gateway(url, twilio, port, restarted)
            after = [driver.answer() for driver in drivers]
        waits_back = [w for a in after for w in a["reconnect_waits"]]
        results["restart_watches_dropped"] = sum(a["dropped"] for a in after)
        results["restart_watches_not_back"] = sum(a["unanswered"] for a in after)
        results["restart_answered_again_p99_s"] = round(percentile(waits_back, 0.99) or 0, 2)
        results["restart_answered_again_max_s"] = round(max(waits_back, default=0), 2)
        answered = [(serial, steps) for a in after for serial, many in a["stored_steps"].items() for steps in many]
        stored = _stored_steps(url)
        results["answered_lk_before_restart"] = len(answered)
        results["answered_lk_lost"] = sum(1 for serial, steps in answered if steps not in stored.get(serial, set()))
        for driver in drivers:
            driver.send(do="stop")
    finally:
        for driver in drivers:
            driver.popen.kill()
        for process in processes.values():
            process.stop()
        twilio.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description="a load process of the city case (started by python -m bench)")
    parser.add_argument("--load", action="store_true", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--source", required=True)
    args = parser.parse_args()
    serials = json.loads(Path(os.environ["CITY_SERIALS"]).read_text())
    try:
        import uvloop

        uvloop.run(_load_main(args.port, args.source, serials))
    except ImportError:
        asyncio.run(_load_main(args.port, args.source, serials))


if __name__ == "__main__":
    main()
