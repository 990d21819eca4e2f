"""Voter and respondent ids -> keyed pseudonyms: the same voter gets the same key in every run.

A pseudonym is BLAKE2b keyed with the home's secret (`Workspace.voter_key_file`, 32 random
bytes, owner-only, created on first use, never written into a dataset), over the city, the
election and the id. Without the secret nobody can test a guessed id against a pseudonym (a plain
hash of a 6-digit voter number is reversed by trying all of them); with it, a re-run or a live
ballot of the same voter finds the same row. BLAKE2b's keyed mode is a MAC (`hashlib`, no
extra package); one call per id costs about a microsecond.
"""

from __future__ import annotations

import hashlib
import os
import secrets

import polars as pl

from plumbing.workspace import Workspace

KEY_BYTES = 32
DIGEST_BYTES = 16


def voter_secret(workspace: Workspace) -> bytes:
    """The home's pseudonym secret, created (owner-only) when there is none yet."""
    path = workspace.voter_key_file
    if not path.exists():
        workspace.make_restricted()
        path.parent.mkdir(mode=0o700, exist_ok=True)
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(handle, secrets.token_bytes(KEY_BYTES))
            os.fsync(handle)
        finally:
            os.close(handle)
    secret = path.read_bytes()
    if len(secret) != KEY_BYTES:
        raise RuntimeError(f"{path} is not a pseudonym secret ({len(secret)} bytes, expected {KEY_BYTES}); "
                           "restore it from a backup (a new one would give every voter a new pseudonym)")
    return secret


def pseudonyms(ids: pl.Series, secret: bytes, scope: str) -> pl.Series:
    """The keyed pseudonym (hex) of every id in `ids`, within `scope` (city and election)."""
    prefix = scope.encode("utf-8", "surrogatepass") + b"\x00"
    digests = [
        hashlib.blake2b(prefix + value.encode("utf-8", "surrogatepass"), key=secret,
                        digest_size=DIGEST_BYTES).hexdigest()
        for value in ids.to_list()
    ]
    return pl.Series(ids.name, digests, pl.String)
