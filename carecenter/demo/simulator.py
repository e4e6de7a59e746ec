"""The demo simulator: realistic readings through the real device paths, and care workers answering.

Readings go in batches through each center's gateway (the HTTP API; one gateway publishes to
MQTT instead when the demo has a broker): heartbeats with battery levels, mostly normal vitals,
positions near home, and now and then a run of abnormal vitals, a fall (often called off with
the OK button) or an SOS. Some of the watches speak their own protocol over TCP to the watch
listener (`watch_simulator.py`), and some pendants the binary GT06 protocol to the GT06 listener
(`gt06_simulator.py`), SOS and falls included. With the demo password it also plays the care workers: it
acknowledges open alerts after a while, goes on site and resolves them.
"""

import json
import logging
import random
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from carecenter.demo.gt06_simulator import SimulatedTracker
from carecenter.demo.watch_simulator import SimulatedWatch
from carecenter.gateway.mqtt_subscriber import readings_topic

log = logging.getLogger(__name__)
WORKERS = ("worker", "worker02", "worker03", "dd_worker01", "dd_worker02")
OUTCOMES = ("false_alarm", "handled_at_home", "handled_at_home", "hospital_transfer")


@dataclass
class DeviceState:
    serial: str
    home: tuple[float, float] | None
    battery: int
    abnormal_left: int = 0  # readings of a running abnormal episode


@dataclass
class Simulator:
    """`step()` posts one second's worth of readings; `start()` runs steps in a thread until `stop()`."""

    client: httpx.Client
    gateways: list[dict[str, Any]]
    rate: float = 5.0  # readings per second
    password: str | None = None  # to play the care workers
    watch_address: tuple[str, int] | None = None  # the watch listener, for the TCP watches
    watches: list[dict[str, Any]] = field(default_factory=list)  # serial and home of each TCP watch
    gt06_address: tuple[str, int] | None = None  # the GT06 listener, for the GT06 pendants
    trackers: list[dict[str, Any]] = field(default_factory=list)  # serial (IMEI) and home of each GT06 pendant
    publish: Callable[[str, str], None] | None = None  # MQTT: (topic, payload) for the first gateway
    mqtt_prefix: str = "carecenter"
    rng: random.Random = field(default_factory=random.Random)
    sos_chance: float = 0.004
    fall_chance: float = 0.003
    first_sos_step: int | None = 5  # a newcomer sees an SOS reach the right people within seconds of starting
    episode_chance: float = 0.004
    posted: int = 0
    answered: int = 0
    _devices: dict[str, list[DeviceState]] = field(default_factory=dict)
    _tokens: dict[str, str] = field(default_factory=dict)
    _pending_ok: list[tuple[datetime, str, str]] = field(default_factory=list)  # (when, gateway key, serial)
    _steps: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _tcp: list[SimulatedWatch | SimulatedTracker] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.watch_address is not None:
            self._tcp = [
                SimulatedWatch(self.watch_address, w["serial"], tuple(w["home"]) if w.get("home") else None, self.rng)
                for w in self.watches
            ]
        if self.gt06_address is not None:
            self._tcp += [
                SimulatedTracker(self.gt06_address, t["serial"], tuple(t["home"]) if t.get("home") else None, self.rng)
                for t in self.trackers
            ]
        for gateway in self.gateways:
            self._devices[gateway["key"]] = [
                DeviceState(
                    d["serial"],
                    tuple(d["home"]) if d.get("home") and None not in d["home"] else None,
                    self.rng.randint(30, 100),
                )
                for d in gateway["devices"]
            ]

    # -- readings -----------------------------------------------------------------------------
    def _reading(self, device: DeviceState, now: datetime) -> dict[str, Any]:
        base: dict[str, Any] = {"event_id": uuid.uuid4().hex, "device": device.serial, "recorded_at": now.isoformat()}
        roll = self.rng.random()
        if roll < self.sos_chance:
            return base | {"kind": "sos"}
        if roll < self.sos_chance + self.fall_chance:
            return base | {"kind": "fall"}
        if device.abnormal_left == 0 and self.rng.random() < self.episode_chance:
            device.abnormal_left = self.rng.randint(3, 6)
        device.battery = max(5, device.battery - (1 if self.rng.random() < 0.05 else 0))
        if device.abnormal_left:
            device.abnormal_left -= 1
            return base | {
                "kind": "vitals",
                "heart_rate": self.rng.randint(135, 160),
                "spo2": self.rng.randint(86, 91),
                "battery_pct": device.battery,
            }
        if device.home and self.rng.random() < 0.2:
            lat, lon = device.home
            return base | {
                "kind": "location",
                "latitude": lat + self.rng.uniform(-0.002, 0.002),
                "longitude": lon + self.rng.uniform(-0.002, 0.002),
                "accuracy_m": 15.0,
                "battery_pct": device.battery,
            }
        return base | {
            "kind": "vitals",
            "heart_rate": self.rng.randint(58, 92),
            "spo2": self.rng.randint(95, 99),
            "systolic": self.rng.randint(110, 145),
            "diastolic": self.rng.randint(68, 90),
            "temperature": round(self.rng.uniform(36.1, 37.2), 1),
            "battery_pct": device.battery,
        }

    def step(self, now: datetime | None = None) -> int:
        """Post about `rate` readings (one batch per gateway); returns how many were accepted."""
        now = now or datetime.now(UTC)
        self._steps += 1
        accepted = 0
        for key, devices in self._devices.items():
            if not devices:
                continue
            share = max(1, round(self.rate / len(self._devices)))
            readings = [self._reading(self.rng.choice(devices), now) for _ in range(share)]
            if self._steps == self.first_sos_step and key == next(iter(self._devices)):
                readings[0] = readings[0] | {"kind": "sos"}  # the demo's first alert, without waiting for chance
            for reading in readings:
                if reading["kind"] == "fall" and self.rng.random() < 0.5:  # "I'm fine": the OK button
                    self._pending_ok.append((now + timedelta(seconds=5), key, reading["device"]))
            due = [p for p in self._pending_ok if p[0] <= now and p[1] == key]
            for pending in due:
                self._pending_ok.remove(pending)
                readings.append(
                    {
                        "event_id": uuid.uuid4().hex,
                        "device": pending[2],
                        "kind": "ok_button",
                        "recorded_at": now.isoformat(),
                    }
                )
            gateway = next(g for g in self.gateways if g["key"] == key)
            if self.publish is not None and gateway is self.gateways[0]:
                topic = readings_topic(self.mqtt_prefix, str(gateway["center_id"]), gateway["gateway"])
                self.publish(topic, json.dumps({"key": key, "readings": readings}))
                accepted += len(readings)  # acknowledged by the broker; stored once CareCenter commits
                continue
            response = self.client.post(
                "/api/v1/checkins/batch", json={"readings": readings}, headers={"X-Device-Key": key}
            )
            response.raise_for_status()
            accepted += int(response.json()["accepted"])
        for watch in self._tcp:
            if self.rng.random() < 0.3:
                accepted += watch.step(now, sos_chance=self.sos_chance, fall_chance=self.fall_chance)
        self.posted += accepted
        return accepted

    # -- care workers -----------------------------------------------------------------------------
    def _headers(self, username: str) -> dict[str, str] | None:
        if self.password is None:
            return None
        if username not in self._tokens:
            response = self.client.post("/api/v1/auth/token", data={"username": username, "password": self.password})
            if response.status_code != 200:
                return None
            self._tokens[username] = response.json()["access_token"]
        return {"Authorization": f"Bearer {self._tokens[username]}"}

    def start_visits(self, now: datetime | None = None) -> int:
        """The care workers check in at the visits they are due at (so an SOS nearby finds its nearest responder)."""
        now = now or datetime.now(UTC)
        started = 0
        for username in WORKERS:
            headers = self._headers(username)
            if headers is None:
                continue
            me = self.client.get("/api/v1/staff/me", headers=headers)
            if me.status_code != 200:
                continue
            window = {
                "since": (now - timedelta(hours=1)).isoformat(),
                "until": (now + timedelta(hours=4)).isoformat(),
            }
            due = self.client.get(
                "/api/v1/visits",
                params={"status": "scheduled", "worker_id": me.json()["id"], **window},
                headers=headers,
            )
            for visit in due.json().get("items", [])[:1] if due.status_code == 200 else []:
                checked = self.client.post(f"/api/v1/visits/{visit['id']}/check-in", json={}, headers=headers)
                started += checked.status_code == 200
        return started

    def answer(self, now: datetime | None = None, min_age_seconds: float = 30) -> int:
        """Acknowledge alerts open for a while, go on site and resolve acknowledged ones."""
        now = now or datetime.now(UTC)
        done = 0
        for username in WORKERS:
            headers = self._headers(username)
            if headers is None:
                continue
            listed = self.client.get(
                "/api/v1/alerts", params={"status": ["open", "acknowledged"], "limit": 50}, headers=headers
            )
            if listed.status_code == 401:
                self._tokens.pop(username, None)
                continue
            for alert in listed.json().get("items", []):
                age = (now - datetime.fromisoformat(alert["opened_at"])).total_seconds()
                if age < min_age_seconds or self.rng.random() < 0.3:
                    continue
                url = f"/api/v1/alerts/{alert['id']}"
                if alert["status"] == "open":
                    self.client.post(f"{url}/acknowledge", json={"channel": "tablet"}, headers=headers)
                else:
                    self.client.post(f"{url}/on-site", json={"channel": "tablet"}, headers=headers)
                    self.client.post(f"{url}/resolve", json={"outcome": self.rng.choice(OUTCOMES)}, headers=headers)
                done += 1
        self.answered += done
        return done

    # -- running --------------------------------------------------------------------------------
    def run(self, duration: float | None = None) -> None:
        started = datetime.now(UTC)
        ticks = 0
        while not self._stop.is_set():
            try:
                self.step()
                ticks += 1
                if ticks % 10 == 0:
                    self.answer()
                if ticks % 60 == 1:
                    self.start_visits()
            except httpx.HTTPError as exc:  # the server may be starting or restarting
                log.warning("simulator: %s", exc)
            if duration is not None and (datetime.now(UTC) - started).total_seconds() >= duration:
                return
            self._stop.wait(1.0)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="simulator", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        for watch in self._tcp:
            watch.close()
