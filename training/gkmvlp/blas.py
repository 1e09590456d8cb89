"""OpenBLAS set-up for torch on CPU; must run before torch is first imported.

Debian's torch does its matrix products through OpenBLAS, whose runtime CPU detection relies on
the CPUID family/model. Virtual machines often report a model OpenBLAS does not know, and it then
falls back to its generic "Prescott" (SSE3) kernels. Measured on this project's 2-core VM (an
AVX-512 Xeon): a [1040x96]·[96x192] product took 1.6-2.2 ms with the detected kernels and
0.29-0.37 ms with OPENBLAS_CORETYPE=COOPERLAKE; a tiny-model training step went from 370 to 205 ms.
So the kernel family is chosen here from the instruction-set flags, which a VM does pass through.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Iterable, MutableMapping
from pathlib import Path

# Most capable first; each entry's flags are what that OpenBLAS kernel family executes.
_CORETYPES: tuple[tuple[str, frozenset[str]], ...] = (
    ("COOPERLAKE", frozenset({"avx512f", "avx512vl", "avx512bw", "avx512dq", "avx512_bf16"})),
    ("SKYLAKEX", frozenset({"avx512f", "avx512vl", "avx512bw", "avx512dq"})),
    ("HASWELL", frozenset({"avx2", "fma"})),
)


def pick_coretype(flags: Iterable[str]) -> str | None:
    """The OpenBLAS core type for a CPU with these /proc/cpuinfo flags (None: let OpenBLAS decide)."""
    have = set(flags)
    for name, needs in _CORETYPES:
        if needs <= have:
            return name
    return None


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str]:
    try:
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def configure(environ: MutableMapping[str, str] = os.environ, cpuinfo: Path = Path("/proc/cpuinfo")) -> None:
    """Pin the OpenBLAS kernels to the CPU's instruction set and BLAS to one thread.

    Values already in the environment win. One BLAS thread: torch's OpenMP pool and OpenBLAS's
    pthread pool each take every core otherwise, and a step ran 2.3x slower oversubscribed.
    """
    wanted = {"OPENBLAS_NUM_THREADS": "1"}
    core = None if "OPENBLAS_CORETYPE" in environ else pick_coretype(cpu_flags(cpuinfo))
    if core:
        wanted["OPENBLAS_CORETYPE"] = core
    missing = {k: v for k, v in wanted.items() if k not in environ}
    if missing and "torch" in sys.modules and environ is os.environ:
        warnings.warn("gkmvlp.blas.configure() ran after torch was imported; OpenBLAS settings ignored", stacklevel=2)
    environ.update(missing)
