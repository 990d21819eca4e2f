"""What UrbanPulse learns or looks up, by subject: classification, geocoding, personal data, text, cities."""
