"""The damage outputs of a run (docs/results_format.md): damage.csv, damage_profile.csv and
damage_network.csv, rewritten whole and atomically after every cycle by rank 0. Their rows are
built by the damage model (:meth:`femsim.model.damage_cycles.DamageCycles.after_cycles`)."""

from __future__ import annotations

from typing import Any

#: the damage files of a results folder, in the order they are written
DAMAGE_FILES = ("damage.csv", "damage_profile.csv", "damage_network.csv")


def write_damage_tables(writer: Any, tables: dict[str, tuple[tuple[str, ...], list]]) -> None:
    """Rewrite each damage file from ``tables`` (file name → (header, rows)) through the run's
    :class:`femsim.io.results.ResultsWriter` (rank 0 writes; each file atomic)."""
    unknown = set(tables) - set(DAMAGE_FILES)
    if unknown:
        raise ValueError(f"not a damage output: {sorted(unknown)}")
    for name in DAMAGE_FILES:
        if name in tables:
            header, rows = tables[name]
            writer.write_table(name, header, rows)
