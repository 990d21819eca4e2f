"""Sources: real-world exports and the landing log -> frames the pipelines read.

`requests/` holds one adapter per request format; `landing.py` follows the landing log for the
live path; `errors.py` and `timestamps.py` are shared by every stream's adapters.
"""
