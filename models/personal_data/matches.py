"""Every match of a regular expression in a whole text column, with its character offsets, found
by polars' Rust regex engine in two column passes instead of a Python loop over rows.

polars returns the matched strings (`str.extract_all`) and the pieces between them
(`str.split(pattern, literal=False)`), both from the same `find_iter`; their character lengths,
summed in order, are where each match starts and ends. The Rust engine has no look-around, so
patterns post-check their context instead (see `models.personal_data.patterns`).
"""

from __future__ import annotations

import numpy as np
import polars as pl

ROW = "row"  # index of the text in the column
START = "start"  # first character of the match
END = "end"  # one past its last character
MATCH = "match"  # the matched text
BEFORE = "before"  # the text between the previous match (or the text's start) and this one
AFTER = "after"  # the text between this match and the next one (or the text's end)

_SCHEMA = {ROW: pl.UInt32, START: pl.Int32, END: pl.Int32, MATCH: pl.String,
           BEFORE: pl.String, AFTER: pl.String}  # fmt: skip


def find_matches(texts: pl.Series, pattern: str, rows: np.ndarray | None = None) -> pl.DataFrame:
    """One row per non-overlapping match of `pattern` in `texts` (leftmost-first, as `re`
    finds them), in reading order; `rows` limits the search to some texts (indices into
    `texts`). The pattern must not match the empty string."""
    if rows is not None:
        texts = texts.gather(rows)
    found = texts.str.extract_all(pattern)
    counts = found.list.len().fill_null(0).to_numpy().astype(np.int64)
    hit = np.flatnonzero(counts)
    if len(hit) == 0:
        return pl.DataFrame(schema=_SCHEMA)
    n = counts[hit]
    values = found.gather(hit).explode()
    pieces = texts.gather(hit).str.split(pattern, literal=False).explode()
    if len(pieces) != len(values) + len(hit):
        raise RuntimeError(f"pattern {pattern!r} split and matched differently")
    piece_ends = np.cumsum(n + 1)
    last_piece = np.zeros(len(pieces), dtype=bool)
    last_piece[piece_ends - 1] = True
    before = pieces.filter(~pl.Series(last_piece))
    first_piece = np.zeros(len(pieces), dtype=bool)
    first_piece[np.concatenate([[0], piece_ends[:-1]])] = True
    after = pieces.filter(~pl.Series(first_piece))
    match_len = values.str.len_chars().to_numpy().astype(np.int64)
    ends = np.cumsum(before.str.len_chars().to_numpy().astype(np.int64) + match_len)
    match_ends = np.cumsum(n)
    row_base = np.concatenate([[0], ends[match_ends[:-1] - 1]])
    ends = ends - np.repeat(row_base, n)
    source_rows = hit if rows is None else np.asarray(rows)[hit]
    return pl.DataFrame(
        {
            ROW: pl.Series(np.repeat(source_rows, n), dtype=pl.UInt32),
            START: pl.Series(ends - match_len, dtype=pl.Int32),
            END: pl.Series(ends, dtype=pl.Int32),
            MATCH: values,
            BEFORE: before,
            AFTER: after,
        }
    )


def with_context(
    matches: pl.DataFrame, texts: pl.Series, before: int = 0, after: int = 0
) -> pl.DataFrame:
    """`matches` with `before` / `after` replaced by up to that many characters of the whole
    text before the match start and after its end (the pieces between matches are not enough
    when another match is near)."""
    text = texts.gather(matches.get_column(ROW)).alias("_text")
    columns = []
    if before:
        first = (pl.col(START) - before).clip(lower_bound=0)
        columns.append(pl.col("_text").str.slice(first, pl.col(START) - first).alias(BEFORE))
    if after:
        columns.append(pl.col("_text").str.slice(pl.col(END), after).alias(AFTER))
    return matches.with_columns(text).with_columns(columns).drop("_text")
