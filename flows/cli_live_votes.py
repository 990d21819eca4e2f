"""`urbanpulse vote open | close`, `land votes`, `stream votes`: live votes from the command line.

    urbanpulse vote open FILE.pb --city C [--election ID]      register a vote (META and PROJECTS)
    urbanpulse land votes FILE... --city C --election ID       land ballots (.pb, CSV, JSON lines)
    urbanpulse stream votes --city C [--for SECONDS | --to-end] count them into the live store
    urbanpulse vote close ID --city C                          later ballots: dead letters vote_closed

Registered after `flows.cli_live`, whose `land` and `stream` groups it adds to.
"""

from __future__ import annotations

from pathlib import Path

from flows.cli_steps import done, step
from plumbing.workspace import Workspace
from schemas import ledger


def register(commands, groups) -> None:
    """`vote open | close`, and `votes` under the `land` and `stream` groups of `flows.cli_live`."""
    if "land" not in groups or "stream" not in groups:
        raise RuntimeError("flows.cli_live_votes must come after flows.cli_live in COMMAND_MODULES")
    vote = commands.add_parser("vote", help="open and close live votes").add_subparsers(dest="what", required=True)
    opening = vote.add_parser("open", help="register a vote from a .pb file's META and PROJECTS")
    opening.add_argument("path", type=Path)
    opening.add_argument("--city", default="demo")
    opening.add_argument("--election", help="election id (default: the file's name without its extension)")
    opening.add_argument("--repeated-voter", choices=("latest", "refuse"),
                         help="a voter's later ballot replaces the earlier (latest) or is refused "
                              "(default: the file's META repeated_voter, else latest)")
    opening.add_argument("--encoding", help="text encoding of the file (default: UTF-8, else guessed)")
    opening.set_defaults(handler=open_vote)
    closing = vote.add_parser("close", help="close a vote: ballots landed later are dead letters vote_closed")
    closing.add_argument("election")
    closing.add_argument("--city", default="demo")
    closing.set_defaults(handler=close_vote)

    land = groups["land"].add_parser("votes", help="land ballots of an open vote for the stream of votes")
    land.add_argument("paths", nargs="+", type=Path)
    land.add_argument("--city", default="demo")
    land.add_argument("--election", required=True, help="the vote's id (urbanpulse vote open)")
    land.add_argument("--format", choices=("pb", "csv", "jsonl"), help="default: by the file's suffix")
    land.add_argument("--encoding", help="text encoding of the files (default: UTF-8)")
    land.set_defaults(handler=land_votes)

    stream = groups["stream"].add_parser("votes", help="count landed ballots into the live tallies until stopped")
    stream.add_argument("--city", default="demo")
    ends = stream.add_mutually_exclusive_group()
    ends.add_argument("--for", dest="seconds", type=float, help="stop by itself after this many seconds")
    ends.add_argument("--to-end", action="store_true", help="count what has landed so far, then stop")
    stream.set_defaults(handler=stream_votes)


def open_vote(args, _extra, workspace: Workspace) -> int:
    """`urbanpulse vote open`: register the vote of a .pb file (its ballots are not landed)."""
    from pipelines.live_elections import open_vote as register_vote

    if not args.path.is_file():
        raise FileNotFoundError(f"vote file not found: {args.path}")
    election, created, ballots = register_vote(workspace, args.city, args.path, args.election,
                                               args.repeated_voter, args.encoding)
    state = "opened" if created else "was registered before (same rules and projects)"
    print(f"vote {election.election_id!r} of city {args.city!r} {state}: {election.vote_type}, budget "
          f"{election.budget:,.0f}, {election.projects.height} projects, repeated voter: {election.repeated_voter}")
    if ballots:
        print(f"   the file's {ballots:,} ballots were not landed; land them with: urbanpulse land votes "
              f"{args.path} --city {args.city} --election {election.election_id}")
    print(f"   land ballots: urbanpulse land votes FILE --city {args.city} --election {election.election_id}")
    return 0


def close_vote(args, _extra, workspace: Workspace) -> int:
    """`urbanpulse vote close`: close a vote and decide it from the ballots counted so far."""
    from pipelines.live_elections import close_vote as close

    closed = close(workspace, args.city, args.election)
    print(f"vote {args.election!r} of city {args.city!r} " + (
        "closed: ballots landing from now on are dead letters vote_closed" if closed else "was closed already"))
    return 0


def land_votes(args, _extra, workspace: Workspace) -> int:
    """`urbanpulse land votes`: append ballot files to the vote's landing log."""
    from pipelines.land_votes import BallotLander

    lander = BallotLander(workspace, args.city, args.election)
    for path in args.paths:
        started = step(f"landing ballots of {path} into vote {args.election!r} of city {args.city!r}")
        segments = lander.land_file(path, args.format, args.encoding)
        done(started)
        print(f"   segments {segments[0]}..{segments[-1]}" if segments else "   no ballots")
    print(f"landing log {lander.log.root}: {lander.log.end()} segments")
    return 0


def stream_votes(args, extra, workspace: Workspace) -> int:
    """`urbanpulse stream votes`: count landed ballots until stopped (or, `--to-end`, up to now)."""
    from pipelines.stopping import stopping_after
    from pipelines.stream_votes import VoteSettings, catch_up, stream

    settings = VoteSettings(workspace, args.city, beam_args=extra)
    if args.to_end:
        report = catch_up(settings)
    else:
        print(f"-> counting the ballots of {', '.join(settings.source_names())} into {settings.store_path} "
              "(Ctrl-C stops)", flush=True)
        with stopping_after(args.seconds):
            report = stream(settings)
    c = report.counters
    print(f"ballots in {c[ledger.RECORDS_IN]:,}: counted {c[ledger.RECORDS_OUT]:,}, dead letters "
          f"{c[ledger.DEAD_LETTERS]:,} (a replaced earlier ballot counts as one); offsets {report.offsets}; "
          f"{report.seconds:.1f} s")
    return 0
