"""Composites of the request stream: validate, normalise, classify, geocode, SLA, scrub, aggregate."""
