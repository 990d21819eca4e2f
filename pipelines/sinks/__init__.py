"""Sinks of UrbanPulse pipelines: Parquet datasets, the live store, dead letters.

`dead_letters.py` serves every stream; one subpackage per stream holds its datasets.
"""
