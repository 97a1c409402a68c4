# The nuclei pool with a confidently wrong teacher: DeepLabV3 and PSPNet as in the standard pool, and in place
# of DeepLabV3+ the DeepLabV3 teacher trained with background and nucleus exchanged (teachers/*-swap2.py).
# The dense counterpart of the Fashion-MNIST mixed pool: does a weighting protect the student from it?
# Train the teachers first:
#   for t in deeplabv3_r18-w16-d8_1xb4-400i_nuclei-128x128 pspnet_r18-w16-d8_1xb4-400i_nuclei-128x128 \
#            deeplabv3_r18-w16-d8_1xb4-400i_nuclei-128x128-swap2; do
#     python tools/train.py configs/seg/nuclei/teachers/$t.py; done
#   python tools/analysis_tools/compare_weightings.py THIS_CONFIG --weightings AVER CA-MKD ... --seeds 0 1 2
_base_ = ['./mtkdrl_deeplabv3_r18-w8-d8_nuclei-pool3_1xb4-400i_nuclei-128x128.py']

teacher_dir = '{{ fileDirname }}/teachers'  # next to this config, wherever it is installed
model = dict(
    teachers=[
        dict(name='deeplabv3_w16', config=f'{teacher_dir}/deeplabv3_r18-w16-d8_1xb4-400i_nuclei-128x128.py',
             checkpoint='work_dirs/deeplabv3_r18-w16-d8_1xb4-400i_nuclei-128x128/iter_400.pth'),
        dict(name='pspnet_w16', config=f'{teacher_dir}/pspnet_r18-w16-d8_1xb4-400i_nuclei-128x128.py',
             checkpoint='work_dirs/pspnet_r18-w16-d8_1xb4-400i_nuclei-128x128/iter_400.pth'),
        dict(name='deeplabv3_w16_swap2',
             config=f'{teacher_dir}/deeplabv3_r18-w16-d8_1xb4-400i_nuclei-128x128-swap2.py',
             checkpoint='work_dirs/deeplabv3_r18-w16-d8_1xb4-400i_nuclei-128x128-swap2/iter_400.pth'),
    ])
