"""Hashed bag-of-words features of request texts, computed over whole columns, no loop per text.

Why this shape:
- Speed. The classifier must keep up with a batch pipeline (>= 200k texts/s), so no Python runs
  per text. Normalisation (`models.text.normalise`): polars rewrites URLs and e-mails; everything
  else works on the column's UTF-8 bytes with numpy: a 256-entry table lowers ASCII, turns digits into "0" and punctuation into spaces,
  two sparse scans lower Cyrillic and fold ё into е, words are runs of non-space bytes, and each
  word is read as (at most three) unaligned little-endian uint64 that are mixed into a 64-bit
  hash. The work is a handful of vector operations per byte and a few per word.
- Robustness to Russian inflection and typos. Besides each word and each pair of adjacent words,
  a long word also yields its prefix (3 Cyrillic or 5 Latin letters), so "сломан", "сломана" and
  "сломаны" share a feature, and its last 3 letters with its length, which survive a typo early
  in the word. In-word character 2-5-grams (`models.classification.char_ngrams`, the features of
  the TF-IDF baseline) are added by default: they carry Russian morphology and survive typos
  anywhere in a word. They are hashed once per distinct word of a block, so they cost far less
  than their number suggests; `char_max=0` turns them off (the `hashed-words` candidate).
- Stable hashes. Normalisation and hashing are our own arithmetic (murmur3's 64-bit finaliser,
  multiply-shift into buckets), not polars' `hash` or Python's, so a library upgrade does not
  move a word to another bucket. Only the URL / e-mail regexes run in polars. Every saved model
  stores its `FeatureRecipe` and the buckets of `PROBE_TEXTS`; `check_probes` refuses to load a
  model whose probes land elsewhere with this code and these libraries.

Feature values are 1 per occurrence scaled by 1/sqrt(features in the text): an l2 norm that counts
a repeated feature twice, which is the same linear function as summing duplicates and saves the
sort that deduplication would need.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import polars as pl
import scipy.sparse as sp

from models.classification.char_ngrams import char_block, char_parts
from models.text.normalise import BYTE_MASKS, Tokens, tokenize, u64_view

FEATURE_ALGORITHM = "urbanpulse-hashed-words/1"

# Texts per block: small enough for the temporaries to stay in cache (see `hash_features`).
BLOCK_ROWS = 16_384
# Longer words are hashed by their first 24 bytes (12 Cyrillic letters) and their length.
MAX_WORD_BYTES = 24

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_ODD_UNIGRAM = np.uint64(0xD6E8FEB86659FD93)
_ODD_PREFIX = np.uint64(0xA0761D6478BD642F)
_ODD_BIGRAM = np.uint64(0xE7037ED1A0B428DB)
_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_S33 = np.uint64(33)
_ODD_SUFFIX = np.uint64(0x8EBC6AF09C88C6E3)


@dataclass(frozen=True)
class FeatureRecipe:
    """Everything that decides which bucket a text lands in; saved with the model."""

    n_bits: int = 20
    word_bigrams: bool = True
    prefix_bytes_latin: int = 5
    prefix_bytes_other: int = 6
    suffix_bytes_latin: int = 3
    suffix_bytes_other: int = 6
    seed: int = 0x5EED_C17E
    # In-word character n-grams (`models.classification.char_ngrams`); char_max=0 turns them off.
    char_min: int = 2
    char_max: int = 5
    char_weight: float = 1.0
    algorithm: str = FEATURE_ALGORITHM

    def __post_init__(self) -> None:
        if not 10 <= self.n_bits <= 26:
            raise ValueError(f"n_bits={self.n_bits} is outside 10..26; 20 (1M buckets) is usual")
        sizes = (self.prefix_bytes_latin, self.prefix_bytes_other, self.suffix_bytes_latin,
                 self.suffix_bytes_other)
        if not all(0 <= size <= 8 for size in sizes):
            raise ValueError("prefix and suffix lengths must be 0..8 bytes (0 turns them off)")
        if self.char_max and not 1 <= self.char_min <= self.char_max <= 8:
            raise ValueError(f"character n-grams {self.char_min}..{self.char_max} must lie in "
                             "1..8 (char_max=0 turns them off)")

    @property
    def has_chars(self) -> bool:
        return self.char_max > 0

    @property
    def n_features(self) -> int:
        return 1 << self.n_bits

    def to_dict(self) -> dict:
        """The saved recipe; without character n-grams exactly what models saved before they
        existed hold, so those models keep loading (their fingerprint hashes this dict)."""
        values = asdict(self)
        if not self.has_chars:
            for name in ("char_min", "char_max", "char_weight"):
                del values[name]
        return values

    @classmethod
    def from_dict(cls, values: dict) -> FeatureRecipe:
        if values.get("algorithm") != FEATURE_ALGORITHM:
            raise FeatureRecipeError(
                f"the model's features were made by {values.get('algorithm')!r}, this code makes "
                f"{FEATURE_ALGORITHM!r}; retrain the model with this version of UrbanPulse"
            )
        # Models saved before character n-grams existed had none.
        return cls(**({"char_max": 0} | values))


class FeatureRecipeError(ValueError):
    """A saved model's features cannot be reproduced by this code and these libraries."""


def _fmix(x: np.ndarray) -> np.ndarray:
    """murmur3's 64-bit finaliser, in place (uint64 arithmetic wraps, as it must)."""
    shifted = np.empty_like(x)
    for multiplier in (_M1, _M2):
        np.right_shift(x, _S33, out=shifted)
        x ^= shifted
        x *= multiplier
    np.right_shift(x, _S33, out=shifted)
    x ^= shifted
    return x


def word_hashes(tokens: Tokens, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Mixed 64-bit hash of every word (its first 24 bytes and its length), and the word's first
    8 bytes as read (zero-padded), which the prefix features reuse."""
    view = u64_view(tokens.data)
    lengths = np.minimum(tokens.lengths, MAX_WORD_BYTES)
    head = view[tokens.starts]
    head &= BYTE_MASKS[np.minimum(lengths, 8)]
    hashes = lengths.astype(np.uint64)
    hashes *= _GOLDEN
    hashes += np.uint64(seed)
    hashes ^= head
    # Bytes 8..15 of every word (zero when shorter): one vector op beats gather + scatter.
    part = view[tokens.starts + 8]
    part &= BYTE_MASKS[np.clip(lengths - 8, 0, 8)]
    hashes *= _ODD_UNIGRAM
    hashes += part
    longer = np.flatnonzero(lengths > 16)
    part = view[tokens.starts[longer] + 16] & BYTE_MASKS[lengths[longer] - 16]
    hashes[longer] = hashes[longer] * _ODD_UNIGRAM + part
    return _fmix(hashes), head


def _bucket(keys: np.ndarray, odd: np.uint64, n_bits: int) -> np.ndarray:
    """Multiply-shift: the top n_bits of keys * odd (every input bit reaches them)."""
    keys *= odd
    keys >>= np.uint64(64 - n_bits)
    return keys.astype(np.int32)


def hash_features(
    texts: pl.Series, recipe: FeatureRecipe, block_rows: int = BLOCK_ROWS
) -> sp.csr_matrix:
    """CSR matrix (texts x 2**n_bits, float32) of word, prefix, suffix, word-pair and in-word
    character n-gram features.

    Works in blocks of `block_rows` texts: the temporaries of a block stay in cache, which is
    about a third faster than one pass over 100k texts."""
    if len(texts) <= block_rows:
        return features_of(tokenize(texts), recipe)
    blocks = (texts.slice(start, block_rows) for start in range(0, len(texts), block_rows))
    return sp.vstack([features_of(tokenize(block), recipe) for block in blocks], format="csr")


def features_of(tokens: Tokens, recipe: FeatureRecipe) -> sp.csr_matrix:
    """The hashed features of already tokenised texts (see `hash_features`): the word block
    plus, when the recipe has them, the character n-gram block (same bucket space)."""
    words = word_features_of(tokens, recipe)
    if not recipe.has_chars:
        return words
    chars = char_block(*char_blocks(tokens, recipe))
    indptr = words.indptr + chars.indptr  # row i: its word features, then its n-grams
    indices = np.empty(words.nnz + chars.nnz, dtype=np.int32)
    values = np.empty(indices.size, dtype=np.float32)
    word_at = np.arange(words.nnz) + np.repeat(chars.indptr[:-1], np.diff(words.indptr))
    char_at = np.arange(chars.nnz) + np.repeat(words.indptr[1:], np.diff(chars.indptr))
    indices[word_at], values[word_at] = words.indices, words.data
    indices[char_at], values[char_at] = chars.indices, chars.data
    return sp.csr_matrix((values, indices, indptr), shape=words.shape, copy=False)


def char_blocks(tokens: Tokens, recipe: FeatureRecipe) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """(A, C): A @ C is the character n-gram block (`models.classification.char_ngrams`)."""
    return char_parts(tokens, recipe.char_min, recipe.char_max, recipe.seed + 3, recipe.n_bits,
                      recipe.char_weight)


def word_features_of(tokens: Tokens, recipe: FeatureRecipe) -> sp.csr_matrix:
    """The word, affix and word-pair block of already tokenised texts.

    Each word contributes, in this order: itself, its prefix and suffix (if longer than the
    prefix), the pair it forms with the next word of the same text. Laid out word by word, the
    columns are already grouped by text, which is what CSR needs, without a sort.
    """
    n_words, n_bits = tokens.starts.size, recipe.n_bits
    hashes, head = word_hashes(tokens, recipe.seed)

    prefix = np.where(head & 0x80 == 0, recipe.prefix_bytes_latin, recipe.prefix_bytes_other)
    long_word = tokens.lengths > prefix
    has_prefix = long_word & (prefix > 0)
    ends = tokens.starts + tokens.lengths
    latin_end = tokens.data[ends - 1] < 0x80
    suffix = np.where(latin_end, recipe.suffix_bytes_latin, recipe.suffix_bytes_other)
    has_suffix = long_word & (suffix > 0)
    follows = np.zeros(n_words, dtype=bool)
    if recipe.word_bigrams:
        follows[:-1] = True
        follows[tokens.word_offsets[1:][tokens.counts > 0] - 1] = False

    per_word = has_prefix.astype(np.int32)
    per_word += has_suffix
    per_word += follows
    per_word += 1
    slot = np.zeros(n_words + 1, dtype=np.int64)
    np.cumsum(per_word, out=slot[1:])
    indptr = slot[tokens.word_offsets]
    indices = np.empty(int(slot[-1]), dtype=np.int32)
    indices[slot[:-1]] = _bucket(hashes.copy(), _ODD_UNIGRAM, n_bits)

    view = u64_view(tokens.data)
    with_prefix = np.flatnonzero(has_prefix)
    size = prefix[with_prefix]
    value = head[with_prefix] & BYTE_MASKS[size]
    value ^= size.astype(np.uint64) * _GOLDEN + np.uint64(recipe.seed + 1)
    indices[slot[with_prefix] + 1] = _bucket(value, _ODD_PREFIX, n_bits)

    # The last bytes of a long word and its length (capped): typos early in a word keep it.
    with_suffix = np.flatnonzero(has_suffix)
    size = suffix[with_suffix].astype(np.uint64)
    value = view[ends[with_suffix] - 8] >> (np.uint64(64) - np.uint64(8) * size)
    value ^= np.minimum(tokens.lengths[with_suffix], 16).astype(np.uint64) * _GOLDEN
    value += np.uint64(recipe.seed + 2)
    indices[slot[with_suffix] + 1 + has_prefix[with_suffix]] = _bucket(value, _ODD_SUFFIX, n_bits)

    pairs = np.flatnonzero(follows)
    value = hashes[pairs] * _GOLDEN
    value += hashes[pairs + 1]
    indices[slot[pairs + 1] - 1] = _bucket(value, _ODD_BIGRAM, n_bits)

    per_text = np.diff(indptr)
    scale = (1.0 / np.sqrt(np.maximum(per_text, 1))).astype(np.float32)
    values = np.repeat(scale, per_text)
    shape = (tokens.word_offsets.size - 1, recipe.n_features)
    indptr = indptr.astype(np.int32 if indices.size < 2**31 else np.int64)
    return sp.csr_matrix((values, indices.astype(indptr.dtype), indptr), shape=shape, copy=False)


# Texts whose buckets are saved with a model and re-checked on load (see the module docstring).
PROBE_TEXTS: tuple[str, ...] = (
    "Яма на дороге у дома 15, ЁЛКА упала!",
    "Streetlight OUT on 5th Ave near 221B Baker St.",
    "звоните +7 (916) 123-45-67 или пишите ivanov@mail.ru, фото https://disk.yandex.ru/i/ab12",
    "Заявитель XXXX XXXX, кв. XX — «не работает лифт»… 😡",
    "Ukrainian їжак, Straße, café, 北京",
    "",
)


def probe_buckets(recipe: FeatureRecipe) -> list[list[int]]:
    """Sorted feature buckets of each probe text under `recipe`."""
    matrix = hash_features(pl.Series(PROBE_TEXTS, dtype=pl.String), recipe)
    bounds = zip(matrix.indptr[:-1], matrix.indptr[1:])
    return [sorted(int(i) for i in matrix.indices[a:b]) for a, b in bounds]


def check_probes(recipe: FeatureRecipe, expected: list[list[int]]) -> None:
    """Raise FeatureRecipeError when this code and these libraries hash the probes differently."""
    actual = probe_buckets(recipe)
    for text, want, got in zip(PROBE_TEXTS, expected + [[]] * len(actual), actual, strict=False):
        if want != got or len(expected) != len(actual):
            raise FeatureRecipeError(
                f"probe text {text!r} hashes to other buckets than when the model was trained "
                "(a changed library or UrbanPulse version); retrain the model here, or install "
                "the library versions recorded in its model card"
            )
