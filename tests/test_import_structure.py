"""The package's import structure: no two modules of ``mtkd_rl`` import each other (directly or through a longer
cycle), counting imports inside functions, which only hide a cycle; the weighting package imports nothing from
the tasks, the distillers or the toolboxes."""
import ast
import os.path as osp
from pathlib import Path
from typing import Dict, List, Set

from conftest import REPO

PACKAGE = Path(REPO) / 'mtkd_rl'


def _modules() -> Dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name)."""
    found = {}
    for path in sorted(PACKAGE.rglob('*.py')):
        if '.mim' in path.parts:
            continue
        parts = list(path.relative_to(PACKAGE.parent).with_suffix('').parts)
        if parts[-1] == '__init__':
            parts = parts[:-1]
        found['.'.join(parts)] = path
    return found


def _imports(name: str, path: Path, modules: Dict[str, Path]) -> Set[str]:
    """The modules of the package that ``name`` imports, anywhere in its file."""
    package = name.split('.') if path.name == '__init__.py' else name.split('.')[:-1]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        targets: List[str] = []
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - (node.level - 1)] + (node.module.split('.') if node.module else [])
            elif node.module and node.module.split('.')[0] == 'mtkd_rl':
                base = node.module.split('.')
            else:
                continue
            targets = ['.'.join(base)] + ['.'.join(base + [a.name]) for a in node.names]
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names if a.name.split('.')[0] == 'mtkd_rl']
        for target in targets:
            while target and target not in modules:  # ``import mtkd_rl.x.y`` of a name inside a module
                target = target.rpartition('.')[0]
            if target and target != name and not name.startswith(target + '.'):
                out.add(target)
    return out


def _graph() -> Dict[str, Set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _cycles(edges: Dict[str, Set[str]]) -> List[List[str]]:
    """Cycles among modules, ignoring the edges from a package to its own submodules (its re-exports): a
    submodule importing a sibling through the package is not a cycle."""
    def own(a: str, b: str) -> bool:
        return b.startswith(a + '.')

    found, state, stack = [], {}, []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for n in sorted(edges[m]):
            if own(m, n):
                continue
            if state.get(n) == 1:
                found.append(stack[stack.index(n):] + [n])
            elif n not in state:
                visit(n)
        stack.pop()
        state[m] = 2

    for m in sorted(edges):
        if m not in state:
            visit(m)
    return found


def test_no_two_modules_import_each_other():
    edges = _graph()
    assert 'mtkd_rl.tasks.detection.losses.dispatch' in edges  # the walk sees the package's modules
    assert _cycles(edges) == []


def test_the_check_finds_a_cycle_hidden_in_a_function():
    edges = {'p.a': {'p.b'}, 'p.b': {'p.a'}, 'p': {'p.a', 'p.b'}}
    assert _cycles(edges) == [['p.a', 'p.b', 'p.a']]


def test_weighting_imports_no_task_distiller_or_toolbox():
    for path in (PACKAGE / 'weighting').rglob('*.py'):
        source = path.read_text()
        for node in ast.walk(ast.parse(source)):
            names = []
            if isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                assert not name.startswith(('mtkd_rl.tasks', 'mtkd_rl.distillers', 'mtkd_rl.hooks', 'mmdet',
                                            'mmseg', 'mmpretrain')), f'{osp.relpath(path, REPO)} imports {name}'
