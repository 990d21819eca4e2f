"""sources of UrbanPulse pipelines."""
