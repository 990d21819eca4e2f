"""transforms of UrbanPulse pipelines."""
