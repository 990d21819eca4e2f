"""Hashed in-word character n-grams (2-5 characters of " word "), computed once per distinct word.

Why: Russian carries meaning in stems and endings ("отремонтировать", "ремонт", "ремонта",
"отремонтируйте"); typos break whole-word features but keep most n-grams. These are the
features of the TF-IDF `char_wb` baseline, made cheap enough for the pipeline:

- A text's n-grams are the union of its words' n-grams, so they are hashed once per *distinct*
  word of a block (a few thousand in 16k texts) instead of once per occurrence (hundreds of
  thousands). The char block of a batch is then the product `A @ C`: `A` (texts x distinct
  words, the occurrences scaled by the text's norm) and `C` (distinct words x buckets, one per
  n-gram). Training multiplies them out; prediction computes `A @ (C @ W)`, a gather of one
  score vector per word occurrence, about as cheap as the word features themselves.
- Words are read from the normalised UTF-8 bytes (`models.text.normalise.tokenize`), so
  lowercase, ё -> е and digits -> 0 apply as for every other feature; characters are found by
  their UTF-8 lead bytes, so a 5-gram of Cyrillic is 10 bytes and of Latin 5.
- Each n-gram occurrence counts 1 and the char block of a text is scaled by 1/sqrt(its
  n-grams), the same l2-like convention as the word block, then by `char_weight`.
- Hashes are our own arithmetic (murmur3 finaliser, multiply-shift), stable across library
  versions like the word hashes (`models.classification.features`).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from models.text.normalise import BYTE_MASKS, Tokens, u64_view

_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_S33 = np.uint64(33)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_ODD_KEY = np.uint64(0xBF58476D1CE4E5B9)
_ODD_SECOND = np.uint64(0x94D049BB133111EB)
_ODD_THIRD = np.uint64(0xD6E8FEB86659FD93)
_ODD_BUCKET = np.uint64(0x2545F4914F6CDD1D)
_SPACE = 32


def _fmix(x: np.ndarray) -> np.ndarray:
    """murmur3's 64-bit finaliser, in place."""
    for multiplier in (_M1, _M2):
        x ^= x >> _S33
        x *= multiplier
    x ^= x >> _S33
    return x


def word_keys(tokens: Tokens) -> np.ndarray:
    """A 64-bit key per word occurrence that tells distinct words apart (all their bytes)."""
    view = u64_view(tokens.data)
    starts, lengths = tokens.starts, tokens.lengths
    key = lengths.astype(np.uint64) * _GOLDEN
    for offset in (0, 8, 16):
        rest = np.clip(lengths - offset, 0, 8)
        key ^= view[starts + offset] & BYTE_MASKS[rest]
        key *= _ODD_KEY
        key ^= key >> _S33
    longer = np.flatnonzero(lengths > 24)
    if longer.size:  # the rest of a long word, 8 bytes at a time
        for offset in range(24, int(lengths[longer].max()), 8):
            at = longer[lengths[longer] > offset]
            rest = np.minimum(lengths[at] - offset, 8)
            key[at] ^= view[starts[at] + offset] & BYTE_MASKS[rest]
            key[at] *= _ODD_KEY
    return _fmix(key)


def _padded_words(tokens: Tokens, first: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct words as " w1  w2 ... " bytes (each padded by its own spaces), and the
    offset of each padded word in it; 24 zero bytes of slack for the u64 reads."""
    lengths = tokens.lengths[first] + 2
    offsets = np.zeros(lengths.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    buffer = np.zeros(int(offsets[-1]) + 24, dtype=np.uint8)
    buffer[: offsets[-1]] = _SPACE
    inner = tokens.lengths[first]
    at = np.repeat(offsets[:-1] + 1 - np.concatenate(([0], np.cumsum(inner)[:-1])), inner)
    source = np.repeat(tokens.starts[first] - np.concatenate(([0], np.cumsum(inner)[:-1])), inner)
    position = np.arange(int(inner.sum()))
    buffer[at + position] = tokens.data[source + position]
    return buffer, offsets


def ngram_matrix(
    tokens: Tokens, first: np.ndarray, n_min: int, n_max: int, seed: int, n_bits: int
) -> sp.csr_matrix:
    """C: distinct words (those at token index `first`) x 2**n_bits, 1 per n-gram of " word "."""
    buffer, offsets = _padded_words(tokens, first)
    used = int(offsets[-1])
    char_starts = np.flatnonzero((buffer[:used] & 0xC0) != 0x80)
    char_starts = np.append(char_starts, used)  # sentinel: the end of the last word
    word_chars = np.searchsorted(char_starts, offsets)  # char index of each padded word's start
    chars = np.diff(word_chars)
    sizes = np.arange(n_min, n_max + 1)
    counts = np.maximum(chars[:, None] - sizes[None, :] + 1, 0)  # words x sizes
    segment = counts.ravel()
    total = int(segment.sum())
    segment_start = np.concatenate(([0], np.cumsum(segment)[:-1]))
    first_char = np.repeat(np.repeat(word_chars[:-1], sizes.size) - segment_start, segment)
    char = first_char + np.arange(total)
    size = np.repeat(np.tile(sizes, chars.size), segment)
    begin, end = char_starts[char], char_starts[char + size]
    length = end - begin
    view = u64_view(buffer)
    key = view[begin] & BYTE_MASKS[np.minimum(length, 8)]
    key ^= length.astype(np.uint64) * _GOLDEN + np.uint64(seed)
    key *= _ODD_KEY
    key += (view[begin + 8] & BYTE_MASKS[np.clip(length - 8, 0, 8)]) * _ODD_SECOND
    wide = np.flatnonzero(length > 16)  # 5 characters of 4 bytes (rare scripts, emoji)
    key[wide] += (view[begin[wide] + 16] & BYTE_MASKS[np.minimum(length[wide] - 16, 8)]) * _ODD_THIRD
    key = _fmix(key)
    key *= _ODD_BUCKET
    key >>= np.uint64(64 - n_bits)
    indptr = np.zeros(chars.size + 1, dtype=np.int64)
    np.cumsum(counts.sum(axis=1), out=indptr[1:])
    values = np.ones(total, dtype=np.float32)
    return sp.csr_matrix((values, key.astype(np.int32), indptr.astype(np.int32)),
                         shape=(chars.size, 1 << n_bits), copy=False)


def char_parts(
    tokens: Tokens, n_min: int, n_max: int, seed: int, n_bits: int, weight: float
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """(A, C) with A @ C the char n-gram block of the texts (see the module docstring)."""
    keys = word_keys(tokens)
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    ngrams = ngram_matrix(tokens, first, n_min, n_max, seed, n_bits)
    per_word = np.diff(ngrams.indptr).astype(np.float64)
    running = np.zeros(inverse.size + 1)
    np.cumsum(per_word[inverse], out=running[1:])
    per_text = running[tokens.word_offsets[1:]] - running[tokens.word_offsets[:-1]]
    counts = tokens.counts
    scale = (weight / np.sqrt(np.maximum(per_text, 1.0))).astype(np.float32)
    occurrences = sp.csr_matrix(
        (np.repeat(scale, counts), inverse.astype(np.int32), tokens.word_offsets.astype(np.int32)),
        shape=(counts.size, first.size), copy=False,
    )
    return occurrences, ngrams


def char_block(occurrences: sp.csr_matrix, ngrams: sp.csr_matrix) -> sp.csr_matrix:
    """A @ C without a sparse product: each word occurrence copies its word's n-gram row, scaled.

    Duplicates within a text are left unsummed (the same linear function, see
    `models.classification.features`), which saves the product's sort and merge: about ten
    times faster on 50k texts."""
    word = occurrences.indices
    per_word = np.diff(ngrams.indptr)
    lengths = per_word[word]
    total = int(lengths.sum())
    running = np.zeros(word.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=running[1:])
    source = np.repeat(ngrams.indptr[word].astype(np.int64) - running[:-1], lengths)
    source += np.arange(total)
    indptr = running[occurrences.indptr]
    index_type = np.int32 if total < 2**31 else np.int64
    return sp.csr_matrix(
        (np.repeat(occurrences.data, lengths), ngrams.indices[source], indptr.astype(index_type)),
        shape=(occurrences.shape[0], ngrams.shape[1]), copy=False,
    )
