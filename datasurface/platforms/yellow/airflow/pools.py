"""Airflow pools for pack DAGs: one per merge database, its slots the platform's
`max_active_packs`, so that however many packs are due, at most that many run against one
merge database at once (each pack run holds up to `pack_merge_connections` connections).

Airflow never creates a pool by itself: a task in a missing pool is never scheduled (the UI
shows a "non-existent pool" warning on its DAG). A deployment creates them after the merge
handler wrote the config rows and before pack DAGs run:

    python -m datasurface.platforms.yellow.airflow.pools     # reads DATASURFACE_PLATFORMS' rows

in a process with the Airflow metadata database configured (the scheduler's environment;
`airflow pools set NAME SLOTS DESCRIPTION` does the same by hand). Set
DATASURFACE_PACK_POOLS=0 to build pack DAGs without a pool instead.
"""

from __future__ import annotations

import sys

from .config_source import load_raw_rows, parse_rows
from .settings import FactorySettings


def wanted_pools(settings: FactorySettings) -> dict[str, int]:
    """Pool name -> slots, from the pack rows of every platform the factory builds."""
    from datasurface.platforms.yellow.stream_config import PackConfig

    pools: dict[str, int] = {}
    for platform, raw in load_raw_rows(settings).items():
        for config in parse_rows(platform, raw):
            if isinstance(config, PackConfig):
                pools[config.pool] = max(pools.get(config.pool, 0), config.pool_slots)
    return pools


def ensure_pool(name: str, slots: int) -> str:
    """Create or resize one pool in the Airflow metadata database."""
    from airflow.models.pool import Pool

    Pool.create_or_update_pool(
        name, slots, "DataSurface: pack runs at once against one merge database", include_deferred=False
    )
    return name


def main() -> int:
    for name, slots in sorted(wanted_pools(FactorySettings.from_env()).items()):
        ensure_pool(name, slots)
        print(f"pool {name}: {slots} slot(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
