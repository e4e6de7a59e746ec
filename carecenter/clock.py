"""The current time: one dependency shared with the SMS channel (see notifications.clock)."""

from notifications.clock import get_now, utcnow

__all__ = ["get_now", "utcnow"]
