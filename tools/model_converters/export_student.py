"""Write a student-only checkpoint from a MultiTeacherDistiller checkpoint.

The result loads into the student's plain mmpretrain/mmdet/mmseg config and their own test tools:

    python tools/model_converters/export_student.py work_dirs/x/epoch_10.pth student.pth
"""
import argparse
import os
import os.path as osp
import sys

import torch

import mtkd_rl  # noqa: F401  (reads mmengine checkpoints under torch's weights-only default)
from mtkd_rl.checkpoints import CheckpointError, describe_checkpoint, read_checkpoint
from mtkd_rl.student import export_student


def main():
    parser = argparse.ArgumentParser(description='Export the student of a MultiTeacherDistiller checkpoint')
    parser.add_argument('checkpoint', help='distiller checkpoint (e.g. work_dirs/<config>/epoch_N.pth)')
    parser.add_argument('out', help='output path of the student-only checkpoint')
    args = parser.parse_args()
    try:
        if osp.exists(args.out) and osp.exists(args.checkpoint) and osp.samefile(args.out, args.checkpoint):
            raise CheckpointError(f'the output {args.out} is the checkpoint itself, which the export would '
                                  f'overwrite: give another output path')
        checkpoint = read_checkpoint(args.checkpoint)
        if not any(str(k).startswith('student.') for k in checkpoint.get('state_dict', checkpoint)):
            raise CheckpointError(f'the checkpoint {args.checkpoint} holds no student weights (no student.* keys): '
                                  f'it is {describe_checkpoint(checkpoint)}. Give a checkpoint that '
                                  f'tools/train.py saved for a MultiTeacherDistiller config.')
        student = export_student(checkpoint)
    except CheckpointError as error:
        sys.exit(f'export_student.py: error: {error}')
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    partial = f'{args.out}.partial'
    torch.save(student, partial)
    os.replace(partial, args.out)  # an interrupted export leaves no truncated file under the output name
    print(f'wrote {len(student["state_dict"])} student tensors to {args.out}')


if __name__ == '__main__':
    main()
