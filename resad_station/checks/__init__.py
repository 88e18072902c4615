"""Robustness checks that print numbers: fuzzed inputs, camera recovery (see docs/benchmarks.md)."""
