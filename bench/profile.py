"""`python -m bench.profile [--db postgresql|sqlite] [--batches N] [--clients N] [--single]`: where time goes.

Starts the benchmark server (uvicorn, its own process) on a fresh seeded database, attaches
py-spy to it while batches of 1,000 readings (or, with --single, single readings from 64
clients) are posted, and prints the functions with the most samples, inclusive and self.
Needs py-spy (`pip install py-spy`) and permission to trace the server (root, or ptrace_scope 0).
"""

import argparse
import collections
import random
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from bench import cases
from bench.harness import SMS_RATE, database_url, now, seed, seed_fanout, start_server
from notifications.fake_twilio_api import FakeTwilioApi


def summarize(raw: Path, top: int) -> str:
    """Inclusive and self sample counts per function from py-spy's collapsed stacks."""
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [f.split(" (")[0] + " (" + f.split(" (")[-1] for f in stack.split(";") if f]
        n = int(count)
        total += n
        for frame in set(frames):
            inclusive[frame] += n
        if frames:
            own[frames[-1]] += n
    lines = [f"{total} samples", "", "inclusive (functions of this project and the libraries it calls):"]
    for frame, n in inclusive.most_common(top * 3):
        if any(part in frame for part in ("carecenter/", "notifications/", "sqlalchemy/", "pydantic", "fastapi/")):
            lines.append(f"  {100 * n / total:5.1f}%  {frame}")
    lines += ["", "self:"]
    lines += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in own.most_common(top)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--single", action="store_true", help="single readings from 64 clients instead of batches")
    parser.add_argument("--fanout", action="store_true", help="every watch of 200 presses SOS at once (4 SMS each)")
    parser.add_argument("--clients", type=int, default=1, help="batches posted at once")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--gil", action="store_true", help="sample only threads holding the GIL: where the CPU goes")
    args = parser.parse_args()
    spy_path = shutil.which("py-spy")
    if spy_path is None:  # checked first: a server started and left behind would run its jobs for ever
        raise SystemExit("py-spy is not on PATH: pip install py-spy")
    workdir = Path(tempfile.mkdtemp(prefix="carecenter-profile-"))
    url = database_url(args.db, workdir)
    seeded = seed(url, residents=5000, now=now())
    fanout = seed_fanout(url, alerts=200, now=now()) if args.fanout else None
    twilio = FakeTwilioApi().start()
    server = start_server(url, twilio, extra_env={"CARECENTER_SMS_RATE_PER_SECOND": str(SMS_RATE)})
    raw = workdir / "profile.txt"
    command = ["record", "--pid", str(server.process.pid), "--format", "raw", "--output", str(raw), "--rate", "200"]
    if args.gil:
        command.append("--gil")
    spy = subprocess.Popen([spy_path, *command])
    try:
        if fanout is not None:
            figures = cases.sms_fanout(server, fanout, twilio, rate_limit=SMS_RATE)
        elif args.single:
            figures = cases.single_readings(server.url, cases.checkin_requests(seeded, args.batches * 100), clients=64)
        else:
            figures = cases.batch_ingestion(server, seeded, batches=args.batches, clients=args.clients)
    finally:
        spy.send_signal(signal.SIGINT)
        spy.wait(30)
        server.stop()
        twilio.stop()
    print(figures)
    print(summarize(raw, args.top))


if __name__ == "__main__":
    random.seed(1)
    main()
