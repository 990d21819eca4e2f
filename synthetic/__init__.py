"""Synthetic data: the demo city, generated requests (votes and sensors next), and a steady-rate replayer.

Used by the demo, the benchmarks and the tests; nothing in models or pipelines imports it."""
