"""CareCenter composition root: `create_app(settings)` and the command line.

python main.py demo --host 127.0.0.1 --port 8000   # embedded SQLite, demo data, console SMS
python main.py serve                               # production start
python main.py migrate                             # apply database migrations
python main.py create-admin --username NAME ...    # first admin account
python main.py simulate                            # readings for the demo's devices
python main.py scheduler                           # the scheduled jobs in their own process
python main.py gateway                             # the device listeners and MQTT subscriber alone
"""

import argparse
import asyncio
import contextlib
import getpass
import json
import logging
import os
import secrets
import signal
import socket
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import uvicorn
from fastapi import FastAPI
from sqlmodel import Session
from uvicorn.supervisors import Multiprocess

from carecenter import collector
from carecenter.access import Role
from carecenter.alerts.service import mark_unverified_alerts
from carecenter.app import Service, create_app
from carecenter.context import app_context
from carecenter.db import make_engine
from carecenter.devices.protocol import DeviceProtocolSpec
from carecenter.devices.registry import PROTOCOLS
from carecenter.gateway.listener import DeviceListener
from carecenter.gateway.mqtt_subscriber import MqttSubscriber
from carecenter.health.watch import SelfWatch, live_processes, process_name
from carecenter.logs import configure_logging
from carecenter.migrate import schema_is_current, upgrade_to_head
from carecenter.settings import Settings
from carecenter.staff.models import StaffCreate
from carecommon.clock import utcnow
from schedules.scheduler import SweepScheduler
from schedules.settings import ScheduleSettings

__all__ = ["build_app", "create_app", "main"]

log = logging.getLogger("carecenter")
DEMO_KEYS_FILE = Path("carecenter-demo-keys.json")  # in the working directory, beside the demo database
SIMULATED_WATCHES = 10  # the demo's watches the simulator drives over TCP
SIMULATED_TRACKERS = 5  # and its GT06 pendants


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _require_current_schema(settings: Settings) -> bool:
    engine = make_engine(settings.database_url)
    try:
        return schema_is_current(engine)
    finally:
        engine.dispose()


def device_services(settings: Settings, role: str) -> list[Callable[[FastAPI], Service]]:
    """The device adapters the settings switch on: a listener per protocol with a port, the MQTT subscriber.

    The listeners know this process by its heartbeat's name, and the others alive by theirs."""
    devices = settings.devices
    name = process_name(settings.health, role)

    def live(session: Session) -> set[str]:
        return live_processes(session, now=utcnow(), settings=settings.health)

    def listener(protocol: DeviceProtocolSpec) -> Callable[[FastAPI], Service]:
        return lambda app: DeviceListener(
            protocol=protocol,
            engine=app_context(app).engine,
            checkins=app_context(app).checkins,
            settings=devices,
            clock=utcnow,
            media=app_context(app).media,
            unverified=mark_unverified_alerts,
            name=name,
            live=live,
        )

    services = [listener(p) for name, p in PROTOCOLS.items() if devices.listener_address(name) is not None]
    if devices.mqtt_url:
        services.append(lambda app: MqttSubscriber(checkins=app_context(app).checkins, settings=devices, clock=utcnow))
    return services


def build_app(
    settings: Settings, extra_services: Sequence[Callable[[FastAPI], Service]] = (), *, devices: bool = True
) -> FastAPI:
    """The app with the scheduler and the device adapters beside it (when enabled): what `serve` and `demo` run."""
    schedule = ScheduleSettings()

    def scheduler(app: FastAPI) -> SweepScheduler:
        app.state.scheduler = SweepScheduler(
            engine=app_context(app).engine,
            messaging=app_context(app).alert_messaging,
            rules=app_context(app).visit_rules,
            settings=schedule,
            clock=utcnow,
            media=app_context(app).media,
        )
        return app.state.scheduler  # type: ignore[no-any-return]

    services: list[Callable[[FastAPI], Service]] = [scheduler] if schedule.scheduler_enabled else []
    if devices:
        services.extend(device_services(settings, "web"))
    return create_app(settings, services=[*services, self_watch("web"), *extra_services])


def self_watch(role: str) -> Callable[[FastAPI], SelfWatch]:
    """The process's heartbeat and the platform's self-check (see carecenter/health/watch.py); the
    process whose scheduler holds the lock also pings the dead-man's switch."""

    def leads(app: FastAPI) -> bool:
        scheduler: SweepScheduler | None = getattr(app.state, "scheduler", None)
        return scheduler is not None and scheduler.leader.is_leader

    return lambda app: SelfWatch(
        engine=app_context(app).engine,
        messaging=app_context(app).alert_messaging,
        settings=app_context(app).settings.health,
        role=role,
        clock=utcnow,
        dispatcher=app_context(app).sms.dispatcher,
        leads=lambda: leads(app),
    )


def cmd_migrate(settings: Settings, _args: argparse.Namespace) -> int:
    upgrade_to_head(settings.database_url)
    print("database is at the latest migration")
    return 0


WORKER_HEALTHCHECK_SECONDS = 60


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    problems = settings.production_problems()
    if problems:
        return _fail("refusing a production start:\n  " + "\n  ".join(problems))
    if not _require_current_schema(settings):
        return _fail("the database schema is not at the latest migration; run `python main.py migrate` first")
    options: dict[str, Any] = {"log_config": None, "proxy_headers": True, "access_log": settings.access_log}
    if args.workers == 1:
        app = build_app(settings)
        collector.freeze_startup()
        uvicorn.run(app, host=args.host, port=args.port, **options)
        return 0
    if settings.database_url.startswith("sqlite"):
        return _fail("--workers needs PostgreSQL: SQLite takes one writer at a time; run one process")
    if device_services(settings, "web"):
        print("note: with --workers the device listeners and MQTT run in their own process: python main.py gateway")
    # uvicorn restarts a worker that does not answer its health check within 5 s; a worker still
    # importing and building the app on a busy machine is not dead (it was killed in a loop).
    config = uvicorn.Config(
        "main:app_factory",
        factory=True,
        workers=args.workers,
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        **options,
    )
    Multiprocess(config, sockets=[listening_socket(args.host, args.port)]).run()
    return 0


def listening_socket(host: str, port: int) -> socket.socket:
    """The socket the worker processes share. Made here rather than by uvicorn: asyncio turns
    Nagle off (TCP_NODELAY) only on connections of a socket created with proto IPPROTO_TCP, and
    uvicorn's own has proto 0, which costs ~40 ms a response (Nagle meets delayed ACKs)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def demo_settings(settings: Settings, url: str) -> Settings:
    """The demo's settings: links in its SMS point at where it serves, unless a public URL was set."""
    if "public_url" in settings.model_fields_set:
        return settings
    return settings.model_copy(update={"public_url": url})


def port_or_any(host: str, port: int) -> int:
    """`port` if it is free on `host`, else one the system picks (the demo must start anyway)."""
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            sock.bind((host, 0))
        return int(sock.getsockname()[1])


def broker_reachable(host: str = "127.0.0.1", port: int = 1883) -> bool:
    try:
        socket.create_connection((host, port), timeout=0.5).close()
    except OSError:
        return False
    return True


def demo_devices(settings: Settings, host: str, watch_port: int, gt06_port: int) -> Settings:
    """The demo listens for watches and GT06 trackers, and uses a local MQTT broker if one is running."""
    devices = settings.devices
    if devices.watch_port is None:
        devices = devices.model_copy(update={"watch_port": port_or_any(host, watch_port), "watch_host": host})
    if devices.gt06_port is None:
        devices = devices.model_copy(update={"gt06_port": port_or_any(host, gt06_port), "gt06_host": host})
    if devices.mqtt_url is None and broker_reachable():
        devices = devices.model_copy(update={"mqtt_url": "mqtt://127.0.0.1:1883"})
    return settings.model_copy(update={"devices": devices})


def mqtt_publisher(url: str) -> Callable[[str, str], None]:
    """What the simulator's MQTT gateway publishes with (QoS 1, like a gateway)."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    parts = urlsplit(url)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"carecenter-demo-gateway-{os.getpid()}")
    client.connect(parts.hostname or "127.0.0.1", parts.port or 1883)
    client.loop_start()

    def publish(topic: str, payload: str) -> None:
        client.publish(topic, payload, qos=1)

    return publish


def demo_provider(settings: Settings, provider: str) -> Settings:
    """The demo sends through `provider`'s official SDK to its local stand-in (and WeChat's), printing
    what each received; the stand-ins report delivery as the providers do."""
    if provider == "console":
        return settings
    from notifications import stand_ins  # the demo's alone: a production process never loads the stand-ins
    from notifications.fake_api import LocalApi
    from notifications.fake_twilio_api import FakeTwilioApi
    from notifications.provider_webhooks import callback_key_of, receipt_urls_of
    from notifications.wechat_webhooks import WECHAT_PATH

    def echo(line: str) -> None:
        print(f"  [{provider} received] {line}", flush=True)

    fakes: dict[str, Any] = {"wechat": stand_ins.wechat_stand_in(echo)}
    if provider == "twilio":
        fakes["twilio"] = FakeTwilioApi(echo=echo).start()
    elif provider == "aliyun":
        fakes["aliyun"] = stand_ins.aliyun_stand_in(echo)
    else:
        fakes["tencent"] = stand_ins.tencent_stand_in(echo)
    for fake in fakes.values():
        if isinstance(fake, LocalApi):
            fake.auto_report = True
    sms = stand_ins.pointed_at(settings.sms, **fakes, sms_provider=provider)
    public = settings.public_url.rstrip("/")
    urls = receipt_urls_of(public, callback_key_of(sms, settings.secret_key.get_secret_value().encode()))
    if "aliyun" in fakes:
        fakes["aliyun"].sms_report_url, fakes["aliyun"].voice_report_url = urls["aliyun_sms"], urls["aliyun_voice"]
    if "tencent" in fakes:
        fakes["tencent"].sms_callback_url, fakes["tencent"].voice_callback_url = (
            urls["tencent_sms"],
            urls["tencent_voice"],
        )
    fakes["wechat"].server_url = f"{public}{WECHAT_PATH}"
    return settings.model_copy(update={"sms": sms})


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    from carecenter.demo.seed import seed_demo  # the demo's alone, as the stand-ins
    from carecenter.demo.simulator import Simulator
    from notifications import stand_ins

    settings = demo_settings(settings, f"http://{args.host}:{args.port}")
    settings = demo_devices(settings, args.host, args.watch_port, args.gt06_port)
    settings = demo_provider(settings, args.provider)
    upgrade_to_head(settings.database_url)
    password = settings.demo_password.get_secret_value() if settings.demo_password else secrets.token_urlsafe(9)
    engine = make_engine(settings.database_url)
    with Session(engine) as session:
        summary = seed_demo(session=session, password=password, now=utcnow(), rules=settings.visit_rules())
        stand_ins.approve_all(session, "aliyun", "tencent", "wechat")  # the codes the stand-ins approved
        session.commit()
    engine.dispose()

    url = f"http://{args.host}:{args.port}"
    print("CareCenter demo" + (" (new demo data)" if summary.created else " (existing demo data)"))
    print(f"  database: {settings.database_url}")
    for name, residents in summary.centers.items():
        print(f"  center: {name}, {residents} residents")
    print(f"  open:     {url}   API docs: {url}/docs")
    print("  logins (all share one password):")
    for account in summary.accounts:
        if account.username in ("admin", "manager", "worker", "dd_manager"):
            print(f"    {account.username:<11} {account.role.value:<12} {account.center or 'all centers'}")
    others = sum(1 for a in summary.accounts if a.username not in ("admin", "manager", "worker", "dd_manager"))
    print(f"    … and {others} more care workers (worker02…, dd_worker01…)")
    print(
        f"  password: {password}"
        + ("" if settings.demo_password else "   (set CARECENTER_DEMO_PASSWORD to choose one)")
    )
    watch_port, gt06_port = settings.devices.watch_port, settings.devices.gt06_port
    keys = {
        "gateways": summary.gateways,
        "watches": summary.watches,
        "watch_address": [args.host, watch_port],
        "trackers": summary.trackers,
        "gt06_address": [args.host, gt06_port],
    }
    DEMO_KEYS_FILE.write_text(json.dumps(keys, indent=1))
    devices = sum(len(g["devices"]) for g in summary.gateways)
    print(f"  devices:  {devices} pendants behind {len(summary.gateways)} gateways; keys in {DEMO_KEYS_FILE}")
    print(f"  watches:  {len(summary.watches)} 4G watches; the watch listener is on {args.host}:{watch_port}")
    print(f"  trackers: {len(summary.trackers)} GT06 pendants; the GT06 listener is on {args.host}:{gt06_port}")
    mqtt_url = settings.devices.mqtt_url
    print(f"  MQTT:     {mqtt_url} (topic carecenter/<center>/<gateway>/readings)" if mqtt_url else "  MQTT:     off")
    if args.provider == "console":
        print("  SMS:      the console sender logs every message here; GET /api/v1/notifications is the message log")
    else:
        print(f"  SMS:      {args.provider} through its SDK to a local stand-in, which prints what it received;")
        print("            WeChat likewise; /messages is the message log, /manage/templates the template codes")
    sys.stdout.flush()
    if args.no_serve:
        return 0
    extra: list[Callable[[FastAPI], Service]] = []
    if args.simulate:
        client = httpx.Client(base_url=url, timeout=10)
        publish = mqtt_publisher(mqtt_url) if mqtt_url else None
        extra.append(
            lambda _app: Simulator(
                client=client,
                gateways=summary.gateways,
                rate=args.rate,
                password=password,
                watch_address=(args.host, watch_port) if watch_port else None,
                watches=summary.watches[:SIMULATED_WATCHES],
                gt06_address=(args.host, gt06_port) if gt06_port else None,
                trackers=summary.trackers[:SIMULATED_TRACKERS],
                publish=publish,
            )
        )
        print(f"  simulator: {args.rate:g} readings/s with occasional falls and SOS; care workers answer after ~30 s")
        over = f"{SIMULATED_WATCHES} watches and {SIMULATED_TRACKERS} GT06 pendants over TCP"
        print(f"             {over}" + (", one gateway over MQTT" if publish else ""))
    uvicorn.run(build_app(settings, extra_services=extra), host=args.host, port=args.port, log_config=None)
    return 0


def cmd_simulate(settings: Settings, args: argparse.Namespace) -> int:
    from carecenter.demo.simulator import Simulator

    try:
        keys = json.loads(Path(args.keys).read_text())
        gateways = keys["gateways"]
    except (OSError, ValueError, KeyError) as exc:
        return _fail(f"cannot read the demo's device keys from {args.keys} ({exc}); run `python main.py demo` first")
    password = settings.demo_password.get_secret_value() if settings.demo_password else None
    with httpx.Client(base_url=args.url, timeout=10) as client:
        address, gt06 = keys.get("watch_address"), keys.get("gt06_address")
        simulator = Simulator(
            client=client,
            gateways=gateways,
            rate=args.rate,
            password=password,
            watch_address=(address[0], address[1]) if address and address[1] else None,
            watches=keys.get("watches", [])[:SIMULATED_WATCHES],
            gt06_address=(gt06[0], gt06[1]) if gt06 and gt06[1] else None,
            trackers=keys.get("trackers", [])[:SIMULATED_TRACKERS],
        )
        hint = "" if password else " (set CARECENTER_DEMO_PASSWORD to have the care workers answer)"
        print(f"simulating {args.rate:g} readings/s against {args.url}{hint}")
        with contextlib.suppress(KeyboardInterrupt):
            simulator.run(duration=args.duration)
    print(f"posted {simulator.posted} readings, answered {simulator.answered} alerts")
    return 0


def cmd_scheduler(settings: Settings, _args: argparse.Namespace) -> int:
    """The sweeps (and an SMS dispatcher) in their own process, for web processes run without them."""
    if not _require_current_schema(settings):
        return _fail("the database schema is not at the latest migration; run `python main.py migrate` first")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):  # before anything starts: a stop is never missed
        signal.signal(sig, lambda *_: stop.set())
    app = create_app(settings)  # only for its engine, messaging and dispatcher: nothing is served
    collector.freeze_startup()
    scheduler = SweepScheduler(
        engine=app_context(app).engine,
        messaging=app_context(app).alert_messaging,
        rules=app_context(app).visit_rules,
        settings=ScheduleSettings(),
        clock=utcnow,
        media=app_context(app).media,
    )
    app_context(app).sms.dispatcher.start()
    scheduler.start()
    app.state.scheduler = scheduler
    watch = self_watch("scheduler")(app)
    watch.start()
    print(
        "scheduler running (Ctrl-C to stop); on PostgreSQL it runs jobs only while it holds the leader lock", flush=True
    )
    while not stop.wait(0.5):
        pass
    watch.stop()
    scheduler.stop()
    app_context(app).sms.dispatcher.stop()
    app_context(app).engine.dispose()
    print("scheduler stopped", flush=True)
    return 0


def cmd_gateway(settings: Settings, _args: argparse.Namespace) -> int:
    """The device adapters in their own process (a district's gateway box), with an SMS dispatcher."""
    services = device_services(settings, "gateway")
    if not services:
        return _fail("nothing to run: set CARECENTER_WATCH_PORT, CARECENTER_GT06_PORT and/or CARECENTER_MQTT_URL")
    problems = settings.production_problems()  # alerts it raises page people: as `serve`, or not at all
    if problems:
        return _fail("refusing a production start:\n  " + "\n  ".join(problems))
    if not _require_current_schema(settings):
        return _fail("the database schema is not at the latest migration; run `python main.py migrate` first")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    # The app's own lifespan starts and stops the adapters, the check-in writer and the dispatcher;
    # nothing is served over HTTP, so the API and the pages are not even loaded.
    app = create_app(settings, services=[*services, self_watch("gateway")], http=False)
    collector.tune_for_connections()

    async def run() -> None:
        async with app.router.lifespan_context(app):
            print("gateway running (Ctrl-C to stop)", flush=True)
            while not stop.is_set():
                await asyncio.sleep(0.5)

    asyncio.run(run())
    print("gateway stopped", flush=True)
    return 0


def cmd_create_admin(settings: Settings, args: argparse.Namespace) -> int:
    from carecenter.access import Actor
    from carecenter.errors import DomainError
    from carecenter.staff.service import create_staff

    password = os.environ.get("CARECENTER_ADMIN_PASSWORD")
    if not password:
        if not sys.stdin.isatty():
            return _fail("set CARECENTER_ADMIN_PASSWORD or run in a terminal to type the password")
        password = getpass.getpass("password for the new admin: ")
    try:
        data = StaffCreate(name=args.name, phone=args.phone, username=args.username, password=password, role=Role.admin)
    except ValueError as exc:
        return _fail(str(exc))
    if not _require_current_schema(settings):
        return _fail("the database schema is not at the latest migration; run `python main.py migrate` first")
    engine = make_engine(settings.database_url)
    # The command line acts with admin authority; the audit trail records it as "cli".
    cli = Actor(staff_id=None, username="cli", role=Role.admin, center_id=None, client_addr="cli")
    with Session(engine) as session:
        try:
            staff = create_staff(session=session, actor=cli, data=data, now=utcnow())
        except DomainError as exc:
            return _fail(exc.message)
        session.commit()
        print(f"admin {staff.username!r} created (id {staff.id})")
    engine.dispose()
    return 0


def cmd_backup(settings: Settings, args: argparse.Namespace) -> int:
    from carecenter.backup import BackupError, backup, backup_media

    target = Path(args.out or f"carecenter-backup-{utcnow():%Y%m%dT%H%M%SZ}.dump")
    try:
        backup(settings.database_url, target)
    except BackupError as exc:
        return _fail(str(exc))
    print(f"backup written to {target} ({target.stat().st_size:,} bytes)")
    if settings.media.media_s3_bucket:
        print(f"media are in the bucket {settings.media.media_s3_bucket}: back it up with the store's own means")
    elif archive := backup_media(Path(settings.media.media_dir), target):
        print(f"media written to {archive} ({archive.stat().st_size:,} bytes)")
    return 0


def cmd_restore(settings: Settings, args: argparse.Namespace) -> int:
    from carecenter.backup import BackupError, restore, restore_media

    if not args.yes:
        return _fail("a restore replaces everything in the database; stop the servers and add --yes to go ahead")
    try:
        restore(settings.database_url, Path(args.backup))
    except BackupError as exc:
        return _fail(str(exc))
    print(f"restored {args.backup}; run `python main.py migrate` if it came from an older version")
    if not settings.media.media_s3_bucket and (
        archive := restore_media(Path(args.backup), Path(settings.media.media_dir))
    ):
        print(f"media restored from {archive}")
    return 0


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"a whole number of at least 1, not {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python main.py", description="CareCenter: elderly-care center service")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="production start (refuses the default secret key)")
    serve.add_argument("--host", default="0.0.0.0")  # noqa: S104 - a server is meant to listen
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--workers", type=_positive, default=1, help="server processes sharing the port (PostgreSQL only)"
    )
    serve.set_defaults(func=cmd_serve)

    demo = sub.add_parser("demo", help="embedded SQLite file, demo data, console SMS; prints URL and logins")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--no-serve", action="store_true", help="seed and print, then exit")
    demo.add_argument("--simulate", action="store_true", help="also run the device simulator against it")
    demo.add_argument("--rate", type=float, default=5.0, help="simulated readings per second")
    demo.add_argument(
        "--watch-port", type=int, default=7700, help="the watch listener's port (another if taken; or set it)"
    )
    demo.add_argument(
        "--gt06-port", type=int, default=7701, help="the GT06 listener's port (another if taken; or set it)"
    )
    demo.add_argument(
        "--provider",
        choices=["console", "twilio", "aliyun", "tencent"],
        default="console",
        help="send SMS and calls through this provider's SDK to its local stand-in (default: the console)",
    )
    demo.set_defaults(func=cmd_demo)

    simulate = sub.add_parser("simulate", help="post simulated readings for the demo's devices through the HTTP API")
    simulate.add_argument("--url", default="http://127.0.0.1:8000")
    simulate.add_argument("--rate", type=float, default=5.0, help="readings per second")
    simulate.add_argument("--keys", default=str(DEMO_KEYS_FILE), help="the device keys file the demo wrote")
    simulate.add_argument("--duration", type=float, default=None, help="seconds to run (default: until Ctrl-C)")
    simulate.set_defaults(func=cmd_simulate)

    scheduler = sub.add_parser("scheduler", help="run the scheduled jobs and the SMS dispatcher in their own process")
    scheduler.set_defaults(func=cmd_scheduler)

    gateway = sub.add_parser("gateway", help="the watch listener and MQTT subscriber in their own process")
    gateway.set_defaults(func=cmd_gateway)

    migrate = sub.add_parser("migrate", help="apply database migrations (alembic upgrade head)")
    migrate.set_defaults(func=cmd_migrate)

    admin = sub.add_parser(
        "create-admin", help="create an admin account (password from CARECENTER_ADMIN_PASSWORD or a prompt)"
    )
    admin.add_argument("--username", required=True)
    admin.add_argument("--name", required=True)
    admin.add_argument("--phone", required=True)
    admin.set_defaults(func=cmd_create_admin)

    backup = sub.add_parser("backup", help="back the database up (SQLite: online backup API; PostgreSQL: pg_dump)")
    backup.add_argument("--out", help="the file to write (default: carecenter-backup-<UTC time>.dump)")
    backup.set_defaults(func=cmd_backup)

    restore = sub.add_parser("restore", help="replace the database's contents with a backup")
    restore.add_argument("backup", help="a file written by `python main.py backup`")
    restore.add_argument("--yes", action="store_true", help="confirm: everything in the database is replaced")
    restore.set_defaults(func=cmd_restore)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings()
    configure_logging(settings.log_format)
    result: int = args.func(settings, args)
    return result


def app_factory() -> FastAPI:
    """For `serve --workers` and `uvicorn --factory main:app_factory`: settings from the environment."""
    settings = Settings()
    configure_logging(settings.log_format)  # a worker process starts afresh
    app = build_app(settings, devices=False)
    collector.freeze_startup()
    return app


if __name__ == "__main__":
    sys.exit(main())
