"""`urbanpulse ingest votes` and `urbanpulse generate votes`: participatory budgets and e-votes."""

from __future__ import annotations

from pathlib import Path

from flows.cli_steps import done, step
from plumbing.workspace import Workspace

VOTE_FORMATS = ("pabulib", "consul")
SURVEY_FORMATS = ("csv", "jsonl", "parquet")
FORMATS_HELP = ("pabulib (.pb files of pabulib.org, one election each), consul (a CONSUL/Decidim proposals or "
                "investments export and its supports export, given together: one election), or csv | jsonl | "
                "parquet (survey and single-question e-vote answers, one row per respondent x question, "
                "columns as --mapping says)")


def register(_commands, groups) -> None:
    ingest = groups["ingest"].add_parser("votes", help="ingest vote files: tallies, greedy and MES outcomes, turnout")
    ingest.add_argument("paths", nargs="+", type=Path)
    ingest.add_argument("--city", help="city pack name (districts, population); default: the file's META unit")
    ingest.add_argument("--format", default="pabulib", choices=(*VOTE_FORMATS, *SURVEY_FORMATS), help=FORMATS_HELP)
    ingest.add_argument("--mapping", type=Path, help="TOML column mapping of survey answers (csv, jsonl, parquet)")
    ingest.add_argument("--population", type=Path,
                        help="CSV district?,age_band,sex,population: survey shares weighted to the population")
    ingest.add_argument("--budget", help="the election's budget where the file gives none (CONSUL exports)")
    ingest.add_argument("--election", help="election or survey id (default: each file's name without its extension)")
    ingest.add_argument("--repeated-voter", choices=("latest", "refuse"),
                        help="a voter's second ballot replaces the first (latest) or is refused (default: "
                             "the file's META repeated_voter, else latest)")
    ingest.add_argument("--mes-completion", choices=("none", "add1"),
                        help="complete equal shares with Add1 (raise every voter's share by one unit while the "
                             "outcome still fits; slow on city-wide votes); default: add1 when the file's rule says so")
    ingest.add_argument("--encoding", help="text encoding of the files (default: UTF-8, else guessed)")
    ingest.add_argument("--no-prefect", action="store_true", help="run the pipeline without a flow")
    ingest.set_defaults(handler=ingest_votes)

    generate = groups["generate"].add_parser("votes", help="a generated vote of the demo city (.pb or survey CSV)")
    generate.add_argument("--city", default="demo")
    generate.add_argument("--ballots", type=int, default=200_000)
    generate.add_argument("--kind", default="approval", choices=("approval", "ordinal", "cumulative", "survey"))
    generate.add_argument("--seed", type=int, default=0)
    generate.add_argument("--out", type=Path, required=True)
    generate.set_defaults(handler=generate_votes)


def default_city(paths: list[Path], fmt: str) -> str:
    """The first Pabulib file's META `unit` (lower case), else `default`."""
    from pipelines.sources.participation.pabulib import read_meta

    unit = read_meta(paths[0]).get("unit") if fmt == "pabulib" else None
    return (unit or "default").strip().lower() or "default"


def ingest_votes(args, extra, workspace: Workspace) -> int:
    from flows.vote_summary import election_summaries, print_election

    missing = [str(p) for p in args.paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"vote files not found: {', '.join(missing)}")
    if args.format in SURVEY_FORMATS:
        return ingest_survey_answers(args, extra, workspace)
    if args.format == "pabulib":  # before any flow: a file in another format is one clear line
        from pipelines.sources.participation.pabulib import check_pabulib

        for path in args.paths:
            check_pabulib(path, args.encoding)
    city = args.city or default_city(args.paths, args.format)
    paths = [str(p.resolve()) for p in args.paths]
    started = step(f"ingesting {len(paths)} vote file(s) into city {city!r}")
    inputs = (paths, city, str(workspace.root), args.format, args.election, args.repeated_voter, args.encoding, extra,
              args.budget, args.mes_completion)
    if args.no_prefect:
        from dataclasses import asdict

        from pipelines.ingest_votes import run, vote_argv

        report = asdict(run(vote_argv(*inputs)))
        report["summaries"] = election_summaries(workspace, city, report["elections"])
    else:
        from flows.votes import ingest_votes as flow

        report = flow(*inputs)
    done(started)
    print_vote_report(report)
    for summary in report["summaries"]:
        print_election(summary)
    return 0


def ingest_survey_answers(args, extra, workspace: Workspace) -> int:
    from flows.vote_summary import print_survey, survey_summaries

    city = args.city or "default"
    paths = [str(p.resolve()) for p in args.paths]
    started = step(f"ingesting {len(paths)} survey file(s) into city {city!r}")
    inputs = (paths, city, str(workspace.root), args.format, str(args.mapping) if args.mapping else None,
              args.election, str(args.population) if args.population else None, args.encoding, extra)
    if args.no_prefect:
        from dataclasses import asdict

        from pipelines.ingest_surveys import run, survey_argv

        report = asdict(run(survey_argv(*inputs)))
        report["summaries"] = survey_summaries(workspace, city, report["surveys"])
    else:
        from flows.votes import ingest_surveys as flow

        report = flow(*inputs)
    done(started)
    print_vote_report(report, "answers")
    for summary in report["summaries"]:
        print_survey(summary)
    return 0


def print_vote_report(report: dict, what: str = "ballots") -> None:
    from schemas import ledger

    c = report["counters"]
    print(f"{what} in {c[ledger.RECORDS_IN]:,} = counted {c[ledger.RECORDS_OUT]:,} + dead letters "
          f"{c[ledger.DEAD_LETTERS]:,}  (accounting ok: {report[ledger.ACCOUNTING_OK]}), {report['seconds']:.1f} s")


def generate_votes(args, _extra, workspace: Workspace) -> int:
    from models.cities.pack import CityPack
    from synthetic.participation.generator import generate_votes as generate
    from synthetic.participation.generator import write_pabulib, write_survey_csv

    started = step(f"generating a {args.kind} vote of {args.ballots:,} ballots for {args.city!r} (seed {args.seed})")
    vote = generate(CityPack.load(workspace.city(args.city)), args.ballots, args.seed, args.kind,
                    election=args.out.stem)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    (write_survey_csv if args.kind == "survey" else write_pabulib)(vote, args.out)
    done(started)
    print(f"wrote {args.ballots:,} {'respondents' if args.kind == 'survey' else 'ballots'} to {args.out}")
    return 0
