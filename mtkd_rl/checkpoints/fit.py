"""Whether a checkpoint holds the weights of a model, and whose weights it holds when it does not.

mmengine loads a checkpoint non-strictly: a checkpoint of another model only warns about size mismatches
and leaves the model's random initialisation in place, so a test with the wrong file reports chance-level
metrics. :func:`check_weights_fit` stops that before the test starts.
"""
import os.path as osp
import re
from collections import Counter
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import torch
from torch import nn

from .files import CheckpointError

#: Buffers that checkpoints of older toolbox versions may lack; their absence changes no result.
OPTIONAL_KEYS = ('num_batches_tracked', )


def checkpoint_state(checkpoint: Mapping[str, Any],
                     revise_keys: Sequence[Tuple[str, str]] = ()) -> Dict[str, Any]:
    """The checkpoint's ``state_dict`` (or the checkpoint itself when it is one), keys revised as mmengine's
    ``load_checkpoint(revise_keys=...)`` does."""
    state = checkpoint.get('state_dict', checkpoint)
    out = {}
    for key, value in state.items():
        for pattern, replacement in revise_keys:
            key = re.sub(pattern, replacement, key)
        out[key] = value
    return out


def describe_checkpoint(checkpoint: Mapping[str, Any]) -> str:
    """Whose weights a checkpoint holds, in words: a distiller's, an exported student's or a plain model's,
    the run that saved it, and its key groups with their tensor counts."""
    state = checkpoint.get('state_dict', checkpoint)
    meta = checkpoint.get('meta') or {}
    keys = [k for k in state if isinstance(k, str)]
    if any(k.startswith('student.') for k in keys):
        kind = 'a MultiTeacherDistiller checkpoint (the student under student.*)'
    elif meta.get('exported_from'):
        kind = f'a student exported from a {meta["exported_from"].split(".")[-1]}'
    else:
        kind = 'a plain model checkpoint'
    if meta.get('experiment_name'):
        kind += f', saved by the run {meta["experiment_name"]}'
    groups = Counter(k.split('.')[0] for k in keys)
    listed = ', '.join(f'{g}.* ({n})' for g, n in groups.most_common(6))
    return f'{kind}; {len(keys)} tensors: {listed}'


def weight_mismatch(model: nn.Module, state: Mapping[str, Any]) -> Tuple[List[str], List[Tuple[str, tuple, tuple]]]:
    """The model's tensors that ``state`` lacks, and those it holds with another shape.

    Args:
        model: The model to load into.
        state: A state dict with keys as the model names them.

    Returns:
        ``(missing, mismatched)``: missing keys, and ``(key, checkpoint shape, model shape)`` triples.
    """
    missing, mismatched = [], []
    for key, tensor in model.state_dict().items():
        if key not in state:
            if not key.endswith(OPTIONAL_KEYS):
                missing.append(key)
        elif isinstance(state[key], torch.Tensor) and tuple(state[key].shape) != tuple(tensor.shape):
            mismatched.append((key, tuple(state[key].shape), tuple(tensor.shape)))
    return missing, mismatched


def check_weights_fit(model: nn.Module,
                      checkpoint: Mapping[str, Any],
                      path: str,
                      expected: str,
                      revise_keys: Sequence[Tuple[str, str]] = (),
                      known: Optional[Mapping[str, str]] = None) -> None:
    """Raise unless ``checkpoint`` holds every tensor of ``model`` with its shape.

    Extra tensors (a distiller's connectors, say) are allowed.

    Args:
        model: The model the checkpoint is loaded into.
        checkpoint: The loaded checkpoint.
        path: Its file, for the message.
        expected: What the checkpoint should hold, for the message (e.g. "the student of CONFIG").
        revise_keys: ``(pattern, replacement)`` pairs applied to its keys before comparing, as in mmengine's
            ``load_checkpoint``.
        known: Files the config names, by absolute path, with what they are (e.g. a teacher's checkpoint);
            the message says when ``path`` is one of them.

    Raises:
        CheckpointError: Tensors are missing or have other shapes; the message says whose weights the
            checkpoint holds and which tensors differ.
    """
    missing, mismatched = weight_mismatch(model, checkpoint_state(checkpoint, revise_keys))
    if not missing and not mismatched:
        return
    total = len(model.state_dict())
    found = []
    if mismatched:
        key, theirs, ours = mismatched[0]
        found.append(f'{len(mismatched)} of its {total} tensors have another shape (e.g. {key}: '
                     f'{list(theirs)} in the checkpoint, {list(ours)} in the model)')
    if missing:
        found.append(f'{len(missing)} of its {total} tensors are missing (e.g. {", ".join(missing[:3])})')
    message = (f'the checkpoint {path} does not hold the weights of {expected}: {" and ".join(found)}. It is '
               f'{describe_checkpoint(checkpoint)}.')
    what = (known or {}).get(osp.abspath(path))
    if what:
        message += f' The config names this file as {what}.'
    raise CheckpointError(message)
