"""Nearest-neighbour network of severely damaged particles.

Each severely damaged particle is linked to its ``k`` (default 3) nearest severely damaged
neighbours (centroid distance, µm). Links are undirected: a pair chosen by both ends is one edge.
Summary: number of nodes and edges, mean/median edge length (µm), graph density
2E / (N(N − 1)) and node density (severe particles per 1000 µm³ of the analysed volume).
"""

from __future__ import annotations

import os

import numpy as np

NETWORK_HEADER = ("source_id", "target_id", "length_um")


def knn_edges(ids: np.ndarray, points_um: np.ndarray, k: int = 3) -> list[tuple[int, int, float]]:
    """Undirected k-nearest-neighbour edges ``(source_id, target_id, length_um)``, source < target."""
    from scipy.spatial import cKDTree

    ids = np.asarray(ids)
    pts = np.asarray(points_um, dtype=float).reshape(-1, 3)
    n = len(ids)
    if n < 2 or k < 1:
        return []
    kk = min(k, n - 1)
    dist, nbr = cKDTree(pts).query(pts, k=kk + 1)
    edges: dict[tuple[int, int], float] = {}
    for i in range(n):
        for d, j in zip(dist[i, 1:], nbr[i, 1:]):
            a, b = sorted((int(ids[i]), int(ids[j])))
            edges[(a, b)] = float(d)
    return [(a, b, d) for (a, b), d in sorted(edges.items())]


def network_summary(n_nodes: int, edges: list[tuple[int, int, float]], volume_um3: float) -> dict[str, float | int]:
    """Summary statistics of a network (see module doc)."""
    lengths = np.array([e[2] for e in edges], dtype=float)
    n_edges = len(edges)
    return {
        "n_nodes": int(n_nodes),
        "n_edges": n_edges,
        "mean_edge_length_um": float(lengths.mean()) if n_edges else float("nan"),
        "median_edge_length_um": float(np.median(lengths)) if n_edges else float("nan"),
        "graph_density": float(2 * n_edges / (n_nodes * (n_nodes - 1))) if n_nodes > 1 else float("nan"),
        "nodes_per_1000_um3": float(1000.0 * n_nodes / volume_um3) if volume_um3 > 0 else float("nan"),
    }


def write_vtk(path: str | os.PathLike, ids: np.ndarray, points_um: np.ndarray,
              edges: list[tuple[int, int, float]]) -> None:
    """Write the network as legacy-VTK polydata: points = severe particles (µm), one line per edge.

    Point data ``particle_id``; cell data ``length_um``. Readable by ParaView and pyvista.
    """
    from femsim.io.atomic import write_text

    ids = np.asarray(ids)
    pts = np.asarray(points_um, dtype=float).reshape(-1, 3)
    index = {int(i): k for k, i in enumerate(ids)}
    lines = ["# vtk DataFile Version 3.0", "femsim severe-damage nearest-neighbour network (um)", "ASCII",
             "DATASET POLYDATA", f"POINTS {len(pts)} double"]
    lines += [f"{p[0]!r} {p[1]!r} {p[2]!r}" for p in pts.tolist()]
    lines.append(f"LINES {len(edges)} {3 * len(edges)}")
    lines += [f"2 {index[a]} {index[b]}" for a, b, _ in edges]
    if len(pts):
        lines += [f"POINT_DATA {len(pts)}", "SCALARS particle_id int 1", "LOOKUP_TABLE default"]
        lines += [str(int(i)) for i in ids]
    if edges:
        lines += [f"CELL_DATA {len(edges)}", "SCALARS length_um double 1", "LOOKUP_TABLE default"]
        lines += [repr(float(d)) for _, _, d in edges]
    write_text(path, "\n".join(lines) + "\n")
