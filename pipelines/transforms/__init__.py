"""Composite transforms of UrbanPulse pipelines; batches travel as polars frames (`plumbing.frames`).

One subpackage per stream (`requests/` now; participation and sensors next to it).
"""

from plumbing import frames as _frames  # noqa: F401  (registers the frame coder with Beam)
