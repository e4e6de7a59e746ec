"""Benchmarks of the alert path: `python -m bench` (see bench/__main__.py)."""
