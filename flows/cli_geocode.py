"""`urbanpulse geocode` (addresses in a file -> points), `urbanpulse train gazetteer` and
`urbanpulse city addresses` (an official address register as the city's base gazetteer)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from flows.cli_steps import done, step
from plumbing.workspace import Workspace
from schemas import requests as rq


def register(commands, groups) -> None:
    train = groups["train"]
    geocode = commands.add_parser("geocode", help="geocode the addresses of a CSV or Parquet file")
    geocode.add_argument("path", type=Path)
    geocode.add_argument("--city", default="demo")
    geocode.add_argument("--address", required=True, help="column with the address")
    geocode.add_argument("--text", help="column of free text to find an address in when --address is empty")
    geocode.add_argument("--out", type=Path, required=True, help="CSV or Parquet, by its suffix")
    geocode.set_defaults(handler=geocode_file)

    gazetteer = train.add_parser("gazetteer", help="learn address points from geocoded history")
    gazetteer.add_argument("--city", default="demo")
    gazetteer.add_argument("--data", type=Path, required=True)
    gazetteer.add_argument("--address", required=True)
    gazetteer.add_argument("--lat", required=True)
    gazetteer.add_argument("--lon", required=True)
    gazetteer.set_defaults(handler=train_gazetteer)

    if "city" in groups:  # the `city` sub-commands of flows/cli.py
        register_file = groups["city"].add_parser(
            "addresses", help="import an address register (CSV or GeoJSON with coordinates) as the gazetteer")
        register_file.add_argument("path", type=Path, metavar="FILE")
        register_file.add_argument("--city", required=True)
        register_file.add_argument("--encoding", help="text encoding of a CSV (default: UTF-8, else guessed)")
        for role in ("address", "street", "street-type", "street-en", "house", "locality", "lat", "lon", "point"):
            register_file.add_argument(f"--{role}", dest=f"column_{role.replace('-', '_')}", metavar="COLUMN",
                                       help=f"column with the {role.replace('-', ' ')} (default: found by its usual names)")
        register_file.set_defaults(handler=import_addresses)


def _read(path: Path, columns: list[str]) -> pl.DataFrame:
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    frame = pl.read_parquet(path) if path.suffix == ".parquet" else pl.read_csv(path, infer_schema=False)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{path} has no column(s) {missing}; it has {frame.columns}")
    return frame


def geocode_file(args, _extra, workspace: Workspace) -> int:
    from models.geocoding.address_spans import AddressSpanFinder
    from models.geocoding.forward import ForwardGeocoder

    forward = ForwardGeocoder.load(workspace.city(args.city))
    if forward is None:
        raise ValueError(f"city {args.city!r} has no gazetteer; learn one with `urbanpulse train gazetteer`")
    frame = _read(args.path, [args.address] + ([args.text] if args.text else []))
    started = step(f"geocoding {frame.height:,} addresses of {args.path} in city {args.city!r}")
    addresses = frame[args.address].cast(pl.String)
    if args.text:
        empty = addresses.str.strip_chars().str.len_chars().fill_null(0) == 0
        found = AddressSpanFinder().find(frame[args.text].filter(empty))
        addresses = addresses.scatter(empty.arg_true(), found)
    result = forward.predict_batch(addresses)
    out = frame.drop([c for c in result.columns if c in frame.columns]).hstack(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    out.write_parquet(args.out) if args.out.suffix == ".parquet" else out.write_csv(args.out)
    done(started)
    counts = result.group_by(rq.GEOCODE_PRECISION).len().sort("len", descending=True).rows()
    print(", ".join(f"{precision} {n:,}" for precision, n in counts) + f" -> {args.out}")
    return 0


def train_gazetteer(args, _extra, workspace: Workspace) -> int:
    from models.cities.pack import CityPack
    from models.geocoding.gazetteer import learn_into_pack

    pack = CityPack.load(workspace.city(args.city))
    frame = _read(args.data, [args.address, args.lat, args.lon])
    started = step(f"learning addresses of city {args.city!r} from {frame.height:,} rows of {args.data}")
    update = learn_into_pack(pack, frame[args.address], frame[args.lat], frame[args.lon])
    done(started)
    print(f"{update.learned:,} addresses learned from {update.reports_used:,} reports "
          f"({update.reports_rejected:,} unusable or outliers): {update.added:,} new, "
          f"{update.replaced:,} moved; gazetteer has {update.gazetteer.height:,} rows -> {pack.root}")
    return 0


def import_addresses(args, _extra, workspace: Workspace) -> int:
    from models.cities.pack import CityPack
    from models.geocoding import address_register as ar
    from models.geocoding.gazetteer import publish_gazetteer
    from schemas import citypack as cp

    pack = CityPack.load(workspace.city(args.city))
    frame = ar.read_register(args.path, args.encoding)
    named = {role: getattr(args, f"column_{role}") for role in ar.COLUMN_ALIASES if hasattr(args, f"column_{role}")}
    started = step(f"importing {frame.height:,} register rows of {args.path} into city {args.city!r}")
    result = ar.register_gazetteer(frame, pack, named)
    if result.gazetteer.height == result.kept_from_before:
        reasons = ", ".join(f"{reason} {n:,}" for reason, n in result.reasons().items())
        raise ValueError(f"no row of {args.path} is a usable address ({reasons}); check its columns "
                         "(--street/--house or --address, --lat/--lon) and that it is the city's register")
    publish_gazetteer(pack, result.gazetteer)
    rejected = Path(pack.root) / cp.PACK_REGISTER_REJECTED_FILE
    result.rejected.write_csv(rejected)
    done(started)
    imported = result.gazetteer.height - result.kept_from_before
    reasons = ", ".join(f"{reason} {n:,}" for reason, n in result.reasons().items()) or "none"
    print(f"{imported:,} addresses imported from {result.rows:,} rows; rejected: {reasons} -> {rejected}; "
          f"{result.kept_from_before:,} learned addresses kept; gazetteer has {result.gazetteer.height:,} rows "
          f"-> {pack.root}")
    return 0
