"""available_cpus: gunicorn's worker count follows the container's CPU quota and affinity.

Each case is a fake /proc and /sys tree in tmp_path, laid out as Linux lays them out.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.cpus import available_cpus, cgroup_cpu_limit

V2_MOUNT = "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"


def fake_tree(root: Path, cgroup: str, mountinfo: str, files: dict[str, str]) -> Path:
    (root / "proc/self").mkdir(parents=True)
    (root / "proc/self/cgroup").write_text(cgroup)
    (root / "proc/self/mountinfo").write_text(mountinfo)
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")
    return root


@pytest.mark.parametrize(
    ("cpu_max", "expected"),
    [("200000 100000", 2), ("150000 100000", 2), ("50000 100000", 1), ("max 100000", None),
     ("", None), ("garbage", None)],
)
def test_cgroup_v2_quota_in_a_container(tmp_path, cpu_max, expected):
    """docker run --cpus=N with its own cgroup namespace: the process sits at the root."""
    root = fake_tree(tmp_path, "0::/\n", V2_MOUNT, {"sys/fs/cgroup/cpu.max": cpu_max})
    assert cgroup_cpu_limit(root) == expected


def test_cgroup_v2_limit_on_an_ancestor_applies(tmp_path):
    """Kubernetes: the pod's cgroup holds the limit, the container's below it says max."""
    root = fake_tree(tmp_path, "0::/kubepods/pod1/c1\n", V2_MOUNT, {
        "sys/fs/cgroup/kubepods/cpu.max": "max 100000",
        "sys/fs/cgroup/kubepods/pod1/cpu.max": "300000 100000",
        "sys/fs/cgroup/kubepods/pod1/c1/cpu.max": "max 100000",
    })
    assert cgroup_cpu_limit(root) == 3
    assert available_cpus(root, affinity=16) == 3


@pytest.mark.parametrize(
    ("mount_root", "folder"),
    [("/docker/abc", "sys/fs/cgroup/cpu,cpuacct"),  # the container sees only its cgroup
     ("/", "sys/fs/cgroup/cpu,cpuacct/docker/abc")],  # the host's whole hierarchy
)
def test_cgroup_v1_quota(tmp_path, mount_root, folder):
    mountinfo = (f"40 31 0:36 {mount_root} /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup "
                 "rw,cpu,cpuacct\n"
                 "41 31 0:37 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n")
    root = fake_tree(tmp_path, "5:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n", mountinfo, {
        f"{folder}/cpu.cfs_quota_us": "250000",
        f"{folder}/cpu.cfs_period_us": "100000",
    })
    assert cgroup_cpu_limit(root) == 3
    assert available_cpus(root, affinity=2) == 2  # the affinity mask is smaller still


def test_cgroup_v1_without_a_quota(tmp_path):
    mountinfo = "32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n" + V2_MOUNT
    root = fake_tree(tmp_path, "1:cpu:/\n0::/\n", mountinfo, {
        "sys/fs/cgroup/cpu/cpu.cfs_quota_us": "-1",
        "sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000",
    })
    assert cgroup_cpu_limit(root) is None
    assert available_cpus(root, affinity=6) == 6


def test_no_cgroup_information_falls_back_to_the_affinity_mask(tmp_path):
    assert cgroup_cpu_limit(tmp_path) is None
    assert available_cpus(tmp_path, affinity=4) == 4
    assert available_cpus(tmp_path, affinity=0) == 1


def test_this_machine():
    cpus = available_cpus()
    assert 1 <= cpus <= (os.cpu_count() or 1)
    if hasattr(os, "sched_getaffinity"):
        assert cpus <= len(os.sched_getaffinity(0))
