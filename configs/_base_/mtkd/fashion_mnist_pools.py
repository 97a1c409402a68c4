# Fashion-MNIST teacher pools for comparing weightings (docs/user_guides/comparing_weightings.md). Distiller
# configs pick one as `teachers=_base_.<pool>`; train the teachers of a pool first with tools/train.py.
fmnist_teacher_dir = '{{ fileDirname }}/../../cls/fashion_mnist/teachers'  # resolved from this file, wherever it is installed


def fmnist_pool3(epochs):
    """The standard pool (three architectures), each teacher trained ``epochs`` epochs on all training images."""
    return [dict(name=name, config=f'{fmnist_teacher_dir}/{arch}_1xb64-{epochs}e_fashion-mnist.py',
                 checkpoint=f'work_dirs/{arch}_1xb64-{epochs}e_fashion-mnist/epoch_{epochs}.pth')
            for name, arch in (('resnet18_w16', 'resnet18-w16'), ('regnetx_s8', 'regnetx-s8'),
                               ('mobilenetv2_w05', 'mobilenetv2-w0.5'))]


# Trained 10 epochs: clearly stronger than the 2-epoch student.
fmnist_pool3_10e = fmnist_pool3(10)
# Trained one epoch on all 60000 training images: a CPU-sized pool, clearly stronger than a student trained on a
# 4000-image subset (the *_fashion-mnist-4k distiller configs).
fmnist_pool3_1e = fmnist_pool3(1)
# A mixed pool: the strong ResNet-18 w16 of the one-epoch pool, a weak MobileNetV2 x0.5 (one epoch on 6000
# images) and a poor MobileNetV2 x0.5 that learnt another label order on four classes, so it is confidently
# wrong on their images (40% of the data).
fmnist_mixedpool3 = [
    fmnist_pool3_1e[0],
    dict(name='mobilenetv2_w05_weak', config=f'{fmnist_teacher_dir}/mobilenetv2-w0.5_1xb64-1e_fashion-mnist-6k.py',
         checkpoint='work_dirs/mobilenetv2-w0.5_1xb64-1e_fashion-mnist-6k/epoch_1.pth'),
    dict(name='mobilenetv2_w05_swap4',
         config=f'{fmnist_teacher_dir}/mobilenetv2-w0.5_1xb64-1e_fashion-mnist-swap4.py',
         checkpoint='work_dirs/mobilenetv2-w0.5_1xb64-1e_fashion-mnist-swap4/epoch_1.pth'),
]
