"""Image readers for tomography volumes and slices.

Supported inputs (the format is chosen from the path):

* multi-page TIFF (``.tif``/``.tiff``; one page = one z slice, or a single 2D image);
* a folder of single-page TIFF slices (sorted by name);
* NumPy ``.npy`` (memory-mapped) and ``.npz`` (``dataset`` = key; the only/first array otherwise);
* HDF5 ``.h5``/``.hdf5``/``.hdf``/``.nxs`` (``dataset`` = path inside the file, or ``FILE:/path``).

Arrays are (z, y, x) for volumes and (y, x) for slices; voxels are assumed cubic. Length-1 axes
are dropped (a slice stored as (1, y, x) is a slice; ``--crop`` names the axes that remain), and a
colour TIFF (RGB/RGBA, grey + alpha; pages or slices) is read as grey: its first channel when the
colour channels are equal, else its luma (a chemical map in colour is refused); NaN / infinite
voxels of a float image (a reconstruction's mask) are read as its smallest grey
(:mod:`femsim.segmentation.image_layout`). The voxel size
(µm) comes from the command line when given, otherwise from metadata: ImageJ ``spacing``/``unit``
and the TIFF resolution tags, an HDF5 attribute ``voxel_size_um`` / ``element_size_um``, or an
``.npz`` key ``voxel_size_um``.

Before any voxel is read the memory the segmentation would need is estimated
(:data:`BYTES_PER_VOXEL` per voxel after crop/downsampling); a volume that does not fit is refused
with an :class:`~femsim.errors.InputError` giving the estimate and the crop/downsample options.
Crops are read lazily where the format allows (TIFF pages, slice folders, ``.npy``, HDF5).
"""

from __future__ import annotations

import logging
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from femsim.errors import InputError
from femsim.segmentation.image_layout import colour_to_grey, fill_non_finite, squeezed_index

log = logging.getLogger(__name__)

#: peak bytes per (cropped, downsampled) voxel used by the segmentation pipeline (float32 image
#: and its filtered copy, float64 distance transform, int32 labels and watershed work arrays,
#: several boolean masks): 1.13 GB peak for a 256^3 grey phantom (68 B/voxel including the
#: interpreter), 1.33 GB for the 251x301x301 NREL volume (59 B/voxel), plus a small margin.
BYTES_PER_VOXEL = 72

TIFF_SUFFIXES = (".tif", ".tiff")
HDF5_SUFFIXES = (".h5", ".hdf5", ".hdf", ".nxs")
_UNIT_TO_UM = {"um": 1.0, "µm": 1.0, "\\u00b5m": 1.0, "micron": 1.0, "microns": 1.0, "micrometer": 1.0,
               "nm": 1e-3, "nanometer": 1e-3, "mm": 1e3, "millimeter": 1e3, "cm": 1e4, "m": 1e6}


class MemoryBudgetError(InputError):
    """The image does not fit the memory budget of a whole-volume segmentation."""


@dataclass
class Volume:
    """An image read from disk.

    Attributes:
        data: the voxels, (z, y, x) or (y, x), original dtype.
        voxel_size_um: edge length of a (cubic) voxel in µm after downsampling.
        source: the file or folder read.
        offset_vox: index of data[0, 0, 0] in the full stored image (crop origin, full-res voxels).
    """

    data: np.ndarray
    voxel_size_um: float
    source: str
    offset_vox: tuple[int, ...] = (0, 0, 0)


def parse_crop(text: str | None, ndim: int | None = None) -> tuple[slice, ...] | None:
    """Parse ``"z0:z1,y0:y1,x0:x1"`` (voxels, empty bounds allowed) into slices."""
    if text is None or text == "":
        return None
    parts = text.split(",")
    out = []
    for part in parts:
        bounds = part.split(":")
        if len(bounds) != 2:
            raise InputError(f"--crop {text!r}: each axis must be 'start:stop' (voxels), e.g. 0:100,0:200,0:200")
        try:
            lo = int(bounds[0]) if bounds[0].strip() else None
            hi = int(bounds[1]) if bounds[1].strip() else None
        except ValueError:
            raise InputError(f"--crop {text!r}: bounds must be integers") from None
        out.append(slice(lo, hi))
    if ndim is not None and len(out) != ndim:
        raise InputError(f"--crop {text!r}: {len(out)} axes given, the image has {ndim}")
    return tuple(out)


def _available_memory_bytes() -> int:
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:  # pragma: no cover - non-Linux
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        return 8 * 1024**3


def _cropped_shape(shape: tuple[int, ...], crop: tuple[slice, ...] | None, downsample: int) -> tuple[int, ...]:
    if crop is None:
        crop = tuple(slice(None) for _ in shape)
    return tuple(len(range(*s.indices(n))) // downsample for s, n in zip(crop, shape))


def check_memory(shape: tuple[int, ...], source: str, crop_given: bool, downsample: int,
                 max_memory_gb: float | None = None) -> int:
    """Refuse a volume whose segmentation would not fit in memory; return the estimate (bytes)."""
    if 0 in shape:  # what the crop / downsampling left of the image
        flags = " and ".join(f for f, on in (("--crop", crop_given), (f"--downsample {downsample}", downsample > 1))
                             if on) or "the image"
        raise InputError(f"{flags} leaves nothing of the image (shape {'x'.join(map(str, shape))} after "
                         f"cropping/downsampling): use bounds inside the image and a smaller downsampling factor",
                         file=source)
    nvox = int(np.prod(shape, dtype=np.int64))
    need = nvox * BYTES_PER_VOXEL
    limit = int(max_memory_gb * 1024**3) if max_memory_gb else int(0.8 * _available_memory_bytes())
    if need > limit:
        factor = int(np.ceil((need / limit) ** (1 / 3))) if len(shape) == 3 else int(np.ceil((need / limit) ** 0.5))
        hint = (f"crop it (--crop z0:z1,y0:y1,x0:x1, in voxels) or downsample it (--downsample {max(2, factor)})"
                + (" further" if crop_given or downsample > 1 else ""))
        raise MemoryBudgetError(
            f"image of {'x'.join(map(str, shape))} voxels needs about {need / 1024**3:.1f} GB to segment, "
            f"more than the {limit / 1024**3:.1f} GB allowed: {hint}", file=source)
    return need


def _check_array(data: np.ndarray, source: str) -> None:
    if data.ndim not in (2, 3):
        raise InputError(f"expected a 2D slice or a 3D volume, got an array of shape {data.shape}", file=source)
    if data.size == 0 or min(data.shape) == 0:
        raise InputError(f"the image is empty (shape {data.shape})", file=source)
    kind = data.dtype.kind
    if kind not in "biuf":
        raise InputError(f"unsupported voxel type {data.dtype} (use 8/16/32-bit integers, float or bool)", file=source)


def _downsample(data: np.ndarray, factor: int) -> np.ndarray:
    if factor <= 1:
        return data
    trimmed = data[tuple(slice(0, (n // factor) * factor) for n in data.shape)].astype(np.float32, copy=False)
    shape: list[int] = []
    for n in trimmed.shape:
        shape += [n // factor, factor]
    return trimmed.reshape(shape).mean(axis=tuple(range(1, 2 * trimmed.ndim, 2)), dtype=np.float32)


def _tiff_unit_scale(unit: Any) -> float | None:
    if unit is None:
        return None
    key = str(unit).strip().lower().replace("\\u00b5", "µ")
    return _UNIT_TO_UM.get(key)


def _tiff_voxel_size(tif: Any) -> float | None:
    """Voxel size in µm from ImageJ metadata / resolution tags, if present."""
    ij = tif.imagej_metadata or {}
    scale = _tiff_unit_scale(ij.get("unit")) if ij else None
    page = tif.pages[0]
    tag = page.tags.get("XResolution")
    if tag is not None:
        num, den = tag.value
        if num and den and (num / den) > 0:
            pix = den / num  # unit per pixel
            if scale is None:
                res_unit = page.tags.get("ResolutionUnit")
                code = int(res_unit.value) if res_unit is not None else 1
                scale = {3: 1e4, 2: 25400.0}.get(code)
            if scale is not None and pix != 1.0:
                return pix * scale
    if ij and ij.get("spacing") and scale is not None:
        return float(ij["spacing"]) * scale
    return None


def _read_tiff(path: Path, crop: tuple[slice, ...] | None, downsample: int, max_gb: float | None,
               luma: bool = True) -> tuple[np.ndarray, float | None]:
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            shape = tuple(int(n) for n in series.shape)
            # samples per pixel (tifffile's axis S): grey + alpha, RGB, RGBA (ImageJ's "RGB Color")
            samples = series.axes.index("S") if "S" in series.axes and shape[series.axes.index("S")] in (2, 3, 4) \
                else None
            shape = tuple(n for k, n in enumerate(shape) if k != samples)
            shape = tuple(n for n in shape if n != 1) or shape
            if len(shape) not in (2, 3):
                raise InputError(f"TIFF series of shape {series.shape} is neither a slice nor a volume", file=str(path))
            check_memory(_cropped_shape(shape, crop, downsample), str(path), crop is not None, downsample, max_gb)
            vs = _tiff_voxel_size(tif)
            if samples is not None:
                data = colour_to_grey(np.moveaxis(series.asarray(), samples, -1), str(path), luma=luma).reshape(shape)
                data = data[crop] if crop else data
            elif len(shape) == 2:
                data = series.asarray().reshape(shape)
                data = data[crop] if crop else data
            else:
                zs = range(*(crop[0] if crop else slice(None)).indices(shape[0]))
                pages = series.pages if len(series.pages) == shape[0] else None
                if pages is None:
                    full = series.asarray().reshape(shape)
                    data = full[crop] if crop else full
                else:
                    rest = crop[1:] if crop else (slice(None), slice(None))
                    data = np.stack([pages[i].asarray()[rest] for i in zs])  # type: ignore[union-attr]  # a series' pages
    except InputError:
        raise
    except Exception as exc:  # tifffile raises many types for corrupt/truncated files
        raise InputError(f"cannot read TIFF ({type(exc).__name__}: {exc})", file=str(path)) from None
    return data, vs


def _read_tiff_folder(path: Path, crop: tuple[slice, ...] | None, downsample: int, max_gb: float | None,
                      luma: bool = True) -> tuple[np.ndarray, float | None]:
    import tifffile

    files = sorted(p for p in path.iterdir() if p.suffix.lower() in TIFF_SUFFIXES)
    if not files:
        raise InputError("folder holds no .tif/.tiff slices", file=str(path))
    try:
        with tifffile.TiffFile(files[0]) as tif:
            first = tif.pages[0]
            ny, nx = int(first.shape[0]), int(first.shape[1])
            vs = _tiff_voxel_size(tif)
    except Exception as exc:
        raise InputError(f"cannot read TIFF slice ({type(exc).__name__}: {exc})", file=str(files[0])) from None
    shape = (len(files), ny, nx)
    check_memory(_cropped_shape(shape, crop, downsample), str(path), crop is not None, downsample, max_gb)
    zs = range(*(crop[0] if crop else slice(None)).indices(shape[0]))
    rest = crop[1:] if crop else (slice(None), slice(None))
    slices = []
    for i in zs:
        try:
            img = tifffile.imread(files[i])
        except Exception as exc:
            raise InputError(f"cannot read TIFF slice ({type(exc).__name__}: {exc})", file=str(files[i])) from None
        if img.ndim == 3 and img.shape[-1] in (2, 3, 4):  # colour slices
            img = colour_to_grey(img, str(files[i]), announce=i == zs[0], luma=luma)
        if img.shape != (ny, nx):
            raise InputError(f"slice has shape {img.shape}, the first slice {(ny, nx)}", file=str(files[i]))
        slices.append(img[rest])
    return np.stack(slices), vs


def _npz_member_shape(path: Path, key: str) -> tuple[int, ...] | None:
    try:
        with zipfile.ZipFile(path) as zf, zf.open(f"{key}.npy") as fh:
            version = np.lib.format.read_magic(fh)
            shape, _, _ = np.lib.format._read_array_header(fh, version)  # type: ignore[attr-defined]  # private, no stub
            return tuple(shape)
    except Exception:  # compressed/odd members: fall back to loading
        return None


def _read_numpy(path: Path, dataset: str | None, crop: tuple[slice, ...] | None, downsample: int,
                max_gb: float | None) -> tuple[np.ndarray, float | None]:
    vs = None
    try:
        if path.suffix.lower() == ".npy":
            arr = np.load(path, mmap_mode="r", allow_pickle=False)
        else:
            npz = np.load(path, allow_pickle=False)
            keys = [k for k in npz.files if k != "voxel_size_um"]
            if dataset is None:
                if not keys:
                    raise InputError("the .npz file holds no image array", file=str(path))
                dataset = keys[0]
            if dataset not in npz.files:
                raise InputError(f"no array {dataset!r} in the .npz file (it has {', '.join(npz.files)})",
                                 file=str(path))
            if "voxel_size_um" in npz.files:
                vs = float(np.asarray(npz["voxel_size_um"]).ravel()[0])
            shape = _npz_member_shape(path, dataset)
            if shape is not None and len(shape) in (2, 3):
                check_memory(_cropped_shape(shape, crop, downsample), str(path), crop is not None, downsample, max_gb)
            arr = npz[dataset]
    except InputError:
        raise
    except Exception as exc:
        raise InputError(f"cannot read NumPy file ({type(exc).__name__}: {exc})", file=str(path)) from None
    shape, index = squeezed_index(tuple(arr.shape), crop, str(path))
    _check_array(arr.reshape(shape), str(path))
    check_memory(_cropped_shape(shape, crop, downsample), str(path), crop is not None, downsample, max_gb)
    return np.asarray(arr[index]), vs


def _read_hdf5(path: Path, dataset: str | None, crop: tuple[slice, ...] | None, downsample: int,
               max_gb: float | None) -> tuple[np.ndarray, float | None]:
    import h5py

    try:
        with h5py.File(path, "r") as fh:
            if dataset is None:
                names: list[str] = []
                fh.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) and o.ndim >= 2 else None)
                if len(names) != 1:
                    raise InputError(f"give the dataset path (IMAGE:/path or --dataset); candidates: "
                                     f"{', '.join(names) or 'none'}", file=str(path))
                dataset = names[0]
            if dataset not in fh or not isinstance(fh[dataset], h5py.Dataset):
                raise InputError(f"no dataset {dataset!r} in the HDF5 file", file=str(path))
            dset = fh[dataset]
            shape = tuple(int(n) for n in dset.shape)
            if len([n for n in shape if n != 1]) not in (2, 3):
                raise InputError(f"dataset {dataset!r} has shape {shape}; expected 2D or 3D", file=str(path))
            shape, index = squeezed_index(shape, crop, str(path))
            check_memory(_cropped_shape(shape, crop, downsample), str(path), crop is not None, downsample, max_gb)
            vs = None
            for attr in ("voxel_size_um", "element_size_um", "pixel_size_um"):
                if attr in dset.attrs:
                    vs = float(np.asarray(dset.attrs[attr]).ravel()[-1])
                    break
            data = dset[index]
    except InputError:
        raise
    except Exception as exc:
        raise InputError(f"cannot read HDF5 file ({type(exc).__name__}: {exc})", file=str(path)) from None
    return np.asarray(data), vs


def read_image(path: str | os.PathLike, voxel_size_um: float | None = None, dataset: str | None = None,
               crop: str | tuple[slice, ...] | None = None, downsample: int = 1,
               max_memory_gb: float | None = None, colour: bool = True) -> Volume:
    """Read a 2D slice or 3D volume and its voxel size.

    Args:
        path: image file or folder of TIFF slices; ``FILE.h5:/group/data`` selects an HDF5 dataset.
        voxel_size_um: voxel edge (µm); overrides metadata.
        dataset: npz key or HDF5 dataset path.
        crop: ``"z0:z1,y0:y1,x0:x1"`` (full-resolution voxels) or a tuple of slices.
        downsample: integer block-averaging factor applied after cropping (voxel size scales by it).
        max_memory_gb: memory budget for the segmentation (default 80 % of available memory).
        colour: a colour TIFF whose channels differ is read as its luma, and NaN / infinite voxels as
            the smallest grey (else both refused, as for a chemical map; a grey image saved as RGB is
            read as grey either way).

    Raises:
        InputError: missing/corrupt file, unsupported dtype or shape, empty image, bad voxel size,
            too large for memory.
    """
    text = str(path)
    if dataset is None and ":" in text and not Path(text).exists():
        head, _, tail = text.rpartition(":")
        if Path(head).suffix.lower() in HDF5_SUFFIXES + (".npz",):
            text, dataset = head, tail
    p = Path(text)
    if not p.exists():
        raise InputError("image not found", file=text)
    if isinstance(crop, str):
        crop = parse_crop(crop)
    if downsample < 1:
        raise InputError(f"--downsample {downsample}: must be a positive integer")
    suffix = p.suffix.lower()
    if p.is_dir():
        data, vs_meta = _read_tiff_folder(p, crop, downsample, max_memory_gb, colour)
    elif suffix in TIFF_SUFFIXES:
        data, vs_meta = _read_tiff(p, crop, downsample, max_memory_gb, colour)
    elif suffix in (".npy", ".npz"):
        data, vs_meta = _read_numpy(p, dataset, crop, downsample, max_memory_gb)
    elif suffix in HDF5_SUFFIXES:
        data, vs_meta = _read_hdf5(p, dataset, crop, downsample, max_memory_gb)
    else:
        raise InputError(f"unknown image format {suffix or '(no suffix)'!r}: use TIFF, a folder of TIFF "
                         "slices, .npy/.npz or HDF5", file=text)
    _check_array(data, text)
    if crop is not None and len(crop) != data.ndim:
        raise InputError(f"--crop has {len(crop)} axes, the image has {data.ndim}", file=text)
    if voxel_size_um is None:
        voxel_size_um = vs_meta
        if voxel_size_um is None:
            raise InputError("no voxel size in the file's metadata: pass --voxel-size (µm)", file=text)
        log.info("voxel size %.4g µm from metadata of %s", voxel_size_um, text)
    if not np.isfinite(voxel_size_um) or voxel_size_um <= 0:
        raise InputError(f"voxel size {voxel_size_um!r} µm: must be a positive number", file=text)
    offset = tuple(max(int(s.start or 0), 0) for s in crop) if crop else (0,) * data.ndim
    data = _downsample(data, downsample)
    if data.dtype.kind == "f":
        data = fill_non_finite(data, text, colour)
    return Volume(data=data, voxel_size_um=float(voxel_size_um) * downsample, source=text, offset_vox=offset)
