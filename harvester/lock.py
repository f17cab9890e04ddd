"""One harvest at a time per archive: `harvest.lock` in the archive folder.

The lock is an `fcntl.flock` on the file, which the kernel drops when the process ends
however it ends (SIGKILL, OOM, power cut), so a killed run never leaves a lock behind:
the next run simply gets it ("takes it over"). The file holds the holder's pid, written
after locking, so a second run can say who is running. The file itself stays (removing a
flock'ed file races with a third process opening it); it is emptied on a clean release,
so a pid left in it means the last holder was killed. flock works on local filesystems;
on NFS use a local archive folder or wrap the job in flock(1) on a local path.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from harvester.errors import TryLater

LOCK_NAME = "harvest.lock"


class LockHeld(TryLater):
    """Another live process holds the lock; `pid` is its pid (None if it wrote none yet)."""

    def __init__(self, path: Path, pid: int | None) -> None:
        self.path = path
        self.pid = pid
        holder = f"pid {pid}" if pid is not None else "pid unknown"
        super().__init__(f"another harvest is running ({holder}, lock {path}); try later")


class HarvestLock:
    """`with HarvestLock(folder) as lock:`; `lock.stale_pid` is the pid a killed holder
    left in the file (None when the last run released it cleanly, or there was none)."""

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / LOCK_NAME
        self.stale_pid: int | None = None
        self._fd: int | None = None

    def acquire(self) -> HarvestLock:
        """Take the lock or raise LockHeld naming the holder; never waits."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _read_pid(fd)
            os.close(fd)
            raise LockHeld(self.path, pid) from None
        except BaseException:
            os.close(fd)
            raise
        self.stale_pid = _read_pid(fd)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        os.fsync(fd)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)  # closing the last descriptor drops the flock

    def __enter__(self) -> HarvestLock:
        return self.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 64, 0).decode("ascii", errors="replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def pid_alive(pid: int | None) -> bool:
    """Whether a process with this pid exists (a zombie or another user's counts)."""
    if pid is None or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
