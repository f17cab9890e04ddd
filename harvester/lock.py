"""One harvest at a time per archive: `harvest.lock` in the archive folder.

The lock is an `fcntl.flock` on the file, which the kernel drops when the process ends
however it ends (SIGKILL, OOM, power cut), so a killed run never leaves a lock behind:
the next run simply gets it ("takes it over"). The file holds the holder's pid, written
after locking, so a second run can say who is running. The file itself stays (removing a
flock'ed file races with a third process opening it); it is emptied on a clean release,
so a pid left in it means the last holder was killed. flock works on local filesystems;
on NFS use a local archive folder or wrap the job in flock(1) on a local path.

The file is opened without following a symbolic link and never truncated on opening; it
is used (locked, then emptied and given the pid) only when it is a regular file with one
link: a `harvest.lock` someone made a link to another file is refused (exit 2), so the
run never empties or overwrites that file.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
from pathlib import Path

from harvester.errors import InputError, TryLater

LOCK_NAME = "harvest.lock"


class LockHeld(TryLater):
    """Another live process holds the lock; `pid` is its pid (None if it wrote none yet)."""

    def __init__(self, path: Path, pid: int | None) -> None:
        self.path = path
        self.pid = pid
        holder = f"pid {pid}" if pid is not None else "pid unknown"
        super().__init__(f"another harvest is running ({holder}, lock {path}); try later")


class LockRefused(InputError):
    """`harvest.lock` is a link or not a plain file: using it could change another file."""


class HarvestLock:
    """`with HarvestLock(folder) as lock:`; `lock.stale_pid` is the pid a killed holder
    left in the file (None when the last run released it cleanly, or there was none)."""

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / LOCK_NAME
        self.stale_pid: int | None = None
        self._fd: int | None = None

    def acquire(self) -> HarvestLock:
        """Take the lock or raise LockHeld naming the holder (LockRefused when the path is a
        link or not a plain file); never waits."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = _open_lock_file(self.path)
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


def _open_lock_file(path: Path) -> int:
    """A descriptor of the lock file itself, created if absent; never through a link."""
    flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise LockRefused(
                f"{path} is a symbolic link; refusing to use it as the harvest lock (remove it)"
            ) from None
        raise LockRefused(
            f"cannot open the harvest lock {path}: {error.strerror or error}"
        ) from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
        os.close(fd)
        what = "has other hard links" if stat.S_ISREG(info.st_mode) else "is not a regular file"
        raise LockRefused(f"{path} {what}; refusing to use it as the harvest lock (remove it)")
    return fd


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
