"""Prefect flows and the `urbanpulse` command line."""
