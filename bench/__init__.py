"""Benchmarks of the ledger; run them with ``scripts/bench`` (see bench/README.md)."""
