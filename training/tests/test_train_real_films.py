"""Fine-tuning on real films beside the synthetic set: unknown labels are masked, anatomy masks
become region boxes, closed questions come from the known labels, and the reports' decoder never
learns from films that have no report."""

import json
from collections import Counter

import numpy as np
import pytest
import torch
from PIL import Image

from gkmvlp.data.synthetic.vqa import NOUN
from gkmvlp.ontology import LABEL_INDEX, REGION_INDEX
from gkmvlp.train.real_batches import build_real_tensors, closed_questions, concat, read_corpus

MICRO = {
    "size": "tiny",
    "image_size": 64,
    "dim": 32,
    "heads": 2,
    "vit_depth": 1,
    "text_layers": 1,
    "gk_layers": 1,
    "fusion_layers": 1,
    "decoder_layers": 1,
    "max_length": 48,
    "num_answers": 16,
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    (root / "images").mkdir()
    (root / "masks").mkdir()
    rows = []
    rng = np.random.default_rng(0)
    for i in range(8):
        Image.fromarray(rng.integers(0, 255, (80, 64), dtype=np.uint8)).save(root / "images" / f"f{i}.png")
        row = {
            "id": f"src:f{i}",
            "source": "test/fake",
            "source_commit": None,
            "source_path": f"f{i}.png",
            "source_sha256": "0" * 64,
            "image": f"images/f{i}.png",
            "width": 64,
            "height": 80,
            "orig_width": 64,
            "orig_height": 80,
            "patient": f"p{i}",
            "patient_known": True,
            "split": "train" if i < 6 else "test",
            "view": "PA" if i != 5 else "lateral",
            "frontal": i != 5,
            "labels": {"Pneumonia": i % 2, "No Finding": 1 - i % 2},
            "masks": {},
            "licence": "test",
            "dhash": "0" * 64,
        }
        if i == 0:
            m = np.zeros((80, 64), np.uint8)
            m[10:70, 4:30] = 255  # image left = the patient's right lung
            Image.fromarray(m).save(root / "masks" / "f0_right_lung.png")
            row["masks"] = {"right lung": "masks/f0_right_lung.png"}
            row["labels"] = {"Lung Lesion": 1}
        rows.append(row)
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


def test_read_corpus_keeps_frontal_films_of_the_split(corpus):
    rows = read_corpus(corpus, "train")
    assert [r["id"] for r in rows] == ["src:f0", "src:f1", "src:f2", "src:f3", "src:f4"]  # f5 is lateral


def test_real_tensors_mask_unknown_labels_and_box_the_anatomy(corpus):
    from gkmvlp.model.config import preset
    from gkmvlp.tokenizer import WordPieceTokenizer

    cfg = preset("tiny", **{k: v for k, v in MICRO.items() if k != "size"})
    tok = WordPieceTokenizer.train(
        ["is there pneumonia", "is this chest x ray normal", "a lung lesion"], vocab_size=200
    )
    ts = build_real_tensors(corpus, read_corpus(corpus, "train"), cfg, tok, ["yes", "no"])
    known, labels = ts.arrays["label_known"], ts.arrays["labels"]
    assert (
        known[0].sum() == 1 and known[0, LABEL_INDEX["Lung Lesion"]] == 1 and labels[0, LABEL_INDEX["Lung Lesion"]] == 1
    )
    assert known[1, LABEL_INDEX["Edema"]] == 0 and labels[1, LABEL_INDEX["Edema"]] == 0  # unknown, not "absent"
    r = REGION_INDEX["right lung"]
    assert ts.arrays["region_visible"][0, r] == 1 and ts.arrays["region_visible"][1, r] == 0
    x1, y1, x2, y2 = ts.arrays["region_boxes"][0, r].tolist()
    # 80 x 64 film letterboxed to 80 x 80: 8 px pad left; mask columns 4..30, rows 10..70
    assert (x1, y1, x2, y2) == pytest.approx((12 / 80, 10 / 80, 38 / 80, 70 / 80), abs=1e-6)
    assert ts.arrays["has_report"].sum() == 0
    assert all(a in ("yes", "no") for _, a, _ in ts.qa_text)


def test_closed_questions_follow_known_labels_only():
    qs = closed_questions({"Pneumonia": 1, "No Finding": 0}, np.random.default_rng(0))
    assert {(a, k) for _, a, k in qs} == {("yes", LABEL_INDEX["Pneumonia"]), ("no", LABEL_INDEX["No Finding"])}


def test_closed_questions_draw_absent_findings_at_random_not_in_a_fixed_order():
    normal = {"No Finding": 1, **{lab: 0 for lab in NOUN}}
    asked = Counter()
    for seed in range(200):
        qs = closed_questions(normal, np.random.default_rng(seed))
        assert len(qs) == 3 and [a for _, a, _ in qs] == ["no", "no", "yes"]
        asked.update(k for _, _, k in qs[:2])
    assert len(asked) == len(NOUN)  # every finding gets asked about, none dominates
    assert max(asked.values()) < 3 * min(asked.values())
    sick = {"No Finding": 0, "Edema": 1, "Cardiomegaly": 1, "Pneumothorax": 1, "Fracture": 0, "Atelectasis": 0}
    qs = closed_questions(sick, np.random.default_rng(0))
    assert [a for _, a, _ in qs] == ["yes", "yes", "no", "no", "no"]


def test_finetune_on_synthetic_and_real_films_runs_and_skips_reportless_films_in_the_decoder(corpus, tmp_path):
    from micro_runs import micro_base, micro_synth, pretrain_then_finetune

    base = micro_base(micro_synth(tmp_path), dict(MICRO))
    ft = pretrain_then_finetune(
        tmp_path, base, corpus, {"steps": 3, "decoder_steps": 2, "real_share": 0.5, "loss": {"lm": 0.0}}
    )
    blob = torch.load(ft, map_location="cpu")
    assert blob["step"] == 5 and blob["config"]["real_corpus"] == str(corpus)


def test_concat_keeps_question_records_pointing_at_their_films(corpus):
    from gkmvlp.model.config import preset
    from gkmvlp.tokenizer import WordPieceTokenizer

    cfg = preset("tiny", **{k: v for k, v in MICRO.items() if k != "size"})
    tok = WordPieceTokenizer.train(["is there pneumonia"], vocab_size=100)
    a = build_real_tensors(corpus, read_corpus(corpus, "train")[:2], cfg, tok, ["yes", "no"])
    b = build_real_tensors(corpus, read_corpus(corpus, "train")[2:], cfg, tok, ["yes", "no"])
    c = concat(a, b)
    assert len(c) == 5 and int(c.qa_record.max()) == 4 and len(c.qa_text) == len(a.qa_text) + len(b.qa_text)


def test_anatomy_head_learns_from_real_masks_only(corpus):
    from gkmvlp.model import GKMVLP
    from gkmvlp.model.config import LossWeights, preset
    from gkmvlp.model.heads import ANATOMY
    from gkmvlp.model.losses import compute_losses
    from gkmvlp.tokenizer import WordPieceTokenizer

    cfg = preset("tiny", **{k: v for k, v in MICRO.items() if k != "size"}, anatomy_head=True, anatomy_subcells=2)
    tok = WordPieceTokenizer.train(["is there pneumonia"], vocab_size=100)
    cfg.vocab_size = tok.vocab_size
    ts = build_real_tensors(corpus, read_corpus(corpus, "train"), cfg, tok, ["yes", "no"])
    grid = cfg.grid * 2
    assert ts.arrays["anatomy_masks"].shape == (5, len(ANATOMY), grid, grid)
    assert ts.arrays["anatomy_known"][0].tolist() == [1, 0, 0, 0, 0] and ts.arrays["anatomy_known"][1].sum() == 0
    # the mask covers columns 4..30 of a 64-wide film letterboxed into 80: the left part of the grid
    cov = ts.arrays["anatomy_masks"][0, 0]
    assert cov[:, : grid // 4].sum() > cov[:, grid // 2 :].sum() == 0
    model = GKMVLP.build(cfg, tok)
    w = LossWeights(itc=0, itm=0, lm=0, ecls=0, ground=0, mask=0, box=0, vqa=0, evidence=0, anatomy=1.0)
    with_mask = compute_losses(model, ts.batch([0, 1]), w)["anatomy"]
    without = compute_losses(model, ts.batch([1, 2]), w)["anatomy"]
    assert float(with_mask) > 0 and float(without) == 0


def test_rare_real_positives_weigh_more_within_the_cap_and_unknown_entries_count_for_nothing():
    from gkmvlp.model.losses import masked_bce
    from gkmvlp.train.loop import real_pos_weight

    labels = np.zeros((100, 3), np.float32)
    known = np.ones((100, 3), np.float32)
    labels[:4, 0] = 1  # 4 of 100: sqrt(96 / 4) = 4.9
    labels[:50, 1] = 1  # balanced: 1
    known[:, 2] = 0  # never known: 1
    labels[:99, 2] = 1
    w = real_pos_weight(labels, known, cap=10.0)
    assert np.allclose(w, [np.sqrt(96 / 4), 1.0, 1.0])
    assert real_pos_weight(labels, known, cap=3.0)[0] == 3.0
    logits = torch.zeros(2, 3)
    y = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    k = torch.tensor([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0]])
    plain = masked_bce(logits, y, k)
    weighted = masked_bce(logits, y, k, torch.tensor([3.0, 1.0, 100.0]))
    # the one positive of label 0 counts 3 times; label 2's weight touches nothing because it is unknown
    assert torch.isclose(weighted, plain * (3 + 1 + 1 + 1) / 4)


def test_source_weights_share_the_real_draws_in_proportion_and_every_film_is_drawn():
    from gkmvlp.train.config import TrainConfig
    from gkmvlp.train.loop import real_draws

    ids = [f"nih:{i}" for i in range(10)] + [f"nih128:{i}" for i in range(90)]
    idx = np.arange(500, 600)
    cfg = TrainConfig(stage="finetune", data="d", out="o", init_from="p", real_source_weights={"nih": 9.0})
    draws = real_draws(idx, ids, 1000, cfg)
    src = Counter(ids[i - 500].split(":")[0] for i in draws)
    # 10 films of weight 9 against 90 of weight 1: half of the draws each
    assert abs(src["nih"] - 500) <= 10 and abs(src["nih128"] - 500) <= 10
    assert set(draws.tolist()) == set(idx.tolist())
    assert np.array_equal(draws, real_draws(idx, ids, 1000, cfg))  # the same list on resume
    plain = real_draws(idx, ids, 1000, TrainConfig(stage="finetune", data="d", out="o", init_from="p"))
    assert Counter(ids[i - 500].split(":")[0] for i in plain) == {"nih": 100, "nih128": 900}
    assert TrainConfig(stage="finetune", data="d", out="o", init_from="p", real_source_weights={"x": 0}).validate()
