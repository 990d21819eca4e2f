"""What UrbanPulse learns or looks up: classifiers, geocoders, city packs."""
