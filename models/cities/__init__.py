"""City packs: districts, taxonomy and gazetteer of a city, and routing to departments."""
