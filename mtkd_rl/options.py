"""Build-time checks of config options: one error format that names the config key and what it takes.

A config or the command line (``--cfg-options``) can give any value: ``'false'`` for a boolean, ``1`` for a
choice, ``'0.1'`` for a number. Python treats a non-empty string as true, so an unchecked boolean option set to
``'no'`` silently turns on. Every option of the weightings, losses, hooks, adapters and tools goes through these
helpers before anything is built.
"""
import math
import numbers
from typing import Any, Optional, Sequence, Tuple


class OptionError(ValueError, TypeError):
    """A config option of the wrong type or out of range. The message names the key and the fix.

    Both a ``ValueError`` and a ``TypeError``, so callers may catch either.

    Args:
        key: The option's config key, e.g. ``'model.weighting.correctness_gate'``, or ``'LogitKL.temperature'``
            where the component does not know its place in the config (see :meth:`under`).
        detail: What the option must be and what it got, e.g. ``'must be > 0, got 0.0'``.
    """

    def __init__(self, key: str, detail: str) -> None:
        super().__init__(f'{key} {detail}')
        self.key, self.detail = key, detail

    def __reduce__(self):
        return OptionError, (self.key, self.detail)

    @property
    def located(self) -> bool:
        """Whether :attr:`key` is a full config key (``model.``, ``custom_hooks``, ...), not a component's."""
        return not self.key.split('.', 1)[0][:1].isupper()

    def under(self, prefix: str) -> 'OptionError':
        """The same error with the component's name replaced by its config key: ``LogitKL.temperature`` under
        ``model.task.logit_loss`` is ``model.task.logit_loss.temperature``. A located error stays as it is."""
        if self.located:
            return self
        option = self.key.split('.', 1)[1] if '.' in self.key else self.key
        return OptionError(f'{prefix}.{option}', self.detail)


def _shown(value: Any) -> str:
    return f'{value!r} ({type(value).__name__})'


def check_bool(value: Any, key: str) -> bool:
    """Return ``value`` if it is ``True`` or ``False``.

    Args:
        value: The option's value.
        key: The config key, e.g. ``'model.weighting.correctness_gate'``.

    Raises:
        OptionError: For anything else, strings such as ``'false'`` and numbers such as ``0`` included.
    """
    if isinstance(value, bool):
        return value
    hint = ''
    if isinstance(value, str) and value.strip().lower() in ('true', 'false', 'yes', 'no', 'on', 'off', '0', '1'):
        hint = f' (a string is not a boolean: write {key}=True or {key}=False)'
    raise OptionError(key, f'must be True or False, got {_shown(value)}{hint}')


def check_choice(value: Any, choices: Sequence[Any], key: str) -> Any:
    """Return ``value`` if it is one of ``choices``.

    Raises:
        OptionError: Naming the key and every choice.
    """
    if isinstance(value, bool) or not any(type(value) is type(c) and value == c for c in choices):
        listed = ', '.join(repr(c) for c in choices)
        raise OptionError(key, f'must be one of {listed}, got {_shown(value)}')
    return value


def _check_range(number, key: str, minimum, maximum, min_inclusive: bool, what: str):
    low_ok = minimum is None or (number >= minimum if min_inclusive else number > minimum)
    high_ok = maximum is None or number <= maximum
    if low_ok and high_ok:
        return number
    bounds = []
    if minimum is not None:
        bounds.append(f'{">=" if min_inclusive else ">"} {minimum}')
    if maximum is not None:
        bounds.append(f'<= {maximum}')
    raise OptionError(key, f'must be {what} {" and ".join(bounds)}, got {number!r}')


def check_int(value: Any, key: str, minimum: Optional[int] = None, maximum: Optional[int] = None) -> int:
    """Return ``value`` if it is an integer (not a bool) in ``[minimum, maximum]``.

    Raises:
        OptionError: Naming the key, the bounds and the value.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        bounds = f' >= {minimum}' if minimum is not None else ''
        raise OptionError(key, f'must be an integer{bounds}, got {_shown(value)}')
    return _check_range(int(value), key, minimum, maximum, True, 'an integer')


def check_number(value: Any, key: str, minimum: Optional[float] = None, maximum: Optional[float] = None,
                 min_inclusive: bool = True) -> float:
    """Return ``value`` as a float if it is a finite real number (not a bool) in range.

    Args:
        value: The option's value.
        key: The config key.
        minimum: The lower bound, or None.
        maximum: The upper bound (inclusive), or None.
        min_inclusive: Whether ``minimum`` itself is allowed (False: strictly greater, e.g. a temperature).

    Raises:
        OptionError: Naming the key, the bounds and the value.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise OptionError(key, f'must be a finite number, got {_shown(value)}')
    return _check_range(float(value), key, minimum, maximum, min_inclusive, 'a number')


def check_pair(value: Any, key: str) -> Tuple[float, float]:
    """Return ``value`` as ``(low, high)`` if it is a list or tuple of two finite numbers with ``low < high``.

    Raises:
        OptionError: Naming the key.
    """
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise OptionError(key, f'must be a pair (low, high), got {_shown(value)}')
    low = check_number(value[0], f'{key}[0]')
    high = check_number(value[1], f'{key}[1]')
    if not low < high:
        raise OptionError(key, f'must be (low, high) with low < high, got {tuple(value)!r}')
    return low, high


def check_size(value: Any, key: str) -> Tuple[int, int]:
    """Return ``value`` as ``(h, w)`` if it is a list or tuple of two positive integers (an image size).

    Raises:
        OptionError: Naming the key.
    """
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise OptionError(key, f'must be an image size (h, w) of two integers, got {_shown(value)}')
    return check_int(value[0], f'{key}[0]', minimum=1), check_int(value[1], f'{key}[1]', minimum=1)
