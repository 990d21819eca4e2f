"""`urbanpulse serve-flows`: a local Prefect server (SQLite, loopback) and every deployment of
`flows.deployments`, served from this process until Ctrl-C. With `PREFECT_API_URL` set (a
shared Prefect server), only the deployments are served, against that server."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from flows.cli_steps import step
from plumbing.workspace import Workspace


def register(commands, _groups) -> None:
    serve = commands.add_parser("serve-flows", help="a local Prefect server and the scheduled deployments")
    serve.add_argument("--port", type=int, default=4200, help="port of the local Prefect server (loopback)")
    serve.add_argument("--city", action="append", help="cities to serve (repeatable; default: every city pack)")
    serve.add_argument("--only", action="append", default=[], help="deployment-name prefix to serve (repeatable)")
    serve.add_argument("--interval", type=float, help="run every deployment every N seconds instead of its schedule")
    serve.add_argument("--limit", type=int, help="at most N flow runs at once in this process")
    serve.add_argument("--beam-arg", action="append", default=[],
                       help="Beam option for every ingest, e.g. --beam-arg=--runner=DaskRunner (repeatable)")
    serve.set_defaults(handler=serve_flows)


def serve_flows(args, _extra, workspace: Workspace) -> int:
    from flows.deployments import DeploymentPlan, LocalServer, cities_of, serve_deployments

    cities = tuple(args.city or cities_of(workspace.root))
    if not cities:
        raise ValueError(f"no city packs in {workspace.root / 'cities'}: create one first (`urbanpulse city ...`)")
    plan = DeploymentPlan(workspace.root, cities, interval=timedelta(seconds=args.interval) if args.interval else None,
                          only=tuple(args.only), beam_args=tuple(args.beam_arg))
    from prefect.settings import PREFECT_API_URL, temporary_settings

    server = None
    if not os.environ.get("PREFECT_API_URL"):
        step(f"starting a Prefect server on 127.0.0.1:{args.port} (SQLite in {os.environ['PREFECT_HOME']})")
        server = LocalServer(Path(os.environ["PREFECT_HOME"]), args.port).start()
        os.environ["PREFECT_API_URL"] = server.api_url
        print(f"   UI and API: http://127.0.0.1:{args.port}", flush=True)
    try:
        step(f"serving the deployments of {', '.join(cities)} (Ctrl-C stops)")
        # Prefect read its settings when it was imported: without this the serving process and
        # the flow-run processes it starts would each use a temporary server of their own, and a
        # run would lose its deployment's concurrency slot on the way ("no slots available")
        with temporary_settings(updates={PREFECT_API_URL: os.environ["PREFECT_API_URL"]}):
            serve_deployments(plan, args.limit)
    except KeyboardInterrupt:
        pass
    finally:
        if server is not None:
            server.stop()
    return 0
