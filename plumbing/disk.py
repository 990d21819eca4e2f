"""Is this failure a full disk (or a file-size limit)? Then a retry cannot help and the user
needs one line that says so, not the traceback a runner wraps around it."""

from __future__ import annotations

import errno

FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
_SAYINGS = ("No space left on device", "Disk quota exceeded", "File too large")


def disk_full(error: BaseException | None) -> bool:
    """True when `error`, or an error it wraps (runners re-raise with their own type), is a
    write the file system refused for want of space."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OSError) and error.errno in FULL:
            return True
        if any(saying in str(error) for saying in _SAYINGS):
            return True
        error = error.__cause__ or error.__context__
    return False
