"""Language by script majority, over whole columns."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_series_equal

from models.text.language import detect_language, letter_counts


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Яма на дороге у дома 5", "ru"),
        ("Pothole on Main St near 5th Ave", "en"),
        ("ЁЛКИ упали, всё перегородили", "ru"),
        ("Большая яма возле дома on Tverskaya", "ru"),  # mixed: Cyrillic letters win
        ("Huge pothole near the park on улица Ленина", "en"),  # mixed: Latin letters win
        ("ab аб", "ru"),  # a tie goes to Russian
        ("Ukrainian їжак and Straße", "en"),
        ("", None),
        (None, None),
        ("12345 !!! +7 (916) 000-00-00", None),
        ("😡😡😡 ...", None),
        ("北京 东城区", None),
    ],
)
def test_detect_language(text: str | None, expected: str | None) -> None:
    result = detect_language(pl.Series("description", [text], dtype=pl.String))
    assert_series_equal(result, pl.Series("description", [expected], dtype=pl.String))


def test_detect_language_keeps_rows_and_name_over_a_column() -> None:
    texts = pl.Series("t", ["Не горит фонарь", None, "Street light out", "", "Шум ночью"] * 1000)
    expected = pl.Series("t", ["ru", None, "en", None, "ru"] * 1000, dtype=pl.String)
    assert_series_equal(detect_language(texts), expected)


def test_detect_language_of_an_empty_column() -> None:
    assert_series_equal(
        detect_language(pl.Series("t", [], dtype=pl.String)), pl.Series("t", [], dtype=pl.String)
    )


def test_letter_counts_match_a_per_text_count() -> None:
    rng = np.random.default_rng(7)
    alphabet = list("абвгдеёжАБЁЯяabcxyzABXZ 0123.,«»—😀é")
    texts = ["".join(rng.choice(alphabet, size=rng.integers(0, 60))) for _ in range(500)]
    texts += [None, ""]
    cyrillic, latin = letter_counts(pl.Series(texts, dtype=pl.String))
    cyrillic_letters = set("абвгдеёжАБЁЯя")
    latin_letters = set("abcxyzABXZ")
    expected_cyrillic = [sum(ch in cyrillic_letters for ch in t or "") for t in texts]
    expected_latin = [sum(ch in latin_letters for ch in t or "") for t in texts]
    assert cyrillic.tolist() == expected_cyrillic
    assert latin.tolist() == expected_latin
