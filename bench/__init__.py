"""`make bench`: UrbanPulse's batch job measured against the pandas peer on the same input."""
