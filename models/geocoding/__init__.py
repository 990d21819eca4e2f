"""Geocoding: reverse (point -> district), address parsing, forward (address -> point), gazetteers."""
