"""PII bench: how much personal data the detector finds in generated requests, how fast, and how a
naive regex-only detector does on the same texts in the same run.

    python -m bench.pii [--count 100000] [--repeat 3] [--seed 11] [--column-rows 1000000]

Writes `bench/out/pii_report.{md,json}` and the detector card `bench/out/pii_card.{json,md}`.
Throughput is the median of `--repeat` passes over all texts, and over the texts of 130-170
characters (the size the batch pipeline is sized for); one pass over a `--column-rows` column
(the generated texts repeated), the size of the million-row batch run.
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl

from bench.measure import OtherCpu
from bench.report import code_state, machine_info, save_report
from models.personal_data.detector import detect_pii, scrub_pii, spans_series
from models.personal_data.evaluation import card_markdown, evaluate_pii, span_scores, write_pii_card
from schemas.personal_data import PII_SPANS, PiiType
from schemas.requests import DESCRIPTION
from synthetic.demo_city import build_demo_city
from synthetic.requests.generator import generate_requests

OUT = Path(__file__).resolve().parent / "out"
MID_SIZE = (130, 170)

# What one writes in ten minutes: every digit run that looks long, anything around an @, two
# capitalised words in a row, and "кв."/"apt" followed by a number.
_NAIVE = re.compile(
    r"(?P<email>\S+@\S+\.\w+)|(?P<phone>\+?\d[\d ()-]{8,}\d)"
    r"|(?P<flat>(?i:кв|apt)\.? ?\d+)|(?P<person>[A-ZА-ЯЁ][a-zа-яё]+ [A-ZА-ЯЁ][a-zа-яё]+)"
)
_NAIVE_TYPES = {"email": PiiType.EMAIL, "phone": PiiType.PHONE, "flat": PiiType.FLAT}


def naive_detect(texts: pl.Series) -> pl.Series:
    """The baseline: one regex, no context, no name lists."""
    starts: list[int] = []
    ends: list[int] = []
    kinds: list[str] = []
    counts = np.zeros(len(texts), dtype=np.int32)
    for row, text in enumerate(texts.fill_null("").to_list()):
        for match in _NAIVE.finditer(text):
            starts.append(match.start())
            ends.append(match.end())
            kinds.append(_NAIVE_TYPES.get(match.lastgroup, PiiType.PERSON))
            counts[row] += 1
    return spans_series(starts, ends, kinds, counts)


def spacy_tokenizer(texts: pl.Series) -> None:
    """spaCy's blank multi-language tokenizer alone: the floor of any Matcher-based detector."""
    import spacy

    tokenizer = spacy.blank("xx").tokenizer
    for _ in tokenizer.pipe(texts.fill_null("").to_list(), batch_size=1000):
        pass


def throughput(run: Callable[[pl.Series], object], texts: pl.Series, repeat: int) -> dict:
    """Wall seconds per pass, and the CPU seconds this process used (all its threads), which
    say more than the wall clock when the machine is shared."""
    seconds, cpu, other = [], [], []
    for _ in range(repeat):
        with OtherCpu() as busy:
            started, started_cpu = time.perf_counter(), time.process_time()
            run(texts)
            seconds.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
        other.append(round(busy.seconds, 2))
    median = statistics.median(seconds)
    return {
        "texts": len(texts),
        "seconds_median": round(median, 4),
        "seconds_all": [round(s, 4) for s in seconds],
        "texts_per_second_median": round(len(texts) / median),
        "cpu_seconds_median": round(statistics.median(cpu), 4),
        "texts_per_cpu_second": round(len(texts) / max(statistics.median(cpu), 1e-9)),
        "other_cpu_seconds_all": other,
    }


def _long_column(texts: pl.Series, rows: int) -> dict:
    if rows <= 0:
        return {}
    column = pl.concat([texts] * (rows // len(texts) + 1)).head(rows).rechunk()
    return {f"detect_pii_{rows:_}_texts_column": throughput(detect_pii, column, 1)}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000, help="generated requests")
    parser.add_argument("--repeat", type=int, default=3, help="timed passes per detector")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--column-rows", type=int, default=1_000_000, help="0 skips the long column")
    parser.add_argument("--out", type=Path, default=OUT)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    code_at_start = code_state()
    with tempfile.TemporaryDirectory() as scratch:
        pack = build_demo_city(Path(scratch) / "demo")
        records, truth = generate_requests(pack, args.count, args.seed)
    texts, true_spans = records.get_column(DESCRIPTION), truth.get_column(PII_SPANS)
    lengths = texts.str.len_chars()
    mid = texts.filter(lengths.is_between(*MID_SIZE))

    card = evaluate_pii(texts, true_spans)
    write_pii_card(card, args.out)
    report = {
        "machine": machine_info(),
        "code": {"at_start": code_at_start, "at_end": code_state()},
        "data": {**card["data"], "seed": args.seed, "mid_size_texts": len(mid)},
        "detector": card["scores"],
        "baseline_naive_regex": span_scores(true_spans, naive_detect(texts)),
        "throughput": {
            "detect_pii": throughput(detect_pii, texts, args.repeat),
            "detect_pii_130_170_chars": throughput(detect_pii, mid, args.repeat),
            "scrub_pii_detect_and_replace": throughput(scrub_pii, texts, args.repeat),
            "naive_regex": throughput(naive_detect, texts, args.repeat),
            **_long_column(texts, args.column_rows),
            "spacy_blank_tokenizer_only": throughput(spacy_tokenizer, texts, 1),
        },
    }
    save_report(args.out, "pii_report", report, render(report, card))
    print(f"wrote {args.out / 'pii_report.md'}")
    return 0


def render(report: dict, card: dict) -> str:
    machine = report["machine"]
    lines = [
        "# PII detector bench",
        "",
        (
            f"Machine: {machine['nproc']} CPUs ({machine['cpu_model']}), {machine['ram_gb']} GB RAM, "
            f"Python {machine['python']}, {pl.thread_pool_size()} polars threads. "
            f"Commit {report['code']['at_start'].get('commit', '?')}."
        ),
        "",
        card_markdown(card, title="Detector").replace("# Detector", "## Detector"),
        card_markdown(
            {**card, "scores": report["baseline_naive_regex"], "texts_per_second": None},
            title="Baseline",
        ).replace("# Baseline", "## Baseline: naive regex"),
        "## Throughput (median of passes; one process)",
        "",
        "| what | texts | median s | texts/s | CPU s | texts per CPU s | other CPU s (machine load) |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for name, t in report["throughput"].items():
        lines.append(
            f"| {name} | {t['texts']:,} | {t['seconds_median']:.3f} | "
            f"{t['texts_per_second_median']:,} | {t['cpu_seconds_median']:.2f} | "
            f"{t['texts_per_cpu_second']:,} | {t['other_cpu_seconds_all']} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
