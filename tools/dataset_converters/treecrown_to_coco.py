"""Convert the DeepForest tree-crown sample data to tiled COCO detection data.

The source is the ``deepforest==2.1.0`` wheel from PyPI (code MIT, NEON imagery
CC0), read as a zip file without importing deepforest. Every image under
``deepforest/data/`` that has a Pascal VOC XML annotation is used (4 images,
951 boxes); the CSV files in the wheel annotate the same images with the same
or fewer boxes, so they are not read. The labels (``Tree``, ``Alive``,
``Dead``) all become the single category ``tree``.

Tiling: each image is cut into a non-overlapping grid of ``tile_size`` px
tiles starting at (0, 0). Tiles at the right and bottom edges that extend past
the image are zero-padded to the full tile size, so every tile is
``tile_size`` x ``tile_size``. Boxes are clipped to the image and then to the
tile; a clipped box is kept only if it keeps at least ``min_visible`` of its
area inside the image and is at least ``min_size`` px wide and high. Tiles
without boxes are kept as valid (background) images.

Split: tiles are numbered 0, 1, 2, ... in the order (source image sorted by
file name, tile row, tile column); tile ``i`` goes to val when
``i % val_every == val_every - 1`` (every 5th tile by default), otherwise to
train. Tiles do not overlap, so no pixel is in both splits.

Output layout::

    OUT/images/<stem>_x<X>_y<Y>.png
    OUT/annotations/instances_train.json
    OUT/annotations/instances_val.json

Example::

    python tools/dataset_converters/treecrown_to_coco.py \\
        data/downloads/deepforest-2.1.0-py3-none-any.whl data/treecrown
"""
from __future__ import annotations

import argparse
import io
import json
import posixpath
import shutil
import sys
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image

DATA_DIR = 'deepforest/data'
CATEGORY = {'id': 1, 'name': 'tree', 'supercategory': 'tree'}
SPLITS = ('train', 'val')


@dataclass
class Source:
    """One annotated source image.

    Attributes:
        name: File stem of the image, used to name its tiles.
        image: RGB image of shape (H, W, 3), dtype uint8.
        boxes: Boxes as float array of shape (N, 4), ``[x1, y1, x2, y2]`` in
            pixels.
    """

    name: str
    image: np.ndarray
    boxes: np.ndarray


@dataclass
class Tile:
    """One tile cut from a source image.

    Attributes:
        index: Global tile number in conversion order (decides the split).
        source: Stem of the source image.
        x0: Left edge of the tile in source pixels.
        y0: Top edge of the tile in source pixels.
        image: RGB tile of shape (tile_size, tile_size, 3), dtype uint8.
        boxes: Boxes in tile coordinates, shape (N, 4), ``[x1, y1, x2, y2]``.
    """

    index: int
    source: str
    x0: int
    y0: int
    image: np.ndarray
    boxes: np.ndarray

    @property
    def file_name(self) -> str:
        """File name of the tile image."""
        return f'{self.source}_x{self.x0}_y{self.y0}.png'


def parse_voc_xml(text: str) -> Tuple[str, int, int, np.ndarray]:
    """Parse a Pascal VOC annotation.

    Args:
        text: Content of the XML file.

    Returns:
        The annotated file name, the image width and height from ``<size>``,
        and the boxes as a float array of shape (N, 4) ``[x1, y1, x2, y2]``.
    """
    root = ET.fromstring(text)
    filename = root.findtext('filename', default='').strip()
    width = int(float(root.findtext('size/width', default='0')))
    height = int(float(root.findtext('size/height', default='0')))
    boxes = []
    for obj in root.iter('object'):
        bndbox = obj.find('bndbox')
        if bndbox is None:
            continue
        boxes.append([float(bndbox.findtext(k)) for k in ('xmin', 'ymin', 'xmax', 'ymax')])
    return filename, width, height, np.asarray(boxes, dtype=np.float64).reshape(-1, 4)


def tile_origins(length: int, tile_size: int) -> List[int]:
    """Start offsets of a non-overlapping tile grid along one axis.

    Args:
        length: Image size along the axis in pixels.
        tile_size: Tile size in pixels.

    Returns:
        ``[0, tile_size, 2 * tile_size, ...]``, every offset below ``length``.
    """
    if tile_size <= 0:
        raise ValueError(f'tile_size must be positive, got {tile_size}')
    return list(range(0, max(length, 0), tile_size))


def crop_tile(image: np.ndarray, x0: int, y0: int, tile_size: int) -> np.ndarray:
    """Cut a square tile from an image, zero-padding where it leaves the image.

    Args:
        image: Array of shape (H, W) or (H, W, C).
        x0: Left edge of the tile.
        y0: Top edge of the tile.
        tile_size: Side of the tile in pixels.

    Returns:
        Array of shape (tile_size, tile_size) or (tile_size, tile_size, C),
        same dtype as ``image``.
    """
    crop = image[y0:y0 + tile_size, x0:x0 + tile_size]
    out = np.zeros((tile_size, tile_size) + image.shape[2:], dtype=image.dtype)
    out[:crop.shape[0], :crop.shape[1]] = crop
    return out


def box_areas(boxes: np.ndarray) -> np.ndarray:
    """Areas of ``[x1, y1, x2, y2]`` boxes (zero for inverted boxes).

    Args:
        boxes: Array of shape (N, 4).

    Returns:
        Array of shape (N,).
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    w = np.clip(boxes[:, 2] - boxes[:, 0], 0, None)
    h = np.clip(boxes[:, 3] - boxes[:, 1], 0, None)
    return w * h


def clip_boxes(boxes: np.ndarray, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    """Clip ``[x1, y1, x2, y2]`` boxes to a window, in the same coordinates.

    Args:
        boxes: Array of shape (N, 4).
        x0: Left edge of the window.
        y0: Top edge of the window.
        x1: Right edge of the window.
        y1: Bottom edge of the window.

    Returns:
        Float array of shape (N, 4); boxes outside the window come out with
        zero width or height.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    out = boxes.copy()
    out[:, [0, 2]] = np.clip(out[:, [0, 2]], x0, x1)
    out[:, [1, 3]] = np.clip(out[:, [1, 3]], y0, y1)
    return out


def boxes_in_tile(boxes: np.ndarray,
                  x0: int,
                  y0: int,
                  tile_size: int,
                  image_size: Optional[Tuple[int, int]] = None,
                  min_visible: float = 0.5,
                  min_size: float = 1.0) -> np.ndarray:
    """Boxes of one tile, clipped and shifted to tile coordinates.

    Boxes are first clipped to the image (when ``image_size`` is given; that
    clipped box is the reference area), then to the tile. A box is kept when
    its clipped area is at least ``min_visible`` times the reference area and
    it is at least ``min_size`` wide and high after clipping.

    Args:
        boxes: Source boxes, shape (N, 4), ``[x1, y1, x2, y2]``.
        x0: Left edge of the tile in source pixels.
        y0: Top edge of the tile in source pixels.
        tile_size: Side of the tile in pixels.
        image_size: ``(width, height)`` of the source image, or None.
        min_visible: Smallest kept fraction of a box's area.
        min_size: Smallest kept width and height in pixels.

    Returns:
        Float array of shape (M, 4) in tile coordinates, in the input order.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if image_size is not None:
        boxes = clip_boxes(boxes, 0, 0, image_size[0], image_size[1])
    ref_area = box_areas(boxes)
    clipped = clip_boxes(boxes, x0, y0, x0 + tile_size, y0 + tile_size)
    w = clipped[:, 2] - clipped[:, 0]
    h = clipped[:, 3] - clipped[:, 1]
    keep = (ref_area > 0) & (w >= min_size) & (h >= min_size)
    keep &= box_areas(clipped) >= min_visible * ref_area
    out = clipped[keep]
    out[:, [0, 2]] -= x0
    out[:, [1, 3]] -= y0
    return out


def split_of(index: int, val_every: int = 5) -> str:
    """Split of a tile from its global number.

    Args:
        index: Global tile number, from 0.
        val_every: Every ``val_every``-th tile goes to val.

    Returns:
        ``'val'`` when ``index % val_every == val_every - 1``, else
        ``'train'``.
    """
    if val_every <= 0:
        raise ValueError(f'val_every must be positive, got {val_every}')
    return 'val' if index % val_every == val_every - 1 else 'train'


def _read_rgb(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img.convert('RGB'))


def read_sources(wheel: Path) -> List[Source]:
    """Read the VOC-annotated images from a deepforest wheel.

    The image of an XML file is the file named in ``<filename>``; when that
    file is missing or not readable by Pillow, a PNG with the same stem is
    used (``OSBS_029.xml`` names ``OSBS_029.tif``; ``OSBS_029.png`` holds the
    same pixels).

    Args:
        wheel: Path to the ``.whl`` file.

    Returns:
        Sources sorted by name.

    Raises:
        FileNotFoundError: If the wheel has no annotation or an annotation's
            image is missing.
        ValueError: If an image's size differs from its annotation.
    """
    sources = []
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        xmls = sorted(n for n in names
                      if posixpath.dirname(n) == DATA_DIR and n.lower().endswith('.xml'))
        if not xmls:
            raise FileNotFoundError(f'no {DATA_DIR}/*.xml in {wheel}')
        for xml_name in xmls:
            filename, width, height, boxes = parse_voc_xml(zf.read(xml_name).decode('utf-8'))
            stem = posixpath.splitext(posixpath.basename(xml_name))[0]
            candidates = [posixpath.join(DATA_DIR, filename), posixpath.join(DATA_DIR, stem + '.png')]
            image = None
            for cand in candidates:
                if cand not in names:
                    continue
                try:
                    image = _read_rgb(zf.read(cand))
                    break
                except OSError:
                    continue
            if image is None:
                raise FileNotFoundError(f'no readable image for {xml_name} (tried {candidates})')
            if width and height and (image.shape[1], image.shape[0]) != (width, height):
                raise ValueError(f'{xml_name}: annotated size {width}x{height}, image '
                                 f'{image.shape[1]}x{image.shape[0]}')
            sources.append(Source(name=stem, image=image, boxes=boxes))
    return sorted(sources, key=lambda s: s.name)


def iter_tiles(sources: Sequence[Source],
               tile_size: int = 400,
               min_visible: float = 0.5,
               min_size: float = 1.0) -> Iterator[Tile]:
    """Cut sources into tiles, numbered in order.

    Args:
        sources: Source images in conversion order.
        tile_size: Side of a tile in pixels.
        min_visible: Smallest kept fraction of a box's area.
        min_size: Smallest kept width and height in pixels.

    Yields:
        Tiles in the order (source, row, column).
    """
    index = 0
    for src in sources:
        height, width = src.image.shape[:2]
        for y0 in tile_origins(height, tile_size):
            for x0 in tile_origins(width, tile_size):
                yield Tile(index=index,
                           source=src.name,
                           x0=x0,
                           y0=y0,
                           image=crop_tile(src.image, x0, y0, tile_size),
                           boxes=boxes_in_tile(src.boxes, x0, y0, tile_size, (width, height),
                                               min_visible, min_size))
                index += 1


def empty_coco() -> Dict:
    """A COCO detection dict with the ``tree`` category and no images."""
    return {
        'info': {
            'description': 'DeepForest 2.1.0 sample tree crowns (NEON imagery, CC0), tiled',
            'version': '1.0',
        },
        'licenses': [{
            'id': 1,
            'name': 'CC0 1.0',
            'url': 'https://creativecommons.org/publicdomain/zero/1.0/',
        }],
        'images': [],
        'annotations': [],
        'categories': [dict(CATEGORY)],
    }


def box_to_coco(box: Sequence[float]) -> List[float]:
    """Convert ``[x1, y1, x2, y2]`` to COCO ``[x, y, w, h]``, rounded to 2 decimals."""
    x1, y1, x2, y2 = (float(v) for v in box)
    return [round(x1, 2), round(y1, 2), round(x2 - x1, 2), round(y2 - y1, 2)]


def convert(wheel: Path,
            out_dir: Path,
            tile_size: int = 400,
            val_every: int = 5,
            min_visible: float = 0.5,
            min_size: float = 1.0,
            overwrite: bool = False) -> Dict[str, Dict[str, int]]:
    """Convert a deepforest wheel to tiled COCO data.

    Args:
        wheel: Path to ``deepforest-*.whl``.
        out_dir: Output folder.
        tile_size: Side of a tile in pixels.
        val_every: Every ``val_every``-th tile goes to val.
        min_visible: Smallest kept fraction of a box's area.
        min_size: Smallest kept box width and height in pixels.
        overwrite: Replace existing ``images/`` and ``annotations/`` in
            ``out_dir``.

    Returns:
        Per split: ``{'tiles': ..., 'empty_tiles': ..., 'boxes': ...}``.

    Raises:
        FileExistsError: If the output exists and ``overwrite`` is False.
    """
    img_dir = out_dir / 'images'
    ann_dir = out_dir / 'annotations'
    for d in (img_dir, ann_dir):
        if d.exists():
            if not overwrite:
                raise FileExistsError(f'{d} exists; pass --overwrite to replace it')
            shutil.rmtree(d)
    img_dir.mkdir(parents=True)
    ann_dir.mkdir(parents=True)

    cocos = {split: empty_coco() for split in SPLITS}
    ann_id = 1
    for tile in iter_tiles(read_sources(wheel), tile_size, min_visible, min_size):
        coco = cocos[split_of(tile.index, val_every)]
        image_id = tile.index + 1
        Image.fromarray(tile.image).save(img_dir / tile.file_name)
        coco['images'].append({
            'id': image_id,
            'file_name': tile.file_name,
            'width': tile_size,
            'height': tile_size,
            'license': 1,
            'source': tile.source,
            'tile_x': tile.x0,
            'tile_y': tile.y0,
        })
        for box in tile.boxes:
            bbox = box_to_coco(box)
            coco['annotations'].append({
                'id': ann_id,
                'image_id': image_id,
                'category_id': CATEGORY['id'],
                'bbox': bbox,
                'area': round(bbox[2] * bbox[3], 2),
                'iscrowd': 0,
            })
            ann_id += 1

    summary = {}
    for split, coco in cocos.items():
        with open(ann_dir / f'instances_{split}.json', 'w') as f:
            json.dump(coco, f)
        with_boxes = {a['image_id'] for a in coco['annotations']}
        summary[split] = {
            'tiles': len(coco['images']),
            'empty_tiles': sum(img['id'] not in with_boxes for img in coco['images']),
            'boxes': len(coco['annotations']),
        }
    return summary


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse command-line arguments."""
    parser = argparse.ArgumentParser(
        description='Convert the DeepForest wheel sample tree crowns to tiled COCO detection data '
        '(OUT/images/*.png, OUT/annotations/instances_{train,val}.json).')
    parser.add_argument('wheel', type=Path, help='path to deepforest-2.1.0-py3-none-any.whl')
    parser.add_argument('out_dir', type=Path, help='output folder')
    parser.add_argument('--tile-size', type=int, default=400, help='tile side in pixels (default: 400)')
    parser.add_argument('--val-every', type=int, default=5,
                        help='tile i goes to val when i %% N == N - 1 (default: 5)')
    parser.add_argument('--min-visible', type=float, default=0.5,
                        help='keep a clipped box if at least this fraction of its area is in the tile '
                        '(default: 0.5)')
    parser.add_argument('--min-size', type=float, default=1.0,
                        help='drop clipped boxes narrower or lower than this many pixels (default: 1)')
    parser.add_argument('--overwrite', action='store_true', help='replace existing output')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the converter and print a summary."""
    args = parse_args(argv)
    summary = convert(args.wheel, args.out_dir, args.tile_size, args.val_every, args.min_visible,
                      args.min_size, args.overwrite)
    for split in SPLITS:
        s = summary[split]
        print(f'{split}: {s["tiles"]} tiles ({s["empty_tiles"]} without boxes), {s["boxes"]} boxes')
    total_tiles = sum(s['tiles'] for s in summary.values())
    total_boxes = sum(s['boxes'] for s in summary.values())
    print(f'total: {total_tiles} tiles, {total_boxes} boxes -> {args.out_dir}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
