"""Benchmarks behind `make bench`: scale tiers and the figures they print."""
