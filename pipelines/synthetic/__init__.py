"""synthetic of UrbanPulse pipelines."""
