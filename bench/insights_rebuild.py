"""The insights rollups' rebuild from scratch, timed in this process.

    python -m bench.insights_rebuild --keep DIR [--members 10000] [--rows 200000]
                                     [--database sqlite|postgresql] [--pg URL]
                                     [--profile N] [--check]

Seeds DIR once as ``bench.insights_profile --keep DIR --seed-only`` does (and reuses it),
then runs Relay's ``rebuild()`` as of the seeding's moment: its wall time and this
process's CPU time (on a loaded machine the steadier of the two; PostgreSQL's own work is
in the wall time only). ``--profile N`` prints cProfile's N costliest functions.

``--check`` compares a digest of every rollup row (without ids) with the one the first
checked run wrote to ``DIR/rollups-<database>.sha256``: a faster rebuild must write the
very same rows as the one before it.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import hashlib
import pstats
import time
from datetime import datetime
from pathlib import Path

from bench.insights_profile import prepare


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keep", type=Path, required=True)
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/relay_bench_profile")
    parser.add_argument("--profile", type=int, default=0)
    parser.add_argument("--check", action="store_true")
    return parser.parse_args()


async def digest() -> tuple[str, int]:
    """A SHA-256 of the rollups' rows, sorted, without their ids; and how many rows."""
    from app.insights.tables import InsightDay, InsightHeadcount, InsightTotal

    sha = hashlib.sha256()
    count = 0
    for table in (InsightDay, InsightTotal, InsightHeadcount):
        columns = [c._meta.name for c in table._meta.columns if c._meta.name != "id"]
        names = ", ".join(f'"{c}"' for c in columns)
        rows = await table.raw(f"SELECT {names} FROM {table._meta.tablename}")
        lines = sorted(repr(tuple(r[c] for c in columns)) for r in rows)
        count += len(lines)
        sha.update(table._meta.tablename.encode())
        for line in lines:
            sha.update(line.encode())
    return sha.hexdigest(), count


async def rebuild(url: str, moment: datetime, args: argparse.Namespace) -> None:
    from app.core import db
    from app.insights import rollups

    db.use_engine(db.engine_from_url(url))
    profiler = cProfile.Profile() if args.profile else None
    wall, cpu = time.monotonic(), time.process_time()
    if profiler:
        profiler.enable()
    days = await rollups.rebuild(moment)
    if profiler:
        profiler.disable()
    wall, cpu = time.monotonic() - wall, time.process_time() - cpu
    print(f"{args.database}: rebuilt {days} days in {wall:.1f}s wall, {cpu:.1f}s CPU here")
    if profiler:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(args.profile)
    if args.check:
        sha, count = await digest()
        kept = args.keep / f"rollups-{args.database}.sha256"
        if not kept.exists():
            kept.write_text(sha)
            print(f"{count:,} rollup rows, digest {sha[:16]}… kept as the reference")
        elif kept.read_text().strip() == sha:
            print(f"{count:,} rollup rows, the same as the reference")
        else:
            raise SystemExit(f"{count:,} rollup rows, NOT the same as the reference")


def main() -> None:
    args = arguments()
    args.keep.mkdir(parents=True, exist_ok=True)
    options = argparse.Namespace(
        database=args.database,
        pg=args.pg,
        members=args.members,
        rows=args.rows,
        seed_only=True,
    )
    url, _ = prepare(options, args.keep)
    moment = datetime.fromisoformat((args.keep / f"seeded-{args.database}").read_text().strip())
    asyncio.run(rebuild(url, moment, args))


if __name__ == "__main__":
    main()
