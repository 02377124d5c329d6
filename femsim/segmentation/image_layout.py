"""The layout of an image array as read: length-1 axes, colour samples, non-finite voxels.

A single slice is often stored as a volume of one slice ((1, ny, nx): HDF5 reconstructions, NumPy
stacks), and a grey tomogram is often saved as colour (ImageJ's "RGB Color", a screenshot): read as
they are, the first is segmented as a 3D volume one voxel thick and the second as a volume of three
slices, both silently wrong. :func:`squeezed_index` drops the length-1 axes (the crop is given on the
axes that remain), :func:`colour_to_grey` turns the samples of a pixel into one grey value, and
:func:`fill_non_finite` gives NaN voxels (a float reconstruction masked outside its field of view)
a grey that the field-of-view rule then finds as padding.
"""

from __future__ import annotations

import logging

import numpy as np

from femsim.errors import InputError

log = logging.getLogger(__name__)


def squeezed_index(shape: tuple[int, ...], crop: tuple[slice, ...] | None, source: str
                    ) -> tuple[tuple[int, ...], tuple[int | slice, ...]]:
    """The shape without its length-1 axes (a single slice stored as (1, ny, nx)) and the index that
    reads it from the array as stored, ``crop`` (given on the squeezed axes) applied."""
    keep = [k for k, n in enumerate(shape) if n != 1] or list(range(len(shape)))
    squeezed = tuple(shape[k] for k in keep)
    if crop is not None and len(crop) != len(squeezed):
        dropped = f" (stored as {'x'.join(map(str, shape))}, length-1 axes dropped)" if squeezed != shape else ""
        raise InputError(f"--crop has {len(crop)} axes, the image has {len(squeezed)}{dropped}", file=source)
    index: list[int | slice] = [0] * len(shape)
    for j, k in enumerate(keep):
        index[k] = crop[j] if crop is not None else slice(None)
    return squeezed, tuple(index)


def colour_to_grey(data: np.ndarray, source: str, announce: bool = True, luma: bool = True) -> np.ndarray:
    """A colour image (samples on the last axis: grey + alpha, RGB or RGBA) as one grey channel:
    the first channel where the colour channels are equal (a grey image saved as RGB), else the
    Rec. 601 luma 0.299 R + 0.587 G + 0.114 B (``luma``; else an InputError: a colour rendering of a
    chemical map is not its values); alpha is dropped."""
    colour = data[..., : 3 if data.shape[-1] >= 3 else 1]
    if all(np.array_equal(colour[..., 0], colour[..., k]) for k in range(1, colour.shape[-1])):
        if announce:
            log.info("%s: %d samples per pixel with equal colour channels: read as grey", source, data.shape[-1])
        return np.ascontiguousarray(colour[..., 0])
    if not luma:
        raise InputError("a colour image (its channels differ): give one value per voxel, not a colour "
                         "rendering", file=source)
    if announce:
        log.warning("%s: colour image: segmented on its luma (0.299 R + 0.587 G + 0.114 B)", source)
    weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return np.tensordot(colour.astype(np.float32), weights, axes=([-1], [0]))


def fill_non_finite(data: np.ndarray, source: str, fill: bool) -> np.ndarray:
    """``data`` with its NaN / infinite voxels (a float reconstruction's mask outside the field of
    view) set to its smallest finite grey, which the segmentation then finds as padding
    (:mod:`femsim.segmentation.field_of_view`); an InputError when ``fill`` is off (a chemical map)
    or nothing is finite."""
    finite = np.isfinite(data)
    if finite.all():
        return data
    if not fill or not finite.any():
        raise InputError("the image contains NaN or infinite values" + ("" if finite.any() else " only"),
                         file=source)
    low = float(data[finite].min())
    log.warning("%s: %d NaN or infinite voxels (%.2f %%) read as its smallest grey %g", source,
                int(finite.size - np.count_nonzero(finite)), 100 * (1 - finite.mean()), low)
    return np.where(finite, data, np.asarray(low, dtype=data.dtype))
