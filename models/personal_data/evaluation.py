"""How well the PII detector finds what residents typed, graded span by span against known spans
(the synthetic generator's answer key), and the card that reports it next to the detector.

Two matchings, per type: *exact* (same start, end and type) tells whether a scrubbed text leaves
no stray characters; *overlap* (same type, any shared character) tells whether the personal data
was hit at all, which is what publishing safely needs.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import polars as pl

from models.personal_data.detector import PII_TYPES, detect_pii
from schemas.personal_data import PII_END, PII_START, PII_TYPE

CARD_JSON = "pii_card.json"
CARD_MARKDOWN = "pii_card.md"
_ROW = "row"
_SPAN_ID = "span_id"


def _flat(spans: pl.Series) -> pl.DataFrame:
    """One row per span: text row, span id, start, end, type."""
    frame = pl.DataFrame({"spans": spans}).with_row_index(_ROW).explode("spans")
    frame = frame.drop_nulls("spans").unnest("spans")
    return frame.with_row_index(_SPAN_ID)


def _rate(hits: int, total: int) -> float | None:
    return round(hits / total, 4) if total else None


def span_scores(true_spans: pl.Series, predicted: pl.Series) -> dict[str, dict]:
    """Precision and recall per type, exact and overlap, with support counts."""
    truth, found = _flat(true_spans), _flat(predicted)
    pairs = truth.join(found, on=[_ROW, PII_TYPE], suffix="_found")
    overlap = pairs.filter(
        (pl.col(PII_START) < pl.col(f"{PII_END}_found"))
        & (pl.col(f"{PII_START}_found") < pl.col(PII_END))
    )
    exact = overlap.filter(
        (pl.col(PII_START) == pl.col(f"{PII_START}_found"))
        & (pl.col(PII_END) == pl.col(f"{PII_END}_found"))
    )
    scores: dict[str, dict] = {}
    for kind in (*PII_TYPES, "all"):

        def of_kind(frame: pl.DataFrame, kind: str = kind) -> pl.DataFrame:
            return frame if kind == "all" else frame.filter(pl.col(PII_TYPE) == kind)

        n_true, n_found = of_kind(truth).height, of_kind(found).height
        entry: dict = {"true_spans": n_true, "found_spans": n_found}
        for name, matched in (("exact", exact), ("overlap", overlap)):
            matched = of_kind(matched)
            entry[name] = {
                "recall": _rate(matched[_SPAN_ID].n_unique(), n_true),
                "precision": _rate(matched[f"{_SPAN_ID}_found"].n_unique(), n_found),
            }
        scores[kind] = entry
    return scores


def evaluate_pii(
    texts: pl.Series, true_spans: pl.Series, predicted: pl.Series | None = None
) -> dict:
    """The detector's card: per-type scores on `texts`, plus its throughput on them."""
    started = time.perf_counter()
    predicted = detect_pii(texts) if predicted is None else predicted
    seconds = time.perf_counter() - started
    return {
        "name": "pii-detector",
        "data": {
            "texts": len(texts),
            "mean_chars": round(float(texts.str.len_chars().mean() or 0.0), 1),
            "texts_with_pii": int((true_spans.list.len() > 0).sum()),
        },
        "scores": span_scores(true_spans, predicted),
        "seconds": round(seconds, 4),
        "texts_per_second": round(len(texts) / seconds) if seconds > 0 else None,
    }


def card_markdown(card: dict, title: str = "PII detector card") -> str:
    data = card["data"]
    lines = [
        f"# {title}",
        "",
        (
            f"{data['texts']:,} texts (mean {data['mean_chars']} chars), "
            f"{data['texts_with_pii']:,} with personal data."
        ),
        "",
        "| type | true | found | recall exact | precision exact | recall overlap | precision overlap |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for kind, s in card["scores"].items():
        cells = [s["exact"]["recall"], s["exact"]["precision"]]
        cells += [s["overlap"]["recall"], s["overlap"]["precision"]]
        shown = " | ".join("n/a" if c is None else f"{c:.3f}" for c in cells)
        lines.append(f"| {kind} | {s['true_spans']:,} | {s['found_spans']:,} | {shown} |")
    if card.get("texts_per_second"):
        lines += ["", f"Throughput in this run: {card['texts_per_second']:,} texts/s."]
    return "\n".join(lines) + "\n"


def write_pii_card(card: dict, directory: Path) -> tuple[Path, Path]:
    """`pii_card.json` and `pii_card.md` in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    json_path, md_path = directory / CARD_JSON, directory / CARD_MARKDOWN
    json_path.write_text(json.dumps(card, indent=2, ensure_ascii=False), encoding="utf-8")
    md_path.write_text(card_markdown(card), encoding="utf-8")
    return json_path, md_path
