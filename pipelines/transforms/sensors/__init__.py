"""Transforms of the sensor stream: RAW_OBSERVATION batches -> OBSERVATION frames and dead letters."""
