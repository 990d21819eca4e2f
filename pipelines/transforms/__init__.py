"""Composite transforms of UrbanPulse pipelines; batches travel as polars frames (`pipelines.frames`)."""

from pipelines import frames as _frames  # noqa: F401  (registers the frame coder with Beam)
