"""Across streams: requests per 1,000 residents, environmental requests against sensor anomalies."""
