"""Benchmarks of the lakehouse: `make bench` (or `python -m bench NAME ...`)."""
