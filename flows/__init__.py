"""Prefect flows and the `urbanpulse` command line.

Importing this package (every command does) silences one log line: Apache Beam announces on
every import that the Google Cloud client libraries (`apitools`) are missing, and UrbanPulse
does not use them.
"""

import logging


class _WithoutBeamGcpNotice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("apitools not found")


logging.getLogger().addFilter(_WithoutBeamGcpNotice())
