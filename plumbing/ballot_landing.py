"""Landing logs of ballots: one per election, beside the request logs of the city.

    landing/<city>/votes/votes-<election>/segments/000000000042.arrow   one segment of ballots

A ballot log is a `LandingLog` (same segments, sequence numbers, locking and metadata) whose
segments hold `schemas.participation.BALLOT_SEGMENT` rows: a ballot as text, like a Pabulib
VOTES line. The request stream never sees them (it reads `landing/<city>/requests/` only).
"""

from __future__ import annotations

import hashlib
import re

from plumbing.landing import LandingLog
from plumbing.paths import partition_value
from schemas import participation as pb

_NOT_IN_SOURCE_NAMES = re.compile(r"[^A-Za-z0-9_.-]")
HASH_CHARS = 8


class BallotLog(LandingLog):
    """The landing log of one election's ballots."""

    FOLDER = "votes"
    SCHEMA = pb.BALLOT_SEGMENT


def vote_source(election_id: str) -> str:
    """The landing source of an election's ballots: `votes-<election id>`, made safe.

    The id is made one path segment (`partition_value`); characters a source name cannot hold
    become `_`, and then a short hash of the id keeps two such ids apart."""
    value = partition_value(election_id)
    safe = _NOT_IN_SOURCE_NAMES.sub("_", value)
    if safe != value:
        digest = hashlib.sha256(election_id.encode("utf-8", "surrogatepass")).hexdigest()[:HASH_CHARS]
        safe = f"{safe}-{digest}"
    return f"{pb.VOTE_SOURCE_PREFIX}{safe}"
