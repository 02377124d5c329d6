"""Readers: formats, metadata voxel size, crop/downsample, memory refusal, bad inputs."""

from __future__ import annotations

import math

import h5py
import numpy as np
import pytest
import tifffile

from femsim.errors import InputError
from femsim.segmentation import io, pipeline


@pytest.fixture
def vol8() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 255, size=(6, 20, 24), dtype=np.uint8)


def test_multipage_tiff_with_imagej_metadata(tmp_path, vol8):
    path = tmp_path / "v.tif"
    data = vol8.astype(np.uint16) * 200
    tifffile.imwrite(path, data, imagej=True, resolution=(1 / 0.25, 1 / 0.25), metadata={"spacing": 0.25, "unit": "um"})
    vol = io.read_image(path)
    assert vol.data.shape == (6, 20, 24) and vol.data.dtype == np.uint16
    assert vol.voxel_size_um == pytest.approx(0.25, rel=1e-6)
    np.testing.assert_array_equal(vol.data, data)
    cropped = io.read_image(path, voxel_size_um=0.5, crop="1:4,2:10,:")  # CLI value overrides metadata
    np.testing.assert_array_equal(cropped.data, data[1:4, 2:10, :])
    assert cropped.voxel_size_um == 0.5 and cropped.offset_vox == (1, 2, 0)


def test_2d_tiff_and_float(tmp_path):
    img = np.linspace(0, 1, 30 * 40, dtype=np.float32).reshape(30, 40)
    tifffile.imwrite(tmp_path / "s.tif", img)
    vol = io.read_image(tmp_path / "s.tif", voxel_size_um=0.1)
    assert vol.data.shape == (30, 40) and vol.data.dtype == np.float32


@pytest.mark.parametrize("compression", ["lzw", "deflate", "zstd", "packbits"])
def test_compressed_tiff(tmp_path, vol8, compression):
    """ImageJ and beamlines write LZW/deflate; zstd needs imagecodecs too (a dependency)."""
    data = vol8.astype(np.uint16) * 257
    path = tmp_path / f"v_{compression}.tif"
    tifffile.imwrite(path, data, compression=compression, predictor=compression != "packbits")
    with tifffile.TiffFile(path) as tif:
        assert tif.pages[0].compression.name.lower().startswith(compression[:4])
    vol = io.read_image(path, voxel_size_um=0.5, crop="1:5,:,2:")
    np.testing.assert_array_equal(vol.data, data[1:5, :, 2:])
    folder = tmp_path / f"slices_{compression}"
    folder.mkdir()
    for k, sl in enumerate(data):
        tifffile.imwrite(folder / f"s{k:02d}.tif", sl, compression=compression)
    np.testing.assert_array_equal(io.read_image(folder, voxel_size_um=0.5).data, data)


def test_tiff_folder(tmp_path, vol8):
    folder = tmp_path / "slices"
    folder.mkdir()
    for k, sl in enumerate(vol8):
        tifffile.imwrite(folder / f"slice_{k:03d}.tif", sl)
    vol = io.read_image(folder, voxel_size_um=1.0, crop="2:5,:,3:")
    np.testing.assert_array_equal(vol.data, vol8[2:5, :, 3:])


def test_npy_npz_downsample(tmp_path, vol8):
    np.save(tmp_path / "v.npy", vol8.astype(np.float32))
    vol = io.read_image(tmp_path / "v.npy", voxel_size_um=0.4, downsample=2)
    assert vol.data.shape == (3, 10, 12)
    assert vol.voxel_size_um == pytest.approx(0.8)
    assert vol.data[0, 0, 0] == pytest.approx(vol8[:2, :2, :2].mean())
    np.savez_compressed(tmp_path / "v.npz", img=vol8, voxel_size_um=0.3)
    vol = io.read_image(tmp_path / "v.npz")
    assert vol.voxel_size_um == pytest.approx(0.3)
    np.testing.assert_array_equal(vol.data, vol8)
    with pytest.raises(InputError, match="no array 'nope'"):
        io.read_image(tmp_path / "v.npz", dataset="nope")


def test_hdf5_dataset_path(tmp_path, vol8):
    path = tmp_path / "v.h5"
    with h5py.File(path, "w") as fh:
        dset = fh.create_dataset("scan/recon", data=vol8)
        dset.attrs["voxel_size_um"] = 0.7
        fh.create_dataset("other", data=vol8[0])
    vol = io.read_image(f"{path}:/scan/recon")
    assert vol.voxel_size_um == pytest.approx(0.7)
    np.testing.assert_array_equal(vol.data, vol8)
    vol = io.read_image(path, dataset="scan/recon", crop="0:2,0:5,0:5")
    assert vol.data.shape == (2, 5, 5)
    with pytest.raises(InputError, match="dataset path"):
        io.read_image(path)  # two candidate datasets
    with pytest.raises(InputError, match="no dataset"):
        io.read_image(path, dataset="missing")


def test_single_slice_stored_as_a_volume_is_a_slice(tmp_path, vol8):
    """(1, ny, nx) and (ny, nx, 1) arrays (HDF5 reconstructions, NumPy stacks) read as 2D slices,
    the crop given on the axes that remain."""
    img = vol8[2]
    np.save(tmp_path / "a.npy", img[None])
    np.save(tmp_path / "b.npy", img[..., None])
    with h5py.File(tmp_path / "c.h5", "w") as fh:
        fh.create_dataset("exchange/data", data=img[None], chunks=True)
    for name in ("a.npy", "b.npy", "c.h5"):
        vol = io.read_image(tmp_path / name, voxel_size_um=0.1)
        assert vol.data.shape == (20, 24), name
        np.testing.assert_array_equal(vol.data, img)
        cropped = io.read_image(tmp_path / name, voxel_size_um=0.1, crop="2:9,3:")
        np.testing.assert_array_equal(cropped.data, img[2:9, 3:])
        assert cropped.offset_vox == (2, 3)
    with pytest.raises(InputError, match=r"--crop has 3 axes, the image has 2 \(stored as 1x20x24"):
        io.read_image(tmp_path / "a.npy", voxel_size_um=0.1, crop="0:1,2:9,3:")


def test_colour_tiff_reads_as_grey(tmp_path, vol8):
    """RGB / RGBA TIFF (ImageJ's "RGB Color"): equal channels give the grey image itself, colour its
    luma; a folder of RGB slices is a grey volume."""
    img = vol8[1]
    tifffile.imwrite(tmp_path / "rgb.tif", np.stack([img] * 3, -1), photometric="rgb")
    tifffile.imwrite(tmp_path / "rgba.tif", np.stack([img] * 3 + [np.full_like(img, 255)], -1), photometric="rgb",
                     extrasamples=["unassalpha"])
    tifffile.imwrite(tmp_path / "planar.tif", np.stack([img] * 3), photometric="rgb", planarconfig="separate")
    for name in ("rgb.tif", "rgba.tif", "planar.tif"):
        vol = io.read_image(tmp_path / name, voxel_size_um=0.1)
        assert vol.data.shape == (20, 24) and vol.data.dtype == np.uint8, name
        np.testing.assert_array_equal(vol.data, img)
    colour = np.stack([img, vol8[2], vol8[3]], -1)
    tifffile.imwrite(tmp_path / "colour.tif", colour, photometric="rgb")
    vol = io.read_image(tmp_path / "colour.tif", voxel_size_um=0.1, crop="1:5,:")
    luma = 0.299 * img.astype(np.float64) + 0.587 * vol8[2] + 0.114 * vol8[3]
    np.testing.assert_allclose(vol.data, luma[1:5], rtol=1e-6)
    with pytest.raises(InputError, match="colour.tif: a colour image \\(its channels differ\\)"):
        io.read_image(tmp_path / "colour.tif", voxel_size_um=0.1, colour=False)  # a chemical map
    stack = tmp_path / "stack"
    stack.mkdir()
    for k in range(3):
        tifffile.imwrite(stack / f"s{k:02d}.tif", np.stack([vol8[k]] * 3, -1), photometric="rgb")
    vol = io.read_image(stack, voxel_size_um=0.1)
    np.testing.assert_array_equal(vol.data, vol8[:3])


def test_nan_outside_the_field_of_view(tmp_path, vol8):
    """NaN voxels of a float reconstruction (its mask outside the field of view) read as the smallest
    grey, which the segmentation finds as padding; a chemical map with NaN and an all-NaN image are
    refused."""
    from femsim.segmentation import field_of_view

    img = (vol8[1].astype(np.float32) + 10.0) / 300.0
    img[:, :8] = np.nan
    np.save(tmp_path / "nan.npy", img)
    vol = io.read_image(tmp_path / "nan.npy", voxel_size_um=0.1)
    assert np.isfinite(vol.data).all() and np.all(vol.data[:, :8] == np.nanmin(img))
    mask = field_of_view.outside_mask(vol.data)
    assert mask is not None and mask[:, :8].all()
    with pytest.raises(InputError, match="NaN or infinite values"):
        io.read_image(tmp_path / "nan.npy", voxel_size_um=0.1, colour=False)  # as a chemical map
    np.save(tmp_path / "all.npy", np.full((6, 6), np.nan, dtype=np.float32))
    with pytest.raises(InputError, match="NaN or infinite values only"):
        io.read_image(tmp_path / "all.npy", voxel_size_um=0.1)


def test_too_large_refused_with_hint(tmp_path, vol8):
    np.save(tmp_path / "v.npy", vol8)
    with pytest.raises(InputError) as err:
        io.read_image(tmp_path / "v.npy", voxel_size_um=1.0, max_memory_gb=1e-6)
    msg = str(err.value)
    assert "GB" in msg and "--crop" in msg and "--downsample" in msg and "v.npy" in msg


def test_too_large_tiff_refused_before_reading(tmp_path):
    path = tmp_path / "big.tif"
    tifffile.imwrite(path, np.zeros((64, 256, 256), dtype=np.uint8))
    with pytest.raises(InputError, match="needs about 0.3 GB"):
        io.read_image(path, voxel_size_um=1.0, max_memory_gb=0.05)
    vol = io.read_image(path, voxel_size_um=1.0, max_memory_gb=0.05, crop="0:32,0:128,0:128")  # hint works
    assert vol.data.shape == (32, 128, 128)


@pytest.mark.parametrize("case", ["missing", "corrupt", "truncated", "suffix"])
def test_bad_files(tmp_path, vol8, case):
    path = tmp_path / "v.tif"
    if case == "corrupt":
        path.write_bytes(b"this is not a tiff file at all" * 10)
    elif case == "truncated":
        tifffile.imwrite(path, vol8)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 3])
    elif case == "suffix":
        path = tmp_path / "v.png"
        path.write_bytes(b"\x89PNG")
    with pytest.raises(InputError) as err:
        io.read_image(path, voxel_size_um=1.0)
    assert err.value.file == str(path)


@pytest.mark.parametrize("array,match", [
    (np.zeros((4, 4, 4), dtype=np.complex64), "unsupported voxel type"),
    (np.zeros((0, 8, 8), dtype=np.uint8), "empty"),
    (np.zeros((2, 3, 4, 5), dtype=np.uint8), "2D slice or a 3D volume"),
    (np.full((4, 4, 4), np.nan, dtype=np.float32), "NaN or infinite values only"),
])
def test_bad_arrays(tmp_path, array, match):
    np.save(tmp_path / "a.npy", array)
    with pytest.raises(InputError, match=match):
        io.read_image(tmp_path / "a.npy", voxel_size_um=1.0)


@pytest.mark.parametrize("vs", [0.0, -1.0, math.nan, math.inf])
def test_bad_voxel_size(tmp_path, vol8, vs):
    np.save(tmp_path / "v.npy", vol8)
    with pytest.raises(InputError, match="voxel size"):
        io.read_image(tmp_path / "v.npy", voxel_size_um=vs)


def test_missing_voxel_size(tmp_path, vol8):
    np.save(tmp_path / "v.npy", vol8)
    with pytest.raises(InputError, match="--voxel-size"):
        io.read_image(tmp_path / "v.npy")


def test_bad_crop_text():
    with pytest.raises(InputError, match="start:stop"):
        io.parse_crop("0-10,0:5,0:5")


def test_constant_and_particle_free_images():
    with pytest.raises(InputError, match="constant"):
        pipeline.segment_image(np.full((10, 10, 10), 7, dtype=np.uint8), 1.0)
    speckle = np.zeros((20, 20, 20), dtype=np.float32)
    speckle[5, 5, 5] = speckle[12, 3, 9] = 1.0  # single voxels vanish under the median filter
    with pytest.raises(InputError, match="no particles"):
        pipeline.segment_image(speckle, 1.0)
