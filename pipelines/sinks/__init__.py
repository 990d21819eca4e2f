"""sinks of UrbanPulse pipelines."""
