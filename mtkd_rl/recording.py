"""Watching a model run without changing it: the calls of a method, the outputs of submodules.

The adapters read what a toolbox's own training code computes inside one call (a two-stage detector's FPN
levels, RPN outputs and sampled RoIs in ``TwoStageDetector.loss``; a ViT's tokens before it formats them)
instead of re-implementing that code, and the teacher speedups compare what each part of a teacher returns.
"""
import inspect
from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterator, Mapping

import torch.nn as nn

_MISSING = object()


@contextmanager
def recorded_calls(obj: Any, name: str, record: Callable[[Dict[str, Any], Any], None]) -> Iterator[None]:
    """Call ``record(arguments, result)`` after every call of ``obj.name`` while in the context.

    The method itself runs unchanged; ``arguments`` maps its parameter names to the values of the call. The
    instance attribute that wraps it is removed on exit (an attribute the instance had before is put back).

    Args:
        obj: The object whose method is watched (a module, a head...).
        name: The method's name.
        record: ``f(arguments, result)``.
    """
    method = getattr(obj, name)
    signature = inspect.signature(method)

    def wrapper(*args, **kwargs):
        result = method(*args, **kwargs)
        record(dict(signature.bind(*args, **kwargs).arguments), result)
        return result

    own = vars(obj).get(name, _MISSING)
    object.__setattr__(obj, name, wrapper)
    try:
        yield
    finally:
        if own is _MISSING:
            del vars(obj)[name]
        else:
            object.__setattr__(obj, name, own)


@contextmanager
def recorded_outputs(modules: Mapping[str, nn.Module], record: Callable[[str, Any], None]) -> Iterator[None]:
    """Call ``record(name, output)`` after every forward call of each module of ``modules`` while in the
    context (PyTorch forward hooks, removed on exit).

    Args:
        modules: The modules to watch, by name.
        record: ``f(name, output)``.
    """
    handles = [module.register_forward_hook(lambda m, args, out, name=name: record(name, out))
               for name, module in modules.items()]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()
