"""Every shipped run configuration (gkmvlp/configs/*.json) resolves and validates as the CLIs would load it:
a typo in a key or a bad value fails here, not minutes into a background run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gkmvlp.train.config import resolve

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "gkmvlp" / "configs").glob("*.json"))


def test_the_configs_folder_holds_run_configurations():
    assert len(CONFIGS) >= 10


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_each_run_configuration_resolves_and_validates(path: Path):
    data = json.loads(path.read_text())
    stage = "pretrain" if "pretrain" in path.name else "finetune"
    data.update(stage=stage, data="synth", out="run")
    # the run scripts pass --steps; a pre-training's image-only phase must fit inside them
    data.setdefault("steps", data.get("image_only_steps", 0) + 1)
    if stage == "finetune":
        data["init_from"] = "pretrain"
    if data.get("real_ssl"):
        data["real_corpus"] = "corpus"
    cfg = resolve(data)
    assert cfg.validate() == [], path.name


def test_a_misspelt_key_is_rejected_with_its_name():
    with pytest.raises(Exception, match="real_source_weight"):
        resolve({"stage": "finetune", "data": "d", "out": "o", "init_from": "p", "real_source_weight": {"jsrt": 2}})
