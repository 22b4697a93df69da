"""Cleaning up around a request: scratch directories removed and stray processes killed.

``remove_tree`` and ``empty_directory`` never follow a symbolic link and restore the write
permission a program may have taken away; ``kill_strays`` sends SIGKILL to every process the
executor can signal but itself and its ancestors. Standard library only.
"""

from __future__ import annotations

import os
import signal
import stat
import time

__all__ = ["empty_directory", "kill_strays", "remove_tree"]


def remove_tree(path: str) -> None:
    """Remove ``path`` even when a program made parts of it unreadable or read-only; never
    follows a symbolic link (as root, a chmod through a link would change its target)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(info.st_mode):
        os.unlink(path)
        return
    _make_writable(path)
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        _empty_directory(fd)
    finally:
        os.close(fd)
    os.rmdir(path)


def _make_writable(path: str, dir_fd: int | None = None) -> None:
    try:
        info = os.lstat(path, dir_fd=dir_fd)
        if stat.S_ISDIR(info.st_mode):
            os.chmod(path, stat.S_IRWXU, dir_fd=dir_fd)
    except OSError:
        pass


def _empty_directory(fd: int) -> None:
    """Remove everything inside the open directory ``fd`` (entries by descriptor: no link followed)."""
    for name in os.listdir(fd):
        try:
            info = os.lstat(name, dir_fd=fd)
        except FileNotFoundError:
            continue
        if stat.S_ISDIR(info.st_mode):
            _make_writable(name, fd)
            inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            try:
                _empty_directory(inner)
            finally:
                os.close(inner)
            os.rmdir(name, dir_fd=fd)
        else:
            os.unlink(name, dir_fd=fd)


def empty_directory(path: str) -> bool:
    """Remove everything under ``path`` (kept itself); True when it is empty afterwards."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return False
    try:
        try:
            _empty_directory(fd)
        except OSError:
            pass
        return not os.listdir(fd)
    finally:
        os.close(fd)


def kill_strays() -> None:
    """SIGKILL every process this one can signal but itself and its ancestors (in Lambda: what
    a program may have left; in the local namespace: everything but the executor)."""
    keep = set()
    pid = os.getpid()
    while pid > 0:
        keep.add(pid)
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                pid = int(f.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    for _ in range(3):  # a process may appear while we look: a few passes
        found = False
        for entry in os.listdir("/proc"):
            if entry.isdigit() and int(entry) not in keep:
                try:
                    os.kill(int(entry), signal.SIGKILL)
                    found = True
                except (ProcessLookupError, PermissionError):
                    pass
        if not found:
            break
        _reap()


def _reap() -> None:
    end = time.monotonic() + 0.5
    while time.monotonic() < end:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.002)
