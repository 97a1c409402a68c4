"""Build the Fashion-MNIST mosaic set: real Fashion-MNIST items on 128x128 canvases, for detection and segmentation.

Each canvas holds 2-4 items of the 10 Fashion-MNIST classes, each scaled to 28-56 px and placed where its box
does not touch another's, on a faintly noisy background. Training canvases use training images, validation
canvases test images, each item used once. One set of images serves both tasks:

    OUT/img_dir/{train,val}/NNNNN.png          gray canvases
    OUT/ann_dir/{train,val}/NNNNN.png          class masks (mmseg): 0 background, 1-10 the classes
    OUT/annotations/instances_{train,val}.json COCO boxes (mmdet): category ids 1-10, tight around each mask

An item's mask is its pixels brighter than ``--threshold`` after scaling, and its box is the tight box of that
mask, so boxes and masks agree exactly. The output depends only on the input files and the options
(``--seed``): the same command gives the same bytes. When OUT/.prepared records the same inputs, options and
converter, the command returns at once; a folder without that record is never overwritten unless
``--overwrite`` is given.

Usage: python tools/dataset_converters/fashion_mnist_mosaic.py data/fashion_mnist data/fashion_mnist_mosaic
"""
import argparse
import gzip
import hashlib
import json
import os
import os.path as osp
import shutil
import sys
from typing import Dict, List, Tuple

import numpy as np
from PIL import Image

CLASSES = ('T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag',
           'Ankle boot')
FILES = {'train': ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte'),
         'val': ('t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte')}
STAMP = '.prepared'


def read_idx(path: str) -> np.ndarray:
    """Read an idx file (uncompressed, or ``path + '.gz'``) into an array."""
    if not osp.exists(path) and osp.exists(path + '.gz'):
        path = path + '.gz'
    if not osp.exists(path):
        raise FileNotFoundError(f'{path} (or .gz) is missing: the mosaic is built from the Fashion-MNIST files, '
                                f'which `bash tools/setup_env.sh` installs in data/fashion_mnist')
    opener = gzip.open if path.endswith('.gz') else open
    with opener(path, 'rb') as f:
        data = f.read()
    magic = int.from_bytes(data[:4], 'big')
    if magic >> 8 != 0x08:  # unsigned bytes
        raise ValueError(f'{path} is not an idx file of unsigned bytes (magic {magic:#x})')
    ndim = magic & 0xFF
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_split(src: str, split: str) -> Tuple[np.ndarray, np.ndarray]:
    images, labels = (read_idx(osp.join(src, name)) for name in FILES[split])
    if len(images) != len(labels):
        raise ValueError(f'{src}: {len(images)} {split} images but {len(labels)} labels')
    return images, labels


def _overlaps(box, boxes, gap: int) -> bool:
    x0, y0, x1, y1 = box
    return any(x0 < b[2] + gap and b[0] < x1 + gap and y0 < b[3] + gap and b[1] < y1 + gap for b in boxes)


def make_canvas(rng: np.random.Generator, images: np.ndarray, labels: np.ndarray, order: np.ndarray, cursor: int,
                size: int = 128, items: Tuple[int, int] = (2, 4), scale: Tuple[int, int] = (28, 56),
                threshold: int = 32, gap: int = 2):
    """Compose one canvas.

    Args:
        rng: The generator (its state advances).
        images: ``[N, 28, 28]`` uint8 items.
        labels: ``[N]`` class indices.
        order: The order in which items are used.
        cursor: The position in ``order`` of the next item.
        size: Canvas side.
        items: Least and most items per canvas.
        scale: Least and most item side after scaling.
        threshold: Pixels of a scaled item brighter than this form its mask.
        gap: Least distance in pixels between two items' boxes.

    Returns:
        ``(canvas [size, size] uint8, mask [size, size] uint8, boxes [(x0, y0, x1, y1, label)], cursor)``;
        box corners are exclusive on the right and bottom.
    """
    canvas = rng.integers(0, 24, size=(size, size), dtype=np.uint8)
    mask = np.zeros((size, size), dtype=np.uint8)
    boxes: List[Tuple[int, int, int, int, int]] = []
    for _ in range(int(rng.integers(items[0], items[1] + 1))):
        side = int(rng.integers(scale[0], scale[1] + 1))
        item = np.asarray(Image.fromarray(images[order[cursor % len(order)]]).resize((side, side),
                                                                                     Image.BILINEAR))
        label = int(labels[order[cursor % len(order)]])
        fg = item > threshold
        if not fg.any():
            cursor += 1
            continue
        ys, xs = np.nonzero(fg)
        tight = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
        for _try in range(30):
            ox, oy = (int(v) for v in rng.integers(0, size - side + 1, size=2))
            box = (ox + tight[0], oy + tight[1], ox + tight[2], oy + tight[3])
            if not _overlaps(box, boxes, gap):
                region = (slice(oy, oy + side), slice(ox, ox + side))
                canvas[region] = np.where(fg, item, canvas[region])
                mask[region] = np.where(fg, label + 1, mask[region])
                boxes.append(box + (label, ))
                cursor += 1
                break
        else:
            break  # the canvas is full
    return canvas, mask, boxes, cursor


def build_split(images: np.ndarray, labels: np.ndarray, count: int, out: str, split: str, seed: int,
                size: int) -> Dict:
    """Write ``count`` canvases of one split and return its COCO dict."""
    rng = np.random.default_rng([seed, 0 if split == 'train' else 1])
    order = rng.permutation(len(images))
    img_dir, ann_dir = osp.join(out, 'img_dir', split), osp.join(out, 'ann_dir', split)
    os.makedirs(img_dir)
    os.makedirs(ann_dir)
    coco = dict(images=[], annotations=[],
                categories=[dict(id=i + 1, name=name, supercategory='fashion') for i, name in enumerate(CLASSES)])
    cursor = 0
    for index in range(count):
        canvas, mask, boxes, cursor = make_canvas(rng, images, labels, order, cursor, size=size)
        name = f'{index:05d}.png'
        Image.fromarray(canvas).save(osp.join(img_dir, name))
        Image.fromarray(mask).save(osp.join(ann_dir, name))
        coco['images'].append(dict(id=index, file_name=name, width=size, height=size))
        for x0, y0, x1, y1, label in boxes:
            coco['annotations'].append(dict(
                id=len(coco['annotations']) + 1, image_id=index, category_id=label + 1,
                bbox=[x0, y0, x1 - x0, y1 - y0], area=int((mask[y0:y1, x0:x1] == label + 1).sum()), iscrowd=0))
    os.makedirs(osp.join(out, 'annotations'), exist_ok=True)
    with open(osp.join(out, 'annotations', f'instances_{split}.json'), 'w') as f:
        json.dump(coco, f)
    return coco


def stamp_of(src: str, args: argparse.Namespace) -> str:
    """What the output depends on: the converter, the options and the input labels' digest."""
    digest = hashlib.sha1()
    with open(osp.abspath(__file__), 'rb') as f:
        digest.update(f.read())
    for split in FILES:
        digest.update(load_split(src, split)[1].tobytes())
    return json.dumps(dict(train=args.train, val=args.val, size=args.size, seed=args.seed,
                           sha1=digest.hexdigest()), sort_keys=True)


def convert(src: str, out: str, train: int = 3000, val: int = 1000, size: int = 128, seed: int = 0,
            overwrite: bool = False) -> bool:
    """Build the mosaic set in ``out``; returns False when it was already up to date."""
    args = argparse.Namespace(train=train, val=val, size=size, seed=seed)
    stamp = stamp_of(src, args)
    stamp_file = osp.join(out, STAMP)
    if osp.exists(stamp_file):
        with open(stamp_file) as f:
            if f.read() == stamp:
                return False
    elif osp.exists(out) and os.listdir(out) and not overwrite:
        raise FileExistsError(f'{out} exists and was not made by this converter; pass --overwrite to replace it, '
                              f'or choose another output folder')
    tmp = out.rstrip('/') + '.tmp'
    shutil.rmtree(tmp, ignore_errors=True)
    for split, count in (('train', train), ('val', val)):
        images, labels = load_split(src, split)
        build_split(images, labels, count, tmp, split, seed, size)
    with open(osp.join(tmp, STAMP), 'w') as f:
        f.write(stamp)
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)
    return True


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='folder with the four Fashion-MNIST idx files (uncompressed or .gz)')
    parser.add_argument('out', help='output folder')
    parser.add_argument('--train', type=int, default=3000, help='training canvases')
    parser.add_argument('--val', type=int, default=1000, help='validation canvases (from the test split)')
    parser.add_argument('--size', type=int, default=128, help='canvas side in pixels')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--overwrite', action='store_true', help='replace an output folder not made by this tool')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.size < 64:
        print('--size must be at least 64 (items are up to 56 px)', file=sys.stderr)
        return 2
    made = convert(args.src, args.out, args.train, args.val, args.size, args.seed, args.overwrite)
    print(f'[fashion_mnist_mosaic] {args.out} ' + ('written' if made else 'is up to date'))
    return 0


if __name__ == '__main__':
    sys.exit(main())
