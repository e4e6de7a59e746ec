"""The device protocols CareCenter listens for, by name (the name also picks the settings:
`CARECENTER_<NAME>_PORT`, `CARECENTER_<NAME>_HOST`). A new protocol is a module implementing
`devices/protocol.py` and a line here (and its two settings)."""

from carecenter.devices.gt06_protocol import GT06
from carecenter.devices.models import DeviceProtocol
from carecenter.devices.protocol import DeviceProtocolSpec
from carecenter.devices.watch_protocol import WATCH

PROTOCOLS: dict[str, DeviceProtocolSpec] = {
    "watch": WATCH,
    "gt06": GT06,
}


def spec_of(protocol: DeviceProtocol) -> DeviceProtocolSpec | None:
    """The listener protocol of a device's protocol (None: it posts over HTTP or MQTT)."""
    return next((spec for spec in PROTOCOLS.values() if spec.device_protocol == protocol), None)
