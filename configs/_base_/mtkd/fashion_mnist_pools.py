# Fashion-MNIST teacher pools for comparing weightings (docs/user_guides/comparing_weightings.md). Distiller
# configs pick one as `teachers=_base_.<pool>`; train the teachers of a pool first with tools/train.py.
fmnist_teacher_dir = '{{ fileDirname }}/../../cls/fashion_mnist/teachers'  # resolved from this file, wherever it is installed
# The standard pool (three architectures) trained 10 epochs: clearly stronger than the 2-epoch student.
fmnist_pool3_10e = [
    dict(name='resnet18_w16', config=f'{fmnist_teacher_dir}/resnet18-w16_1xb64-10e_fashion-mnist.py',
         checkpoint='work_dirs/resnet18-w16_1xb64-10e_fashion-mnist/epoch_10.pth'),
    dict(name='regnetx_s8', config=f'{fmnist_teacher_dir}/regnetx-s8_1xb64-10e_fashion-mnist.py',
         checkpoint='work_dirs/regnetx-s8_1xb64-10e_fashion-mnist/epoch_10.pth'),
    dict(name='mobilenetv2_w05', config=f'{fmnist_teacher_dir}/mobilenetv2-w0.5_1xb64-10e_fashion-mnist.py',
         checkpoint='work_dirs/mobilenetv2-w0.5_1xb64-10e_fashion-mnist/epoch_10.pth'),
]
# A mixed pool: one strong teacher, one weak one (one epoch on 6000 images) and one poor one that learnt another
# label order on four classes, so it is confidently wrong on their images.
fmnist_mixedpool3 = [
    fmnist_pool3_10e[0],
    dict(name='mobilenetv2_w05_weak', config=f'{fmnist_teacher_dir}/mobilenetv2-w0.5_1xb64-1e_fashion-mnist-6k.py',
         checkpoint='work_dirs/mobilenetv2-w0.5_1xb64-1e_fashion-mnist-6k/epoch_1.pth'),
    dict(name='regnetx_s8_swap4', config=f'{fmnist_teacher_dir}/regnetx-s8_1xb64-10e_fashion-mnist-swap4.py',
         checkpoint='work_dirs/regnetx-s8_1xb64-10e_fashion-mnist-swap4/epoch_10.pth'),
]
