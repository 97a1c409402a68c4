"""Install mtkd_rl; configs, tools and the model index are packaged for ``mim`` under ``mtkd_rl/.mim`` the
OpenMMLab way.

``install_requires`` and the extras give the ranges that hold the measured stacks (docs/installation.md):
torch 2.1.2 with OpenMMLab's prebuilt mmcv 2.1.0, and torch 2.14.1 with mmcv 2.1.0 built from source. The exact
pins of each stack are in ``requirements.txt`` and ``requirements/torch2.1.txt``.
"""
import os
import os.path as osp
import shutil
import sys
import warnings
from typing import Dict, List

from setuptools import find_packages, setup

#: What every task needs. mmcv must be installed with its compiled ops (see docs/installation.md) before
#: ``pip install``; pip cannot build them in its isolated build environment.
INSTALL_REQUIRES = [
    'torch>=2.1,<2.15',
    'numpy>=1.24,<2',  # mmpretrain's retrieval metrics call np.in1d; numpy 2 also breaks torch 2.1 wheels
    'setuptools<81',  # mmengine resolves 'mmpretrain::...' configs through pkg_resources
    'mmengine>=0.10.7,<0.11',
    'mmcv>=2.1.0,<2.2.0',  # mmdet 3.3 and mmseg 1.2 refuse mmcv >= 2.2
]

#: One extra per task toolbox, and ``all``. ``tests`` adds what the test suite uses.
EXTRAS_REQUIRE: Dict[str, List[str]] = {
    'cls': ['mmpretrain>=1.2.0,<1.3', 'torchvision>=0.16'],  # mmpretrain imports torchvision
    'det': ['mmdet>=3.3.0,<3.4'],
    'seg': ['mmsegmentation>=1.2.2,<1.3', 'ftfy', 'regex'],  # mmseg imports ftfy and regex undeclared
}
EXTRAS_REQUIRE['all'] = sorted({r for reqs in EXTRAS_REQUIRE.values() for r in reqs})


def get_version() -> str:
    scope = {}
    with open(osp.join('mtkd_rl', 'version.py')) as f:
        exec(compile(f.read(), 'mtkd_rl/version.py', 'exec'), scope)
    return scope['__version__']


def parse_requirements(fname: str) -> List[str]:
    """The requirement lines of a pip requirements file (comments and options dropped)."""
    with open(fname) as f:
        lines = [line.split('#')[0].strip() for line in f]
    return [line for line in lines if line and not line.startswith('-')]


def add_mim_extension() -> None:
    """Link (editable install) or copy (wheel, sdist) ``configs``, ``tools``, ``model-index.yml`` and the
    README into ``mtkd_rl/.mim``, where ``mim`` and mmengine look for them."""
    if 'develop' in sys.argv or any(a.startswith('editable') for a in sys.argv):
        mode = 'symlink' if os.name != 'nt' else 'copy'
    elif 'sdist' in sys.argv or 'bdist_wheel' in sys.argv or 'install' in sys.argv:
        mode = 'copy'
    else:
        return
    filenames = ['tools', 'configs', 'model-index.yml', 'README.md']
    repo_path = osp.dirname(osp.abspath(__file__))
    mim_path = osp.join(repo_path, 'mtkd_rl', '.mim')
    os.makedirs(mim_path, exist_ok=True)
    for filename in filenames:
        src = osp.join(repo_path, filename)
        tar = osp.join(mim_path, filename)
        if not osp.exists(src):
            continue  # building from an sdist: .mim already holds the copies
        if osp.isfile(tar) or osp.islink(tar):
            os.remove(tar)
        elif osp.isdir(tar):
            shutil.rmtree(tar)
        if mode == 'symlink':
            os.symlink(osp.relpath(src, osp.dirname(tar)), tar)
        elif osp.isfile(src):
            shutil.copyfile(src, tar)
        elif osp.isdir(src):
            shutil.copytree(src, tar, ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
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
        package_data={'mtkd_rl': ['.mim/configs/**/*', '.mim/tools/**/*', '.mim/model-index.yml',
                                  '.mim/README.md']},
        python_requires='>=3.9',
        license='Apache License 2.0',
        classifiers=[
            'License :: OSI Approved :: Apache Software License',
            'Operating System :: POSIX :: Linux',
            'Programming Language :: Python :: 3',
            'Topic :: Scientific/Engineering :: Artificial Intelligence',
        ],
        install_requires=INSTALL_REQUIRES,
        extras_require=dict(EXTRAS_REQUIRE, tests=parse_requirements('requirements/tests.txt')),
        zip_safe=False)
