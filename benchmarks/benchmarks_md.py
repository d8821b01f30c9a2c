"""Shared by the benchmark scripts: a description of the machine, and
replacing one script's section of BENCHMARKS.md while leaving the others alone."""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path

BENCHMARKS_MD = Path(__file__).resolve().parent.parent / "BENCHMARKS.md"


def machine() -> str:
    """Cores, CPU model, RAM, Python and torch versions, as the results tables quote them."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "RAM unknown"
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        ram = f"{kb / 1024 ** 2:.0f} GB RAM"
    except (OSError, AttributeError):
        pass
    import torch

    return (f"{os.cpu_count()} cores ({cpu}), {ram}, no GPU; Python {platform.python_version()}, "
            f"torch {torch.__version__} ({torch.get_num_threads()} threads)")


def replace_section(heading: str, body: str, path: Path = BENCHMARKS_MD) -> None:
    """Replace the section that starts with ``heading`` (a ``## `` line) by ``body``, or append it."""
    from pipeline.atomic import write_text

    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _m: body.rstrip("\n") + "\n\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + body
    write_text(path, text.rstrip("\n") + "\n")
