"""The one exception every source adapter raises, so callers can catch a single type."""

from __future__ import annotations


class SourceFormatError(ValueError):
    """A file, format name or mapping that an adapter cannot turn into raw requests.

    Raised for problems with the whole file (unknown format, missing mapped column, unreadable
    document, an Open311 server's error envelope), never for one bad record: bad records become
    rows with `unreadable_record` or keep their original text for validation to dead-letter.
    """
