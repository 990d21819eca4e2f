"""`urbanpulse keys create|list|revoke` (the Open311 server's API keys), `urbanpulse open311 updates
FILE` (the back office's status changes from a file) and `urbanpulse poll open311` (following a
city's Open311 endpoint into the landing log)."""

from __future__ import annotations

from pathlib import Path

from plumbing.api_keys import KeyStore
from plumbing.open311_updates import import_updates
from plumbing.workspace import Workspace
from schemas import open311 as o3


def register(commands, groups) -> None:
    keys = commands.add_parser("keys", help="API keys of the Open311 server (urbanpulse serve)")
    verbs = keys.add_subparsers(dest="keys_command", required=True)
    create = verbs.add_parser("create", help="a new key, printed once (only its salted hash is kept)")
    create.add_argument("--name", required=True, help="the app or office the key is for")
    create.add_argument("--rate", type=int, default=o3.DEFAULT_RATE_PER_MINUTE, help="reports a minute")
    create.add_argument("--back-office", action="store_true", help="may also post service request updates")
    create.set_defaults(handler=create_key)
    listing = verbs.add_parser("list", help="every key: id, name, role, rate, created, revoked")
    listing.set_defaults(handler=list_keys)
    revoke = verbs.add_parser("revoke", help="revoke a key by its id (servers notice within seconds)")
    revoke.add_argument("key_id")
    revoke.set_defaults(handler=revoke_key)

    open311 = commands.add_parser("open311", help="Open311 service request updates from a file")
    tasks = open311.add_subparsers(dest="open311_command", required=True)
    updates = tasks.add_parser("updates", help="land status changes (CSV or JSON) for the running stream")
    updates.add_argument("path", type=Path, metavar="FILE")
    updates.add_argument("--city", default="demo")
    updates.set_defaults(handler=land_updates)

    poll = commands.add_parser("poll", help="follow a city's live endpoint").add_subparsers(dest="what", required=True)
    follow = poll.add_parser("open311", help="land new and changed requests of an Open311 endpoint")
    follow.add_argument("--url", required=True, help="the endpoint's root, e.g. https://city.example/open311/v2")
    follow.add_argument("--source", required=True, help="the landing source to land into")
    follow.add_argument("--city", default="demo")
    follow.add_argument("--api-key")
    follow.add_argument("--jurisdiction-id")
    follow.add_argument("--format", choices=o3.FORMATS, default="json")
    follow.add_argument("--lookback-days", type=float, default=7.0, help="re-read this much before the cursor")
    follow.add_argument("--since", help="W3C datetime of the first poll (default: 90 days ago)")
    follow.add_argument("--every", type=float, help="poll again every this many seconds, until Ctrl-C")
    follow.set_defaults(handler=poll_open311)


def create_key(args, _extra, workspace: Workspace) -> int:
    store = KeyStore.of(workspace)
    try:
        record, key = store.create(args.name, o3.ROLE_BACK_OFFICE if args.back_office else o3.ROLE_REPORTER,
                                   args.rate)
    finally:
        store.close()
    print(f"API key {record.key_id} for {record.name!r} ({record.role}, {record.rate_per_minute} a minute):")
    print(key)
    print("it is shown only now; UrbanPulse keeps only its salted hash")
    return 0


def list_keys(_args, _extra, workspace: Workspace) -> int:
    store = KeyStore.of(workspace)
    try:
        records = store.list()
    finally:
        store.close()
    print(f"{'key id':<14}{'name':<24}{'role':<13}{'rate/min':>9}  {'created':<26}revoked")
    for r in records:
        print(f"{r.key_id:<14}{r.name[:23]:<24}{r.role:<13}{r.rate_per_minute:>9}  "
              f"{r.created_at.isoformat(timespec='seconds'):<26}{r.revoked_at.isoformat(timespec='seconds') if r.revoked_at else '-'}")
    return 0


def revoke_key(args, _extra, workspace: Workspace) -> int:
    store = KeyStore.of(workspace)
    try:
        record = store.revoke(args.key_id)
    finally:
        store.close()
    print(f"API key {record.key_id} ({record.name!r}) revoked at {record.revoked_at.isoformat(timespec='seconds')}")
    return 0


def land_updates(args, _extra, workspace: Workspace) -> int:
    result = import_updates(workspace, args.city, args.path)
    for number, reason in result.refused[:20]:
        print(f"row {number}: refused: {reason}")
    where = f" (landing segment {result.segment} of source {o3.SOURCE})" if result.segment is not None else ""
    print(f"{result.landed:,} updates landed{where}, {len(result.refused):,} refused")
    return 0 if result.landed or not result.refused else 2


def poll_open311(args, _extra, workspace: Workspace) -> int:
    import time
    from datetime import UTC, datetime, timedelta

    from pipelines.poll_open311 import Open311Poller, PollState, poll_state_path
    from plumbing.landing import LandingLog

    since = datetime.fromisoformat(args.since) if args.since else None
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    state = PollState(poll_state_path(workspace.state, args.city, args.source))
    try:
        poller = Open311Poller(args.url, LandingLog(workspace.landing(args.city), args.source), state,
                               api_key=args.api_key, jurisdiction=args.jurisdiction_id, fmt=args.format,
                               lookback=timedelta(days=args.lookback_days))
        while True:
            report = poller.poll(since)
            print(f"{report.fetched:,} requests read in {report.windows} window(s): {report.landed:,} new or "
                  f"changed landed into source {args.source!r}, {report.unchanged:,} unchanged; cursor "
                  f"{report.cursor.isoformat(timespec='seconds') if report.cursor else '-'}", flush=True)
            if not args.every:
                return 0
            time.sleep(args.every)
    finally:
        state.close()
