"""How many CPUs this process may really use, for sizing gunicorn's worker pool.

``os.cpu_count()`` is the host's count. In a container the usable share is smaller: the CPU
affinity mask (``--cpuset-cpus``) and the cgroup CPU quota (``--cpus``, a Kubernetes CPU
limit) both bound it. :func:`available_cpus` takes the smallest of the three; a fractional
quota is rounded up (1.5 CPUs -> 2 workers: a sync worker also waits on the network).

The cgroup files are found the way the kernel describes them: ``/proc/self/cgroup`` names the
process's cgroup in each hierarchy and ``/proc/self/mountinfo`` where each hierarchy is
mounted. Limits are read in that cgroup and in every ancestor up to the mount (a parent's
limit bounds its children). cgroup v2 writes ``cpu.max`` ("max 100000" or "150000 100000");
v1 writes ``cpu.cfs_quota_us`` (-1: none) and ``cpu.cfs_period_us``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path, PurePosixPath


def available_cpus(root: str | os.PathLike = "/", affinity: int | None = None) -> int:
    """CPUs this process may use: min(affinity mask, cgroup quota, host count), at least 1.

    ``root`` is where ``/proc`` and ``/sys`` are found (tests pass a fake tree); ``affinity``
    overrides the size of this process's affinity mask (tests again).
    """
    if affinity is None:
        affinity = _affinity_count()
    limit = cgroup_cpu_limit(root)
    return max(1, min(affinity, limit) if limit is not None else affinity)


def cgroup_cpu_limit(root: str | os.PathLike = "/") -> int | None:
    """The cgroup CPU quota in whole CPUs (rounded up), or None when there is none (or no
    cgroup information can be read)."""
    root = Path(root)
    quotas = [
        quota
        for folders, version in _cgroup_folders(root)
        for quota in _quotas_upwards(folders, version)
    ]
    return max(1, math.ceil(min(quotas))) if quotas else None


def _affinity_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None


def _cgroup_folders(root: Path) -> Iterator[tuple[tuple[Path, Path], int]]:
    """((this process's cgroup folder, its mount point), cgroup version) for each hierarchy
    that holds CPU limits: the v2 unified one and the v1 ``cpu`` controller."""
    memberships = _read(root / "proc/self/cgroup") or ""
    mounts = _read(root / "proc/self/mountinfo") or ""
    paths: dict[str, str] = {}  # "v2" or "cpu" -> the process's cgroup path
    for line in memberships.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        hierarchy, controllers, path = parts
        if hierarchy == "0" and controllers == "":
            paths["v2"] = path
        elif "cpu" in controllers.split(","):
            paths["cpu"] = path
    for line in mounts.splitlines():
        fields, _, fs = line.partition(" - ")
        fields_list, fs_list = fields.split(), fs.split()
        if len(fields_list) < 5 or len(fs_list) < 3:
            continue
        mount_root, mount_point, fstype = fields_list[3], fields_list[4], fs_list[0]
        if fstype == "cgroup2" and "v2" in paths:
            key, version = "v2", 2
        elif fstype == "cgroup" and "cpu" in fs_list[2].split(",") and "cpu" in paths:
            key, version = "cpu", 1
        else:
            continue
        mounted_at = root / mount_point.lstrip("/")
        yield (mounted_at / _relative(paths.pop(key), mount_root), mounted_at), version


def _relative(path: str, mount_root: str) -> str:
    """The cgroup path below the mount's root ("" when the mount shows only our own cgroup,
    as in a container with its own cgroup namespace)."""
    relative = PurePosixPath(path).relative_to("/")
    try:
        return str(relative.relative_to(PurePosixPath(mount_root).relative_to("/")))
    except ValueError:
        return ""


def _quotas_upwards(folders: tuple[Path, Path], version: int) -> Iterator[float]:
    """Each CPU quota (in CPUs) set on the cgroup or any ancestor up to the mount point."""
    folder, mount_point = folders
    while True:
        quota = _quota(folder, version)
        if quota is not None:
            yield quota
        if folder == mount_point or mount_point not in folder.parents:
            return
        folder = folder.parent


def _quota(folder: Path, version: int) -> float | None:
    if version == 2:
        words = (_read(folder / "cpu.max") or "").split()
        if len(words) != 2 or words[0] == "max":
            return None
        quota, period = words
    else:
        quota, period = _read(folder / "cpu.cfs_quota_us"), _read(folder / "cpu.cfs_period_us")
    try:
        quota_us, period_us = int(quota), int(period)
    except (TypeError, ValueError):
        return None
    return quota_us / period_us if quota_us > 0 and period_us > 0 else None
