"""Participation composites: ballots validated, pseudonymised, tallied and decided."""
