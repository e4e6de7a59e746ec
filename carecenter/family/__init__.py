"""Families can look, not only receive: a standing, revocable link to a read-only page about one resident."""
