"""The comparison harness's processes: one study per folder, and no training run outliving its study.

A study trains each run as a child process. Two studies on one folder would start two ``train.py --resume`` in
the same run folder, both writing one log and rotating each other's checkpoints away; a study stopped while a
run trains must not leave that run behind to collide with the next study. Hence:

- :class:`StudyLock`, an exclusive ``flock`` on ``<study>/.study.lock`` that the study's runs inherit, so the
  folder stays locked until the last process of a stopped study has ended;
- each run in its own process group, the whole group stopped when the study is interrupted
  (:func:`stop_process_group`, :func:`stop_on_sigterm`), and told by the kernel to stop when the study
  dies without a chance to clean up, e.g. on SIGKILL (:func:`stop_with_parent`, Linux).

The driver, ``weighting_study.py`` beside this file, imports it as a sibling module on ``sys.path``.
"""
import ctypes
import errno
import fcntl
import os
import os.path as osp
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from typing import Iterator, Optional

#: The lock file in a study's folder.
LOCK_FILE = '.study.lock'
#: How long a study waits for the runs of a study that was killed to end before it gives up, in seconds.
ORPHAN_WAIT_S = 60.0
#: How long a stopped run gets to end after SIGTERM before SIGKILL, in seconds.
STOP_GRACE_S = 20.0


class StudyBusyError(RuntimeError):
    """Another study (or the runs of one that was killed) holds the study folder."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class StudyLock:
    """An exclusive lock on a study folder, held from ``__enter__`` to ``__exit__`` and by the processes that
    inherit :attr:`fd`.

    If the folder is locked by a live study, :meth:`__enter__` raises at once, naming its pid. If the study
    that holds it is gone but its runs still hold the lock (they are being stopped), it waits up to
    ``wait_s`` seconds for them.

    Args:
        folder: The study folder (created if missing).
        wait_s: The longest wait for the runs of a killed study.
    """

    def __init__(self, folder: str, wait_s: float = ORPHAN_WAIT_S) -> None:
        self.folder = folder
        self.path = osp.join(folder, LOCK_FILE)
        self.wait_s = wait_s
        self.fd: Optional[int] = None

    def _holder(self) -> Optional[int]:
        try:
            with open(self.path) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def __enter__(self) -> 'StudyLock':
        os.makedirs(self.folder, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as error:
                if error.errno not in (errno.EAGAIN, errno.EACCES):
                    os.close(fd)
                    raise
            holder = self._holder()
            if holder is not None and holder != os.getpid() and _alive(holder):
                os.close(fd)
                raise StudyBusyError(
                    f'{self.folder} is in use by another comparison (pid {holder}): two studies on one folder '
                    f'would train the same runs at once. Wait for it to finish, stop it (kill {holder}; its runs '
                    f'stop with it), or give this study another --work-dir')
            if time.monotonic() > deadline:
                os.close(fd)
                raise StudyBusyError(
                    f'{self.folder} is still locked {self.wait_s:.0f} s after the comparison that held it '
                    f'(pid {holder}) ended: one of its training runs has not stopped. Find it with '
                    f'`fuser {self.path}` and stop it, then run the study again')
            time.sleep(0.5)
        os.ftruncate(fd, 0)
        os.write(fd, f'{os.getpid()}\n'.encode())
        self.fd = fd
        return self

    def __exit__(self, *exc) -> None:
        if self.fd is not None:
            os.close(self.fd)  # the lock ends when no process holds the file any more
            self.fd = None


def stop_with_parent() -> None:
    """In a child before ``exec``: have the kernel send it SIGTERM when the process that started it dies
    (Linux's ``PR_SET_PDEATHSIG``; a no-op elsewhere)."""
    if not sys.platform.startswith('linux'):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)


def stop_process_group(proc: subprocess.Popen, grace_s: float = STOP_GRACE_S) -> None:
    """Stop a child started with ``start_new_session=True`` and everything in its process group: SIGTERM, then
    SIGKILL after ``grace_s`` seconds."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass


@contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """Turn SIGTERM into ``KeyboardInterrupt`` for the block (main thread only), so that a study stopped by
    ``kill`` stops its run as Ctrl-C does."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f'stopped by signal {signum}')

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
