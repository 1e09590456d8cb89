"""The trial scripts' shared shell functions (gkmvlp/configs/lib.sh), run by bash with a stand-in for the Python
CLIs that records each call; and every run-*.sh script parses."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

CONFIGS = Path(__file__).resolve().parents[1] / "gkmvlp" / "configs"
ROOT = CONFIGS.parents[2]


def bash(body: str, tmp_path: Path, fail_on: str = "") -> subprocess.CompletedProcess:
    """Run `body` after sourcing lib.sh; PY is a script appending its arguments to calls.txt (exit 3 when they
    contain `fail_on`), and a running-jobs counter records how many ran at once."""
    fake = tmp_path / "fake-python"
    fake.write_text(
        "#!/usr/bin/env bash\n"
        f'echo "$*" >> "{tmp_path}/calls.txt"\n'
        f'[ -n "{fail_on}" ] && [[ "$*" == *"{fail_on}"* ]] && exit 3\n'
        "exit 0\n"
    )
    fake.chmod(0o755)
    script = (
        f'set -euo pipefail\nROOT="{ROOT}"; THREADS=1; LOG_TAG=test\nsource "{CONFIGS}/lib.sh"\nPY="{fake}"\n' + body
    )
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)


def calls(tmp_path: Path) -> list[str]:
    f = tmp_path / "calls.txt"
    return f.read_text().splitlines() if f.exists() else []


def test_member_finetunes_runs_both_stages_with_extra_flags_on_the_first_and_resumes_without_rerunning(tmp_path):
    body = f"mkdir -p {tmp_path}/ft {tmp_path}/cont\nmember_finetunes C S 7 INIT {tmp_path}/ft {tmp_path}/cont --image-size 256\n"
    r = bash(body, tmp_path)
    assert r.returncode == 0, r.stderr
    first, second = calls(tmp_path)
    assert "real-finetune-0.5.json" in first and "--init-from INIT" in first and first.endswith("--image-size 256")
    assert "--seed 7" in first and "--steps 3500" in first and "--real-corpus C" in first and "--data S" in first
    assert "real-finetune-jsrt-continue.json" in second and f"--init-from {tmp_path}/ft" in second
    assert "--image-size" not in second and "--steps 600" in second
    assert (tmp_path / "ft" / "DONE").exists() and (tmp_path / "cont" / "DONE").exists()
    assert bash(body, tmp_path).returncode == 0
    assert len(calls(tmp_path)) == 2  # both stages were done: nothing reran


def test_member_finetunes_stops_at_a_failed_stage_and_leaves_no_done_file(tmp_path):
    body = f"mkdir -p {tmp_path}/ft {tmp_path}/cont\nmember_finetunes C S 7 INIT {tmp_path}/ft {tmp_path}/cont\n"
    r = bash(body, tmp_path, fail_on="real-finetune-0.5.json")
    assert r.returncode != 0
    assert len(calls(tmp_path)) == 1
    assert not (tmp_path / "ft" / "DONE").exists() and not (tmp_path / "cont" / "DONE").exists()


@pytest.mark.parametrize("failing", ["a", "d"])
def test_two_at_a_time_runs_every_job_at_most_two_at_once_and_fails_when_any_job_fails(tmp_path, failing):
    # each job notes how many jobs were running when it started; job `failing` exits 1
    body = f"""
job() {{
  mkdir "{tmp_path}/run.$1"
  ls -d "{tmp_path}"/run.* | wc -l >> "{tmp_path}/concurrency.txt"
  sleep 0.3
  rmdir "{tmp_path}/run.$1"
  echo "job $1"
  [ "$1" != "{failing}" ]
}}
if two_at_a_time job "{tmp_path}/log-" a b c d; then echo ALL-OK; else echo SOME-FAILED; fi
"""
    r = bash(body, tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "SOME-FAILED"
    assert all((tmp_path / f"log-{a}.log").read_text().strip() == f"job {a}" for a in "abcd")
    running = [int(x) for x in (tmp_path / "concurrency.txt").read_text().split()]
    assert len(running) == 4 and max(running) == 2


def test_two_at_a_time_succeeds_when_every_job_does(tmp_path):
    r = bash('job() { echo "ok $1"; }\ntwo_at_a_time job "' + str(tmp_path) + '/log-" x y z && echo ALL-OK\n', tmp_path)
    assert r.returncode == 0 and r.stdout.strip() == "ALL-OK", r.stderr


@pytest.mark.parametrize("script", sorted(p.name for p in CONFIGS.glob("*.sh")))
def test_every_trial_script_parses(script):
    r = subprocess.run(["bash", "-n", str(CONFIGS / script)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
