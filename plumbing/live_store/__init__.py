"""The live store: SQLite tables built from `schemas.live`, a read-only reader, and the writer."""
