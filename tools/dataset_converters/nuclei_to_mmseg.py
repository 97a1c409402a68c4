"""Convert the StarDist nuclei sample to a tiled 2-class mmseg dataset.

The source is the ``stardist==0.9.2`` wheel from PyPI, read as a zip file
without importing stardist: ``stardist/data/images/img2d.tif`` (a 512x512
uint16 fluorescence image from the 2018 Data Science Bowl) and
``stardist/data/images/mask2d.tif`` (its instance labels, 125 nuclei). Both
are uncompressed TIFFs that Pillow reads, so tifffile is not needed.

Classes: 0 = background (instance id 0), 1 = nucleus (instance id > 0).

Intensity: the whole image is scaled linearly so that its 1st percentile maps
to 0 and its 99.8th percentile to 255 (clipped), then saved as 8-bit RGB with
the gray value in all three channels.

Split: rows ``[0, round(H * train_fraction))`` (the top 3/4 by default) form
the train region and the remaining bottom rows the val region. Each region is
tiled on its own with ``tile_size`` px tiles (128) at ``stride`` px (64), the
last tile of each axis shifted to end at the region's edge, so no val tile
shares a pixel with a train tile. With the defaults: 5 x 7 = 35 train tiles
and 1 x 7 = 7 val tiles.

Output layout (mmseg ``BaseSegDataset`` with ``img_suffix='.png'`` and
``seg_map_suffix='.png'``)::

    OUT/img_dir/{train,val}/nuclei_y<Y>_x<X>.png   RGB uint8
    OUT/ann_dir/{train,val}/nuclei_y<Y>_x<X>.png   L uint8, values {0, 1}

Example::

    python tools/dataset_converters/nuclei_to_mmseg.py \\
        data/downloads/stardist-0.9.2-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl \\
        data/nuclei
"""
from __future__ import annotations

import argparse
import io
import shutil
import sys
import zipfile
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image

IMAGE_MEMBER = 'stardist/data/images/img2d.tif'
MASK_MEMBER = 'stardist/data/images/mask2d.tif'
CLASSES = ('background', 'nucleus')
SPLITS = ('train', 'val')


def read_tiff(data: bytes) -> np.ndarray:
    """Decode a single-page grayscale TIFF with Pillow.

    Args:
        data: The file's bytes.

    Returns:
        2-D array with the file's dtype (uint16 for the StarDist sample).
    """
    with Image.open(io.BytesIO(data)) as img:
        arr = np.array(img)
    if arr.ndim != 2:
        raise ValueError(f'expected a 2-D image, got shape {arr.shape}')
    return arr


def find_member(names: Sequence[str], wanted: str) -> str:
    """Find a wheel member by its path, or else by its file name.

    Args:
        names: Member names of the zip.
        wanted: Expected member path.

    Returns:
        ``wanted`` if present, else the single member with the same base name.

    Raises:
        FileNotFoundError: If there is no such member, or several.
    """
    if wanted in names:
        return wanted
    base = wanted.rsplit('/', 1)[-1]
    hits = [n for n in names if n.rsplit('/', 1)[-1] == base]
    if len(hits) != 1:
        raise FileNotFoundError(f'{wanted} not found (candidates: {hits})')
    return hits[0]


def read_wheel(wheel: Path) -> Tuple[np.ndarray, np.ndarray]:
    """Read the 2-D nuclei image and its instance mask from a stardist wheel.

    Args:
        wheel: Path to the ``.whl`` file.

    Returns:
        The image and the instance-id mask, both 2-D of the same shape.
    """
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        image = read_tiff(zf.read(find_member(names, IMAGE_MEMBER)))
        mask = read_tiff(zf.read(find_member(names, MASK_MEMBER)))
    if image.shape != mask.shape:
        raise ValueError(f'image {image.shape} and mask {mask.shape} differ in shape')
    return image, mask


def normalize_percentile(image: np.ndarray, low: float = 1.0, high: float = 99.8) -> np.ndarray:
    """Scale intensities to uint8 between two percentiles.

    Args:
        image: Array of any numeric dtype.
        low: Percentile mapped to 0.
        high: Percentile mapped to 255.

    Returns:
        uint8 array of the same shape, ``round(255 * (x - p_low) / (p_high -
        p_low))`` clipped to [0, 255]; all zeros if the percentiles are equal.
    """
    image = np.asarray(image, dtype=np.float64)
    lo, hi = np.percentile(image, [low, high])
    if hi <= lo:
        return np.zeros(image.shape, dtype=np.uint8)
    scaled = (image - lo) / (hi - lo) * 255.0
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def to_semantic(instances: np.ndarray) -> np.ndarray:
    """Map instance ids to classes: 0 stays background, every id > 0 is 1.

    Args:
        instances: Integer instance-id mask.

    Returns:
        uint8 mask with values in {0, 1}.
    """
    return (np.asarray(instances) > 0).astype(np.uint8)


def tile_starts(length: int, tile_size: int, stride: int) -> List[int]:
    """Start offsets of tiles covering ``[0, length)`` at a given stride.

    The last tile is shifted to end exactly at ``length`` when the stride
    does not land there.

    Args:
        length: Extent along the axis.
        tile_size: Tile size along the axis.
        stride: Step between tile starts.

    Returns:
        Sorted, unique start offsets; empty if ``length < tile_size``.
    """
    if tile_size <= 0 or stride <= 0:
        raise ValueError(f'tile_size and stride must be positive, got {tile_size}, {stride}')
    if length < tile_size:
        return []
    starts = list(range(0, length - tile_size + 1, stride))
    if starts[-1] != length - tile_size:
        starts.append(length - tile_size)
    return starts


def split_rows(height: int, train_fraction: float = 0.75) -> Dict[str, Tuple[int, int]]:
    """Row ranges of the train (top) and val (bottom) regions.

    Args:
        height: Image height.
        train_fraction: Fraction of rows, from the top, used for train.

    Returns:
        ``{'train': (0, r), 'val': (r, height)}`` with
        ``r = round(height * train_fraction)``.
    """
    if not 0.0 < train_fraction < 1.0:
        raise ValueError(f'train_fraction must be in (0, 1), got {train_fraction}')
    r = int(round(height * train_fraction))
    return {'train': (0, r), 'val': (r, height)}


def tile_windows(shape: Tuple[int, int],
                 tile_size: int = 128,
                 stride: int = 64,
                 train_fraction: float = 0.75) -> Dict[str, List[Tuple[int, int]]]:
    """Top-left corners ``(y, x)`` of the tiles of each split.

    Args:
        shape: ``(height, width)`` of the image.
        tile_size: Side of a square tile.
        stride: Step between tiles.
        train_fraction: Fraction of rows, from the top, used for train.

    Returns:
        ``{'train': [(y, x), ...], 'val': [...]}``, row-major. Train tiles
        lie in the train rows and val tiles in the val rows.
    """
    height, width = shape
    xs = tile_starts(width, tile_size, stride)
    windows = {}
    for split, (r0, r1) in split_rows(height, train_fraction).items():
        windows[split] = [(r0 + y, x) for y in tile_starts(r1 - r0, tile_size, stride) for x in xs]
    return windows


def convert(wheel: Path,
            out_dir: Path,
            tile_size: int = 128,
            stride: int = 64,
            train_fraction: float = 0.75,
            low: float = 1.0,
            high: float = 99.8,
            overwrite: bool = False) -> Dict[str, Dict[str, float]]:
    """Convert a stardist wheel to an mmseg-layout 2-class dataset.

    Args:
        wheel: Path to ``stardist-*.whl``.
        out_dir: Output folder.
        tile_size: Side of a square tile.
        stride: Step between tiles.
        train_fraction: Fraction of rows, from the top, used for train.
        low: Intensity percentile mapped to 0.
        high: Intensity percentile mapped to 255.
        overwrite: Replace existing ``img_dir/`` and ``ann_dir/`` in
            ``out_dir``.

    Returns:
        Per split: ``{'tiles': ..., 'nucleus_fraction': ...}`` where the
        fraction is over the pixels of the split's region.

    Raises:
        FileExistsError: If the output exists and ``overwrite`` is False.
        ValueError: If the image is too small for one tile per split.
    """
    image, instances = read_wheel(wheel)
    windows = tile_windows(image.shape, tile_size, stride, train_fraction)
    for split, wins in windows.items():
        if not wins:
            raise ValueError(f'{split} region of image {image.shape} is smaller than one '
                             f'{tile_size}px tile')
    for sub in ('img_dir', 'ann_dir'):
        d = out_dir / sub
        if d.exists():
            if not overwrite:
                raise FileExistsError(f'{d} exists; pass --overwrite to replace it')
            shutil.rmtree(d)

    gray = normalize_percentile(image, low, high)
    rgb = np.repeat(gray[:, :, None], 3, axis=2)
    semantic = to_semantic(instances)
    rows = split_rows(image.shape[0], train_fraction)
    summary = {}
    for split, wins in windows.items():
        img_dir = out_dir / 'img_dir' / split
        ann_dir = out_dir / 'ann_dir' / split
        img_dir.mkdir(parents=True)
        ann_dir.mkdir(parents=True)
        for y, x in wins:
            name = f'nuclei_y{y:03d}_x{x:03d}.png'
            Image.fromarray(rgb[y:y + tile_size, x:x + tile_size]).save(img_dir / name)
            Image.fromarray(semantic[y:y + tile_size, x:x + tile_size]).save(ann_dir / name)
        r0, r1 = rows[split]
        region = instances[r0:r1]
        summary[split] = {
            'tiles': len(wins),
            'rows': (r0, r1),
            'nuclei': int(len(np.unique(region[region > 0]))),
            'nucleus_fraction': float(semantic[r0:r1].mean()),
        }
    return summary


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse command-line arguments."""
    parser = argparse.ArgumentParser(
        description='Convert the StarDist wheel 2-D nuclei sample to a tiled 2-class mmseg dataset '
        '(OUT/img_dir/{train,val}/*.png, OUT/ann_dir/{train,val}/*.png).')
    parser.add_argument('wheel', type=Path, help='path to the stardist-0.9.2 wheel')
    parser.add_argument('out_dir', type=Path, help='output folder')
    parser.add_argument('--tile-size', type=int, default=128, help='tile side in pixels (default: 128)')
    parser.add_argument('--stride', type=int, default=64, help='step between tiles (default: 64)')
    parser.add_argument('--train-fraction', type=float, default=0.75,
                        help='top fraction of the rows used for train, the rest for val (default: 0.75)')
    parser.add_argument('--low', type=float, default=1.0,
                        help='intensity percentile mapped to 0 (default: 1)')
    parser.add_argument('--high', type=float, default=99.8,
                        help='intensity percentile mapped to 255 (default: 99.8)')
    parser.add_argument('--overwrite', action='store_true', help='replace existing output')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the converter and print a summary."""
    args = parse_args(argv)
    summary = convert(args.wheel, args.out_dir, args.tile_size, args.stride, args.train_fraction,
                      args.low, args.high, args.overwrite)
    for split in SPLITS:
        s = summary[split]
        print(f'{split}: {s["tiles"]} tiles of {args.tile_size}x{args.tile_size} from rows '
              f'{s["rows"][0]}-{s["rows"][1]}, {s["nuclei"]} nuclei, '
              f'{100 * s["nucleus_fraction"]:.1f}% nucleus pixels')
    print(f'total: {sum(s["tiles"] for s in summary.values())} tiles -> {args.out_dir}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
