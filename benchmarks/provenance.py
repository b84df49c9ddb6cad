"""What every benchmark record opens with: which run, when, how, and where.

Each benchmark starts its JSON record with :func:`record_header`, so that every
file in ``docs/results/`` says the same things under the same keys: the
benchmark's name, its seed, the date, the command line that ran it, the commit
of the code, the versions of the packages and the machine. The renderers
(``report.py`` and the ``table`` functions) read those keys. Records written
before this module keep the layout they were written in.
"""

# SPDX-License-Identifier: BSD-3-Clause

import os
import platform
import shlex
import subprocess
import sys
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Distributions whose versions every record holds; a benchmark adds its own.
PACKAGES = ("skae", "numpy", "scipy", "scikit-learn", "torch", "skorch")


def record_header(
    benchmark, *, seed, threads=None, device="cpu", packages=(), command=None
):
    """Return the fields that open a benchmark's record.

    Call it when the run starts: the date and the load average are taken then.

    Parameters
    ----------
    benchmark : str
        The benchmark's name (``"compare"``, ``"conv"``, ...).

    seed : int
        The seed the run was given.

    threads : int or None, default=None
        Threads the run computes on; None records torch's
        (``torch.get_num_threads()``), which the caller has set.

    device : str, default="cpu"
        The torch device of the run; a CUDA device adds the GPU's name.

    packages : sequence of str, default=()
        Distributions whose versions are recorded beside `PACKAGES`.

    command : str or None, default=None
        The command line to record; None records the one that started this
        process (:func:`command_line`).

    Returns
    -------
    header : dict
        ``benchmark``, ``seed``, ``created`` (UTC, ISO 8601), ``command``,
        ``commit``, ``versions`` (Python and the packages; None for one not
        installed) and ``hardware`` (platform, CPU, cores, memory, threads,
        ``OMP_NUM_THREADS``, device, load average at the start).
    """
    import torch

    if threads is None:
        threads = torch.get_num_threads()
    versions = {"python": platform.python_version()}
    for package in (*PACKAGES, *packages):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = None
    hardware = {
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "threads": threads,
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
        "device": device,
    }
    if torch.device(device).type == "cuda":
        hardware["gpu"] = torch.cuda.get_device_name(device)
    hardware["load_average_at_start"] = load_average()
    return {
        "benchmark": benchmark,
        "seed": seed,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": command_line() if command is None else command,
        "commit": _commit(),
        "versions": versions,
        "hardware": hardware,
    }


def command_line(argv=None):
    """The command that started this process, as typed from the repository root.

    ``python -m benchmarks.bench_x`` leaves the module's file in ``argv[0]``:
    it is written back as the module, so that the command runs again as
    recorded. Any other command is recorded as it was given.

    Parameters
    ----------
    argv : list of str or None, default=None
        The command's words; None uses ``sys.argv``.

    Returns
    -------
    command : str
        The words joined as a shell would read them (``shlex.join``).
    """
    argv = sys.argv if argv is None else argv
    script = Path(argv[0]).resolve() if argv and argv[0] else None
    if (
        script is not None
        and script.suffix == ".py"
        and script.is_relative_to(ROOT / "benchmarks")
    ):
        module = ".".join(script.relative_to(ROOT).with_suffix("").parts)
        argv = ["python", "-m", module.removesuffix(".__main__"), *argv[1:]]
    return shlex.join(argv)


def load_average():
    """The 1, 5 and 15-minute load averages, rounded: how busy the machine is."""
    return [round(x, 2) for x in os.getloadavg()]


def _commit():
    """The checkout's commit; ``+changes`` when skae or benchmarks differ from it.

    None outside a git checkout, or without git.
    """

    def git(*args):
        return subprocess.run(
            ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        commit = git("rev-parse", "--short", "HEAD")
        # Edited and new files alike: the code that ran is not the commit's.
        changed = git("status", "--porcelain", "--", "skae", "benchmarks")
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit + ("+changes" if changed else "")


def _cpu_model():
    """The CPU's model name, from /proc/cpuinfo where there is one."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib():
    """The machine's memory in GiB, from /proc/meminfo; None where unknown."""
    try:
        with open("/proc/meminfo") as meminfo:
            return round(int(meminfo.readline().split()[1]) / 2**20, 1)
    except (OSError, ValueError, IndexError):
        return None


def add_threads_argument(parser, help="torch and BLAS threads (default 1)"):
    """Add the ``--threads`` option every benchmark takes (default 1)."""
    parser.add_argument("--threads", type=int, default=1, help=help)


def use_threads(n_threads):
    """Limit torch's and the BLAS libraries' thread pools to `n_threads`,
    before any work starts (they read the setting at their first parallel
    call)."""
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(n_threads)
    threadpool_limits(n_threads)
