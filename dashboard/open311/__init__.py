"""Open311 GeoReport v2 under `/open311/v2/` of `urbanpulse serve` (`routes.open311_router`)."""
