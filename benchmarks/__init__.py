"""Measurements run on demand (see README: Benchmarks); not part of the test suite."""
