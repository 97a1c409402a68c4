"""Install mtkd_rl; configs and tools are packaged for ``mim`` under ``mtkd_rl/.mim`` the OpenMMLab way."""
import os
import os.path as osp
import shutil
import sys
import warnings

from setuptools import find_packages, setup


def get_version() -> str:
    scope = {}
    with open(osp.join('mtkd_rl', 'version.py')) as f:
        exec(compile(f.read(), 'mtkd_rl/version.py', 'exec'), scope)
    return scope['__version__']


def parse_requirements(fname: str = 'requirements.txt'):
    with open(fname) as f:
        return [line.strip() for line in f if line.strip() and not line.startswith('#')]


def add_mim_extension() -> None:
    """Link (editable install) or copy (wheel) ``configs`` and ``tools`` into ``mtkd_rl/.mim``."""
    if 'develop' in sys.argv or any(a.startswith('editable') for a in sys.argv):
        mode = 'symlink' if os.name != 'nt' else 'copy'
    elif 'sdist' in sys.argv or 'bdist_wheel' in sys.argv or 'install' in sys.argv:
        mode = 'copy'
    else:
        return
    filenames = ['tools', 'configs', 'README.md']
    repo_path = osp.dirname(osp.abspath(__file__))
    mim_path = osp.join(repo_path, 'mtkd_rl', '.mim')
    os.makedirs(mim_path, exist_ok=True)
    for filename in filenames:
        src = osp.join(repo_path, filename)
        tar = osp.join(mim_path, filename)
        if not osp.exists(src):
            continue
        if osp.isfile(tar) or osp.islink(tar):
            os.remove(tar)
        elif osp.isdir(tar):
            shutil.rmtree(tar)
        if mode == 'symlink':
            os.symlink(osp.relpath(src, osp.dirname(tar)), tar)
        elif osp.isfile(src):
            shutil.copyfile(src, tar)
        elif osp.isdir(src):
            shutil.copytree(src, tar)
        else:
            warnings.warn(f'Cannot copy file {src}.')


if __name__ == '__main__':
    add_mim_extension()
    setup(
        name='mtkd_rl',
        version=get_version(),
        description='Multi-teacher knowledge distillation with reinforcement-learned teacher weights '
        '(MTKD-RL) for OpenMMLab: mmpretrain, mmdet and mmseg',
        long_description=open('README.md').read() if osp.exists('README.md') else '',
        long_description_content_type='text/markdown',
        keywords='knowledge distillation, multi-teacher, reinforcement learning, OpenMMLab',
        packages=find_packages(exclude=('configs', 'tools', 'tests', 'docs')),
        include_package_data=True,
        package_data={'mtkd_rl': ['.mim/configs/**/*', '.mim/tools/**/*', '.mim/README.md']},
        python_requires='>=3.8',
        license='Apache License 2.0',
        # torch, mmcv (built with its ops) and the toolboxes are installed as docs/installation.md says.
        install_requires=[r for r in parse_requirements() if r.startswith(('mmengine', 'numpy'))],
        zip_safe=False)
