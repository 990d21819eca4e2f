"""The one place where UrbanPulse column names, dtypes, enums and the taxonomy are written out."""
