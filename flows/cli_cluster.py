"""`urbanpulse cluster start`: a Dask scheduler and workers as separate processes on this machine,
for `urbanpulse ingest ... --runner=DaskRunner --dask_address=HOST:PORT`. On several machines an
operator runs `dask scheduler` on one and `dask worker tcp://HOST:8786` on each of the others
(with UrbanPulse installed and the home folder mounted at the same path)."""

from __future__ import annotations

import threading

from flows.cli_steps import step
from plumbing.workspace import Workspace


def register(commands, _groups) -> None:
    cluster = commands.add_parser("cluster", help="a local Dask cluster for --runner=DaskRunner").add_subparsers(
        dest="action", required=True)
    start = cluster.add_parser("start", help="start a scheduler and workers until Ctrl-C")
    start.add_argument("--workers", type=int, default=2, help="worker processes")
    start.add_argument("--threads", type=int, default=1, help="threads per worker")
    start.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: other machines)")
    start.add_argument("--port", type=int, default=8786, help="scheduler port")
    start.set_defaults(handler=start_cluster)


def start_cluster(args, _extra, workspace: Workspace) -> int:
    from pipelines.dask_cluster import ClusterProcesses

    logs = workspace.root / "state" / "dask"
    logs.mkdir(parents=True, exist_ok=True)
    step(f"starting a Dask scheduler on {args.host}:{args.port} and {args.workers} workers (logs in {logs})")
    with ClusterProcesses(args.workers, args.host, args.port, args.threads, logs) as cluster:
        print(f"   ready: urbanpulse ingest requests ... --runner=DaskRunner --dask_address={cluster.address}"
              "  (Ctrl-C stops the cluster)", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
    return 0
