"""The bench report as Markdown: one section per question a reader asks, figures in tables."""

from __future__ import annotations

from schemas import ledger


def _fmt(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def _machine_lines(machine: dict) -> list[str]:
    libs = ", ".join(f"{name} {v}" for name, v in machine["libraries"].items())
    return [
        (
            f"Machine: {machine['nproc']} CPUs ({machine['cpu_model']}), "
            f"{machine['ram_gb']} GB RAM, {machine['os']}, Python {machine['python']}."
        ),
        f"Libraries: {libs}.",
    ]


def _code_lines(code: dict) -> list[str]:
    start, end = code["at_start"], code["at_end"]
    changed = ", ".join(start["changed_files"]) or "none"
    same = (
        "unchanged during the bench"
        if start["fingerprint"] == end["fingerprint"]
        else ("CHANGED while the bench ran: runs may have measured different code")
    )
    return [
        (
            f"Code: commit {start['commit'][:10]}, uncommitted changes outside bench/: {changed} "
            f"({same})."
        )
    ]


def _end_to_end_lines(report: dict) -> list[str]:
    ours, theirs = report["end_to_end"]["urbanpulse"], report["end_to_end"]["peer"]
    ratio = report["end_to_end"]["ratio_peer_over_urbanpulse"]
    rows = report["workload"]["feed_rows"]

    def row(name: str, runs: dict) -> str:
        all_runs = ", ".join(_fmt(s) for s in runs["seconds_all"])
        cpu = ", ".join(_fmt(s, 0) for s in runs["cpu_seconds_all"])
        others = ", ".join(_fmt(s, 0) for s in runs["other_cpu_seconds_all"])
        return (
            f"| {name} | {_fmt(runs['seconds_median'])} | {all_runs} | "
            f"{_fmt(rows / runs['seconds_median'], 0)} | {_fmt(runs['peak_rss_mb_median'], 0)} | "
            f"{cpu} | {others} |"
        )

    return [
        (
            "| tool | seconds (median) | all runs (s) | rows/s | peak RSS MB (median) | "
            "own CPU s (runs) | other processes' CPU s (runs) |"
        ),
        "|---|---:|---|---:|---:|---|---|",
        row("UrbanPulse (Beam FnApiRunner)", ours),
        row("peer (pandas)", theirs),
        "",
        (
            f"Peer / UrbanPulse: time x{ratio['seconds']:.2f}, "
            f"peak memory x{ratio['peak_rss_mb']:.2f}."
        ),
        "",
        "UrbanPulse counts (last run): "
        + ", ".join(f"{k} {_value(v)}" for k, v in ours["counts"].items())
        + " (pipeline_seconds: inside `run()`, without interpreter start and imports).",
        "Peer counts (last run): "
        + ", ".join(f"{k} {_value(v)}" for k, v in theirs["counts"].items())
        + " (its own `seconds` exclude imports).",
    ]


def _stage_lines(stages: list[dict], pipeline_seconds: float | None, conditions: dict) -> list[str]:
    lines = ["| stage | rows in | seconds (median) | rows/s |", "|---|---:|---:|---:|"]
    for stage in stages:
        lines.append(
            f"| {stage['name']} | {stage['rows']:,} | {_fmt(stage['median_seconds'], 2)} | "
            f"{_fmt(stage['rows_per_second'], 0)} |"
        )
    # dedup runs again inside merge+publish, so it is left out of the sum
    total = sum(s["median_seconds"] for s in stages if s["name"] != "dedup")
    return [
        *lines,
        "",
        (
            f"Sum of the stages (dedup counted once, in merge+publish): {total:.1f} s; the Beam "
            f"run spends {_fmt(pipeline_seconds)} s inside `run()` on the same rows."
        ),
        (
            f"Other processes used {_fmt(conditions.get('other_cpu_seconds'), 0)} CPU s while the "
            f"stages were timed."
        ),
    ]


def _accuracy_lines(accuracy: dict) -> list[str]:
    lines = [
        f"On the {accuracy['common_rows']:,} request ids both tools kept:",
        "",
        "| tool | accuracy | macro-F1 | no category | district agreement |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, key in (
        ("UrbanPulse", "urbanpulse"),
        ("peer", "peer"),
        ("UrbanPulse, all it kept", "urbanpulse_all_kept"),
        ("peer, all it kept", "peer_all_kept"),
    ):
        s = accuracy[key]
        lines.append(
            f"| {label} ({s['rows']:,} ids) | {s['accuracy']:.4f} | {s['macro_f1']:.4f} | "
            f"{s['no_category_share']:.4f} | {_fmt(s['district_agreement'], 4)} |"
        )
    split = accuracy["abstentions"]
    lines += [
        "",
        (
            f"Rows UrbanPulse classifies ({split['classified_rows']:,}): UrbanPulse "
            f"{_value(split['classified_urbanpulse_accuracy'])}, peer "
            f"{_value(split['classified_peer_accuracy'])}. Rows it leaves without a category "
            f"({split['abstained_rows']:,}, texts with nothing to classify): peer right on "
            f"{_value(split['abstained_peer_accuracy'])}."
        ),
    ]
    return lines


def _training_lines(training: dict) -> list[str]:
    ours, theirs = training["urbanpulse"], training["peer"]
    return [
        "| tool | rows given | seconds | other processes' CPU s |",
        "|---|---:|---:|---:|",
        (
            f"| UrbanPulse (train 80% by time + holdout scoring) | {ours['rows']:,} | "
            f"{_fmt(ours['seconds'])} | {_fmt(ours['details'].get('other_cpu_seconds'), 0)} |"
        ),
        (
            f"| peer (all rows) | {theirs['rows']:,} | {_fmt(theirs['seconds'])} | "
            f"{_fmt(theirs['details'].get('other_cpu_seconds'), 0)} |"
        ),
        "",
        (
            f"UrbanPulse holdout: accuracy {ours['details'].get('accuracy', float('nan')):.4f}, "
            f"macro-F1 {ours['details'].get('macro_f1', float('nan')):.4f}."
        ),
    ]


def _value(value) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _key_value_table(title: str, values: dict) -> list[str]:
    rows = [f"| {name} | {_value(v)} |" for name, v in values.items() if not isinstance(v, dict)]
    return [f"| {title} | value |", "|---|---:|", *rows]


def _check_lines(checks: dict) -> list[str]:
    lines = ["| count | expected from truth | observed |", "|---|---:|---:|"]
    for name, value in checks["expected"].items():
        lines.append(f"| {name} | {value:,} | {_value(checks['observed'].get(name))} |")
    lines.append(
        f"| rows in the published dataset | {checks['expected'][ledger.REQUEST_ROWS_PUBLISHED]:,} | "
        f"{checks['observed']['published_rows_in_dataset']:,} |"
    )
    dead = checks[ledger.DEAD_LETTERS]
    reasons = ", ".join(f"{reason} {n:,}" for reason, n in dead["reasons_found"].items())
    return [
        *lines,
        "",
        (
            f"`requests_without_district` counter (all valid rows, re-sent versions included): "
            f"{_value(checks[ledger.REQUESTS_WITHOUT_DISTRICT])}."
        ),
        f"Dead letters by reason: {reasons}.",
        "",
        *_key_value_table("dead letters vs defects planted", dead),
        "",
        *_key_value_table("enrichment vs truth", checks["enrichment"]),
        "",
        *_key_value_table("needs_review vs wrong categories", checks["review"]),
    ]


def render_markdown(report: dict) -> str:
    workload = report["workload"]
    sections = [
        [
            "# UrbanPulse batch bench",
            "",
            *_machine_lines(report["machine"]),
            *_code_lines(report["code"]),
            "",
            (
                f"Feed: {workload['feed_rows']:,} generated requests "
                f"(seed {workload['feed_seed']}), {report['repeat']} run(s) per tool; "
                f"whole bench {report['bench_seconds'] / 60:.1f} min."
            ),
        ],
        ["## End to end", "", *_end_to_end_lines(report)],
        [
            "## Stages (vectorised functions outside Beam, 100k-row batches)",
            "",
            *_stage_lines(
                report["stages"],
                report["end_to_end"]["urbanpulse"]["counts"].get("pipeline_seconds"),
                report.get("stage_conditions", {}),
            ),
        ],
        ["## Training", "", *_training_lines(report["training"])],
        ["## Accuracy against the generator's truth", "", *_accuracy_lines(report["accuracy"])],
        ["## UrbanPulse output vs truth", "", *_check_lines(report["urbanpulse_checks"])],
    ]
    return "\n\n".join("\n".join(section) for section in sections) + "\n"
