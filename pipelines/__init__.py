"""Apache Beam pipelines of UrbanPulse: sources, composite transforms, sinks, and the wiring."""
