# The Fashion-MNIST mosaic for semantic segmentation: the canvases of fashion_mnist_mosaic_det_128x128.py with
# class masks in mmseg's layout (0 background, 1-10 the Fashion-MNIST classes); 3000 train / 1000 val canvases.
# Made by tools/dataset_converters/fashion_mnist_mosaic.py; tools/setup_env.sh puts it in
# data/fashion_mnist_mosaic. Pipelines, loaders and metric: png_seg_128x128.py.
_base_ = './png_seg_128x128.py'
data_root = 'data/fashion_mnist_mosaic'
metainfo = dict(
    classes=('background', 'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker',
             'Bag', 'Ankle boot'),
    palette=[[0, 0, 0], [220, 20, 60], [119, 11, 32], [0, 0, 142], [0, 0, 230], [106, 0, 228], [0, 60, 100],
             [0, 80, 100], [0, 0, 70], [0, 0, 192], [250, 170, 30]])

train_dataloader = dict(batch_size=8, dataset=dict(data_root=data_root, metainfo=metainfo))
val_dataloader = dict(batch_size=16, dataset=dict(data_root=data_root, metainfo=metainfo))
test_dataloader = val_dataloader
