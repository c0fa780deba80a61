"""Faults under load, with real processes: each scenario module starts its own servers, breaks them, and
measures; the tests here assert the short form, benchmarks/faults.py prints the long form's table."""
