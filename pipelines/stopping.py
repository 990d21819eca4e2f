"""STOP: the one signal that tells a live pipeline to drain and finish.

The stream's signal handlers (Ctrl-C, SIGTERM) and timed runs set it; the landing reader claims
the rest of its range and the committing steps publish what they hold. The embedded runner
runs every step in the stream's process, so a process-wide event reaches them all.
"""

from __future__ import annotations

import threading

STOP = threading.Event()
