"""Where the project's scripts (``tools/train.py``, ...) are for the installed package.

An install from a wheel ships them as ``mtkd_rl/.mim/tools`` (where ``mim`` looks); an editable install links
``mtkd_rl/.mim/tools`` to the checkout's ``tools``; a checkout used through ``PYTHONPATH`` without an install has
only ``tools/`` beside the package. The scripts found are always those of the package that is imported, so a
driver and the runs it starts use the same code.
"""
import os.path as osp
from typing import List

PACKAGE_DIR = osp.dirname(osp.abspath(__file__))


def tool_dirs() -> List[str]:
    """The folders searched for the scripts, in order: the package's ``.mim/tools``, then the checkout's."""
    return [osp.join(PACKAGE_DIR, '.mim', 'tools'), osp.join(osp.dirname(PACKAGE_DIR), 'tools')]


def tool_script(relative_path: str) -> str:
    """The path of one of the project's scripts, e.g. ``tool_script('train.py')``.

    Args:
        relative_path: The script's path under ``tools/``.

    Raises:
        FileNotFoundError: The package has no such script (an install without its tools), naming where it
            looked and how to get them.
    """
    for folder in tool_dirs():
        path = osp.join(folder, relative_path)
        if osp.isfile(path):
            return path
    raise FileNotFoundError(
        f'tools/{relative_path} of mtkd_rl is not installed (looked in {" and ".join(tool_dirs())}). Install '
        f'the package with its tools (pip install mtkd_rl from a wheel or source tree built by its setup.py), or '
        f'run from a checkout of the repository')
