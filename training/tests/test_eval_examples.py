"""Example grid for the model card (gkmvlp/eval/examples.py) and the evaluate CLI's --examples flag."""

import json
from dataclasses import asdict

import numpy as np
import pytest
import torch
from PIL import Image

from gkmvlp.cli import evaluate as evaluate_cli
from gkmvlp.eval.examples import choose_examples, plot_examples
from gkmvlp.model import GKMVLP, preset
from gkmvlp.ontology import LABEL_INDEX, LABELS
from gkmvlp.tokenizer import WordPieceTokenizer
from gkmvlp.train.batches import TensorSet, answer_vocab, build_tensors, corpus, read_split
from gkmvlp.train.checkpoint import save

# heatmap_subcells=2: the heatmap grid (8) is finer than the patch grid (4), as in the shipped models
MICRO = dict(
    image_size=64,
    dim=32,
    heads=2,
    vit_depth=1,
    text_layers=1,
    gk_layers=1,
    fusion_layers=1,
    decoder_layers=1,
    max_length=48,
    num_answers=16,
    heatmap_subcells=2,
)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from gkmvlp.data.synthetic import GeneratorConfig, generate_dataset

    torch.manual_seed(0)
    data = generate_dataset(
        GeneratorConfig(image_size=64),
        tmp_path_factory.mktemp("data") / "synth",
        {"train": 4, "val": 4, "test": 10},
        seed=5,
        dicom_subset=0,
        progress=False,
    )
    recs = read_split(data, "train") + read_split(data, "test")
    tok = WordPieceTokenizer.train(corpus(recs), vocab_size=300)
    answers = answer_vocab(recs, 16)
    cfg = preset("tiny", **MICRO)
    model = GKMVLP.build(cfg, tok).eval()
    test = build_tensors(data, read_split(data, "test"), cfg, tok, answers, "test")
    return data, model, tok, answers, test


def fake_set(labels, has_box):
    labels, has_box = torch.tensor(labels, dtype=torch.float32), torch.tensor(has_box, dtype=torch.float32)
    z = torch.zeros(0, 1, dtype=torch.long)
    return TensorSet(
        ids=[f"r{i}" for i in range(len(labels))],
        reports=[""] * len(labels),
        arrays={"labels": labels, "finding_has_box": has_box},
        qa_ids=z,
        qa_mask=z,
        qa_answer=z[:, 0],
        qa_closed=z[:, 0].bool(),
        qa_record=z[:, 0],
        qa_text=[],
    )


def row(*names):
    v = [0.0] * len(LABELS)
    for n in names:
        v[LABEL_INDEX[n]] = 1.0
    return v


def test_choice_prefers_boxed_findings_then_one_normal_and_is_deterministic():
    # 0 normal, 1 boxed, 2 positive without box, 3 boxed, 4 normal, 5 boxed, 6 positive without box
    labels = [
        row("No Finding"),
        row("Pneumothorax"),
        row("Cardiomegaly"),
        row("Edema", "Pleural Effusion"),
        row("No Finding"),
        row("Lung Lesion"),
        row("Fracture"),
    ]
    has = [row(), row("Pneumothorax"), row(), row("Pleural Effusion"), row(), row("Lung Lesion"), row()]
    ts = fake_set(labels, has)
    boxed, normal = {1, 3, 5}, {0, 4}
    for seed in (0, 1, 7):
        pick = choose_examples(ts, 4, seed)
        assert pick == choose_examples(ts, 4, seed)
        assert set(pick[:3]) == boxed and pick[3] in normal
    two = choose_examples(ts, 2, 0)
    assert two[0] in boxed and two[1] in normal
    assert sorted(choose_examples(ts, 20, 0)) == list(range(7))  # never more than the split holds
    only_unboxed = fake_set([row("Cardiomegaly"), row("Edema")], [row(), row()])
    assert sorted(choose_examples(only_unboxed, 3, 0)) == [0, 1]


def test_plot_examples_writes_a_readable_png_with_boxed_findings(setup, tmp_path):
    _, model, tok, _, test = setup
    labels, has = test.arrays["labels"].numpy() > 0.5, test.arrays["finding_has_box"].numpy() > 0.5
    boxed = set(np.flatnonzero((labels & has).any(1)).tolist())
    assert boxed, "the generated test split should have findings with boxes"
    path = tmp_path / "ex" / "examples.png"
    panels = plot_examples(model, tok, test, {"heatmap_threshold": 0.5}, path, n=4, seed=0)
    assert [p["index"] for p in panels] == choose_examples(test, 4, 0)
    assert path.is_file()
    w, h = Image.open(path).size
    assert w >= 1000 and h >= 500, (w, h)  # one row of 4 panels, text under each image
    px = np.asarray(Image.open(path).convert("L"), dtype=np.float32)
    assert px.std() > 10  # not a blank canvas
    first = panels[0]
    assert first["index"] in boxed and first["truly_present"] and first["gt_box"] is not None
    k = LABEL_INDEX[first["label"]]
    assert np.allclose(first["gt_box"], test.arrays["finding_boxes"][first["index"], k].numpy())
    assert has[first["index"], k] and 0.0 <= first["iou"] <= 1.0
    for p in panels:
        assert all(0.0 <= v <= 1.0 for v in p["pred_box"]) and len(p["top3"]) == 3
        assert isinstance(p["generated"], str) and p["reference"] == test.reports[p["index"]]
    # the heatmap grid here (8) is finer than the patch grid (4): boxes land on 1/8 steps
    assert model.cfg.heat_grid == 8 and model.cfg.grid == 4
    assert all(abs(v * 8 - round(v * 8)) < 1e-6 for p in panels for v in p["pred_box"])
    again = plot_examples(model, tok, test, {"heatmap_threshold": 0.5}, tmp_path / "again.png", n=4, seed=0)
    assert [p["id"] for p in again] == [p["id"] for p in panels]


def test_cli_writes_examples_png_only_when_asked(setup, tmp_path, capsys):
    data, model, tok, answers, _ = setup
    ckpt = save(
        tmp_path / "run" / "checkpoint.pt",
        model=model,
        optimizer=None,
        step=0,
        np_rng=np.random.default_rng(0),
        config={"model": asdict(model.cfg)},
        tokenizer=tok,
        answers=answers,
        history=[],
    )
    on, off = tmp_path / "on", tmp_path / "off"
    evaluate_cli.main(["--checkpoint", str(ckpt), "--data", str(data), "--out", str(on), "--examples", "3"])
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (on / "examples.png").is_file() and printed["examples_png"] == str(on / "examples.png")
    assert json.loads((on / "metrics.json").read_text())["examples_png"] == str(on / "examples.png")
    evaluate_cli.main(["--checkpoint", str(ckpt), "--data", str(data), "--out", str(off), "--examples", "0"])
    assert not (off / "examples.png").exists() and (off / "metrics.json").is_file()
    assert "examples_png" not in json.loads((off / "metrics.json").read_text())
