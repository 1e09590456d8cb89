"""OpenBLAS kernel selection from CPU flags (gkmvlp/blas.py)."""

import os
import subprocess
import sys
from pathlib import Path

from gkmvlp import blas

TRAINING = Path(__file__).resolve().parents[1]


def test_avx512_bf16_cpu_gets_cooperlake_kernels():
    flags = "fpu sse2 avx2 fma avx512f avx512dq avx512bw avx512vl avx512_bf16 amx_tile".split()
    assert blas.pick_coretype(flags) == "COOPERLAKE"


def test_avx512_without_bf16_gets_skylakex_and_avx2_gets_haswell():
    assert blas.pick_coretype("avx2 fma avx512f avx512dq avx512bw avx512vl".split()) == "SKYLAKEX"
    assert blas.pick_coretype("sse2 avx avx2 fma".split()) == "HASWELL"


def test_unknown_cpu_leaves_the_choice_to_openblas(tmp_path):
    assert blas.pick_coretype("sse2 sse3".split()) is None
    env: dict[str, str] = {}
    blas.configure(env, cpuinfo=tmp_path / "missing")
    assert env == {"OPENBLAS_NUM_THREADS": "1"}


def test_configure_reads_flags_and_keeps_values_the_caller_set(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu avx2 fma avx512f avx512dq avx512bw avx512vl\n")
    env: dict[str, str] = {}
    blas.configure(env, cpuinfo=info)
    assert env == {"OPENBLAS_NUM_THREADS": "1", "OPENBLAS_CORETYPE": "SKYLAKEX"}
    env = {"OPENBLAS_CORETYPE": "HASWELL", "OPENBLAS_NUM_THREADS": "2"}
    blas.configure(env, cpuinfo=info)
    assert env == {"OPENBLAS_CORETYPE": "HASWELL", "OPENBLAS_NUM_THREADS": "2"}


def test_cli_package_sets_openblas_before_torch_loads():
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENBLAS")}
    code = (
        "import os, sys, gkmvlp.cli.pretrain; "
        "print(os.environ.get('OPENBLAS_NUM_THREADS'), os.environ.get('OPENBLAS_CORETYPE', '-'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=TRAINING, env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out[0] == "1"
    assert out[1] == (blas.pick_coretype(blas.cpu_flags()) or "-")
