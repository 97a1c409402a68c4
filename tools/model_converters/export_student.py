"""Write a student-only checkpoint from a MultiTeacherDistiller checkpoint.

The result loads into the student's plain mmpretrain/mmdet/mmseg config and their own test tools:

    python tools/model_converters/export_student.py work_dirs/x/epoch_10.pth student.pth
"""
import argparse
import os
import os.path as osp

import torch

import mtkd_rl  # noqa: F401  (reads mmengine checkpoints under torch's weights-only default)
from mtkd_rl.student import export_student


def main():
    parser = argparse.ArgumentParser(description='Export the student of a MultiTeacherDistiller checkpoint')
    parser.add_argument('checkpoint', help='distiller checkpoint (e.g. work_dirs/<config>/epoch_N.pth)')
    parser.add_argument('out', help='output path of the student-only checkpoint')
    args = parser.parse_args()
    checkpoint = torch.load(args.checkpoint, map_location='cpu')
    student = export_student(checkpoint)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    torch.save(student, args.out)
    print(f'wrote {len(student["state_dict"])} student tensors to {args.out}')


if __name__ == '__main__':
    main()
