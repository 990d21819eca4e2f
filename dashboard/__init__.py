"""UrbanPulse's HTTP face: the live feed API for city departments and dashboards."""
