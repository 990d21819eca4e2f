"""Sensor observations: quality control, hourly/daily/monthly aggregates, air-quality standards."""
