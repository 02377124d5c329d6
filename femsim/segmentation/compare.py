"""Electrodes side by side: ``femsim report SEG1 SEG2 …`` on ``femsim segment`` output folders.

Writes into ``--out`` (default ``SEG1/compare``):

* ``class_radar.png``: radar chart of the class populations (fraction of particles least / mild /
  severe) of every folder (the paper's Fig. 2g);
* ``depth_profiles.png``: class fractions per depth window (default 10 µm, from ``scan_depth_um``)
  side by side (Fig. 4a–e); with ``--projected-window`` the classes come from the projected-window
  method instead (Fig. S2/S3): the labels and crack voxels of each depth window are summed along
  the depth axis and every particle is classified on that projection (crack voxels / envelope
  voxels of the particle in the window), so a particle crossing two windows is counted in both;
* ``network_edges.png``: edge-length distributions of the severe-damage networks, and
  ``network_3d.png``: 3D views of the networks (severe particles and their links);
* a results folder of a run with ``[damage]`` among the folders is a simulated electrode at its
  last cycle (or at each of ``--damage-cycle N …``): its damage classes, depth profile (centroid
  windows, also with ``--projected-window``) and severe-damage network from the same code
  (:mod:`femsim.segmentation.simulated`);
* ``comparison.json`` / ``comparison.csv``: per folder particle and fragment counts, class
  counts and fractions, network statistics (nodes, edges, mean/median edge length, nodes per
  1000 µm³) and the depth-profile rows; ``index.html`` shows it all.
"""

from __future__ import annotations

import csv
import io as _io
import json
from pathlib import Path
from typing import Any

import numpy as np

from femsim.errors import InputError
from femsim.io.atomic import atomic_open, write_csv, write_json, write_text
from femsim.segmentation import damage


def is_segmentation_folder(path: Path) -> bool:
    """True for a ``femsim segment`` output folder (particles.csv and a report.json with class counts)."""
    rep = path / "report.json"
    if not (path / "particles.csv").is_file() or not rep.is_file():
        return False
    try:
        return "class_counts" in json.loads(rep.read_text())
    except (OSError, ValueError):
        return False


def _read_csv(path: Path) -> list[dict[str, str]]:
    try:
        with open(path, newline="") as fh:
            return list(csv.DictReader(fh))
    except OSError as exc:
        raise InputError(f"cannot read ({exc.strerror})", file=str(path)) from None


def load(folder: Path) -> dict[str, Any]:
    """Report, particle rows and network edges of one segmentation folder."""
    rep = json.loads((folder / "report.json").read_text())
    rows = _read_csv(folder / "particles.csv")
    need = {"x", "y", "z", "damage_class", "scan_depth_um"}
    if rows and not need <= set(rows[0]):
        raise InputError(f"particles.csv lacks columns {sorted(need - set(rows[0]))}",
                         file=str(folder / "particles.csv"))
    edges = _read_csv(folder / "damage_network.csv") if (folder / "damage_network.csv").is_file() else []
    return {"name": folder.name or str(folder), "folder": folder, "report": rep, "rows": rows, "edges": edges}


def projected_window_profile(folder: Path, voxel_size_um: float, window_um: float, depth_face: str,
                             thresholds: damage.DamageThresholds) -> list[tuple]:
    """Depth profile by the projected-window method (see module doc) from ``labels.npz``."""
    path = folder / "labels.npz"
    if not path.is_file():
        raise InputError("--projected-window needs labels.npz (a 3D segmentation folder)", file=str(folder))
    with np.load(path) as npz:
        labels, void = npz["labels"], npz["void"]
    if labels.ndim != 3:
        raise InputError("--projected-window needs a 3D segmentation", file=str(path))
    if depth_face == "zmax":  # depth from the zmax face: flip so window 0 is at the top
        labels, void = labels[::-1], void[::-1]
    nz = labels.shape[0]
    step = max(1, int(round(window_um / voxel_size_um)))
    rows = []
    for k0 in range(0, nz, step):
        lab = labels[k0:k0 + step].astype(np.int64)
        n = int(lab.max())
        env = np.bincount(lab.ravel(), minlength=n + 1)[1:]
        cracks = np.bincount(lab.ravel(), weights=void[k0:k0 + step].ravel(), minlength=n + 1)[1:]
        present = env > 0
        cls = damage.classify(cracks[present] / env[present], thresholds)
        cnt = len(cls)
        fr = [float(np.sum(cls == c)) / cnt if cnt else float("nan") for c in damage.CLASSES]
        rows.append((k0 * voxel_size_um, min(k0 + step, nz) * voxel_size_um, cnt, *fr))
    return rows


def _figure_bytes(fig: Any) -> bytes:
    import matplotlib.pyplot as plt

    buf = _io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def load_all(folders: list[Path], damage_cycles: list[int] | None = None) -> list[dict[str, Any]]:
    """Every folder as an electrode: a ``femsim segment`` folder as itself, a results folder with
    damage (:mod:`femsim.segmentation.simulated`) once per cycle of ``damage_cycles`` (default its last)."""
    from femsim.segmentation import simulated

    segs: list[dict[str, Any]] = []
    for f in folders:
        if is_segmentation_folder(f):
            segs.append(load(f))
        elif simulated.is_damage_folder(f):
            segs.extend(simulated.load_cycle(f, c) for c in (damage_cycles or [-1]))
        else:
            raise InputError("neither a `femsim segment` output folder (particles.csv, report.json) nor a "
                             "results folder with damage.csv", file=str(f))
    return segs


def compare(folders: list[Path], out_dir: Path | None = None, window_um: float = 10.0,
            projected_window: bool = False, damage_cycles: list[int] | None = None) -> dict[str, Any]:
    """Write the comparison (see module doc); returns the comparison summary."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not window_um > 0:
        raise InputError(f"--depth-window {window_um}: must be positive (µm)")
    segs = load_all(folders, damage_cycles)
    out = out_dir or (folders[0] / "compare")
    summary: dict[str, Any] = {"folders": [], "depth_window_um": window_um,
                               "depth_method": "projected-window" if projected_window else "3D labels"}
    for s in segs:
        rep, rows = s["report"], s["rows"]
        classes = np.array([r["damage_class"] for r in rows])
        counts = damage.class_counts(classes)
        n = max(len(rows), 1)
        th = damage.DamageThresholds(**rep.get("damage_thresholds", {}))
        if projected_window and "simulated_cycle" not in rep:  # (simulated: centroid windows)
            profile = projected_window_profile(s["folder"], rep["image"]["voxel_size_um"], window_um,
                                               rep.get("depth_face", "zmax"), th)
        else:
            depth = np.array([float(r["scan_depth_um"]) for r in rows])
            total = float(rep["image"]["extent_um"][2]) or (depth.max() if len(depth) else window_um)
            profile = damage.depth_profile(depth, classes, total, window_um)
        lengths = np.array([float(e["length_um"]) for e in s["edges"]])
        s["profile"], s["lengths"] = profile, lengths
        summary["folders"].append({
            "name": s["name"], "folder": str(s["folder"]), "n_particles": len(rows),
            "simulated_cycle": rep.get("simulated_cycle"),
            "n_fragments": rep.get("n_fragments"), "class_counts": counts,
            "class_fractions": {c: counts[c] / n for c in damage.CLASSES},
            "network": rep.get("network", {}),
            "edge_length_quartiles_um": ([float(q) for q in np.quantile(lengths, [0.25, 0.5, 0.75])]
                                         if lengths.size else None),
            "depth_profile": [dict(zip(damage.PROFILE_HEADER, r)) for r in profile]})
    out.mkdir(parents=True, exist_ok=True)
    # radar chart of class populations
    ang = np.linspace(0, 2 * np.pi, len(damage.CLASSES), endpoint=False)
    fig = plt.figure(figsize=(5, 5))
    ax = fig.add_subplot(projection="polar")
    for f in summary["folders"]:
        v = [f["class_fractions"][c] for c in damage.CLASSES]
        ax.plot(np.append(ang, ang[0]), v + v[:1], marker="o", label=f["name"])
        ax.fill(np.append(ang, ang[0]), v + v[:1], alpha=0.15)
    ax.set_xticks(ang, list(damage.CLASSES))
    ax.set_ylim(0, 1)
    ax.set_title("class populations (fraction of particles)", fontsize=9)
    ax.legend(loc="upper right", bbox_to_anchor=(1.3, 1.1), fontsize=8)
    files = {"class_radar.png": _figure_bytes(fig)}
    # depth profiles side by side
    fig, axes = plt.subplots(1, len(segs), figsize=(3.2 * len(segs), 4), sharey=True, squeeze=False)
    colours = {"least": "tab:green", "mild": "tab:orange", "severe": "tab:red"}
    for ax, s in zip(axes[0], segs):
        prof = np.array([r[:2] + tuple(np.nan_to_num(r[3:])) for r in s["profile"]], dtype=float)
        if len(prof):
            mid, width = 0.5 * (prof[:, 0] + prof[:, 1]), prof[:, 1] - prof[:, 0]
            left = np.zeros(len(prof))
            for k, c in enumerate(damage.CLASSES):
                ax.barh(mid, prof[:, 2 + k], height=0.9 * width, left=left, color=colours[c], label=c)
                left += prof[:, 2 + k]
        ax.invert_yaxis()
        ax.set_title(s["name"], fontsize=9)
        ax.set_xlabel("fraction of particles")
    axes[0][0].set_ylabel(f"depth from the separator side (µm), {window_um:g}-µm windows")
    axes[0][-1].legend(fontsize=8)
    fig.suptitle(f"depth profiles ({summary['depth_method']})", fontsize=10)
    files["depth_profiles.png"] = _figure_bytes(fig)
    # network edge lengths and 3D views
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for s in segs:
        if s["lengths"].size:
            ax.hist(s["lengths"], bins=30, histtype="step", density=True, label=s["name"])
    ax.set_xlabel("edge length (µm)")
    ax.set_ylabel("density")
    ax.legend(fontsize=8)
    ax.set_title("severe-damage network: edge lengths", fontsize=9)
    files["network_edges.png"] = _figure_bytes(fig)
    fig = plt.figure(figsize=(4.5 * len(segs), 4.5))
    for k, s in enumerate(segs, start=1):
        ax = fig.add_subplot(1, len(segs), k, projection="3d")
        pos = {int(r["id"]): (float(r["x"]), float(r["y"]), float(r["z"])) for r in s["rows"]
               if r["damage_class"] == "severe"}
        if pos:
            p = np.array(list(pos.values()))
            ax.scatter(p[:, 0], p[:, 1], p[:, 2], s=8, c="tab:red")
        for e in s["edges"]:
            a, b = pos.get(int(e["source_id"])), pos.get(int(e["target_id"]))
            if a and b:
                ax.plot(*zip(a, b), color="0.4", linewidth=0.6)
        ax.set_title(f"{s['name']}: {len(pos)} nodes, {len(s['edges'])} edges", fontsize=9)
        ax.set_xlabel("x (µm)")
        ax.set_ylabel("y (µm)")
        ax.set_zlabel("z (µm)")
    files["network_3d.png"] = _figure_bytes(fig)
    for name, data in files.items():
        with atomic_open(out / name, "wb") as fh:
            fh.write(data)
    header = ["name", "n_particles", "n_fragments", *(f"n_{c}" for c in damage.CLASSES),
              *(f"fraction_{c}" for c in damage.CLASSES), "network_nodes", "network_edges",
              "mean_edge_length_um", "median_edge_length_um", "nodes_per_1000_um3"]
    write_csv(out / "comparison.csv", header, [
        [f["name"], f["n_particles"], f["n_fragments"], *(f["class_counts"][c] for c in damage.CLASSES),
         *(f["class_fractions"][c] for c in damage.CLASSES),
         *(f["network"].get(k) for k in ("n_nodes", "n_edges", "mean_edge_length_um", "median_edge_length_um",
                                         "nodes_per_1000_um3"))] for f in summary["folders"]])
    write_json(out / "comparison.json", summary)
    rows_html = "".join(f"<tr><td>{f['name']}</td><td>{f['n_particles']}</td><td>{f['n_fragments']}</td>"
                        + "".join(f"<td>{f['class_counts'][c]}</td>" for c in damage.CLASSES)
                        + f"<td>{f['network'].get('nodes_per_1000_um3', float('nan')):.3g}</td></tr>"
                        for f in summary["folders"])
    write_text(out / "index.html", "<html><head><meta charset='utf-8'><title>femsim segmentation comparison"
               "</title></head><body><h1>Electrodes side by side</h1><table border=1><tr><th>folder</th>"
               "<th>particles</th><th>fragments</th><th>least</th><th>mild</th><th>severe</th>"
               f"<th>severe nodes / 1000 µm³</th></tr>{rows_html}</table>"
               + "".join(f"<p><img src='{n}'></p>" for n in files) + "</body></html>\n")
    summary["out"] = str(out)
    summary["files"] = [*files, "comparison.csv", "comparison.json", "index.html"]
    return summary
