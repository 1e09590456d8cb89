"""Model shapes, per-objective gradients, and that a few optimizer steps lower the loss."""

import pytest
import torch

from gkmvlp.model import GKMVLP, LossWeights, preset
from gkmvlp.model.config import ConfigError, ModelConfig, from_dict
from gkmvlp.model.decoding import beam_search, greedy
from gkmvlp.model.losses import compute_losses, evidence_loss

torch.set_num_threads(2)
MICRO = dict(
    image_size=64,
    patch_size=16,
    dim=32,
    heads=2,
    vit_depth=1,
    text_layers=1,
    gk_layers=1,
    fusion_layers=1,
    decoder_layers=1,
    vocab_size=60,
    max_length=16,
    question_max_length=8,
    knowledge_max_length=8,
    num_answers=6,
)


def micro(**kw):
    return preset("tiny", **{**MICRO, **kw})


def fake_batch(cfg, b=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    lo = torch.rand(b, 29, 2, generator=g) * 0.5
    labels = (torch.rand(b, 14, generator=g) > 0.6).float()
    labels[:, 2] = torch.tensor([1.0, 0.0] * (b // 2))
    regions = torch.zeros(b, 14, 29)
    regions[:, 2, 24] = 1
    masks = torch.zeros(b, 14, cfg.heat_grid, cfg.heat_grid)
    masks[labels[:, 2] > 0, 2, 1:3, 1:3] = 1
    ids = torch.randint(5, cfg.vocab_size, (b, cfg.max_length), generator=g)
    ids[:, 0] = 2
    ids[:, -1] = 3
    return dict(
        pixel_values=torch.randn(b, 1, cfg.image_size, cfg.image_size, generator=g),
        region_boxes=torch.cat([lo, lo + 0.3], -1),
        region_visible=torch.ones(b, 29),
        labels=labels,
        finding_regions=regions * labels[..., None],
        finding_masks=masks,
        report_ids=ids,
        report_mask=torch.ones_like(ids),
        report_group=torch.arange(b),
        question_ids=ids[:, : cfg.question_max_length],
        question_mask=torch.ones(b, cfg.question_max_length, dtype=torch.long),
        answer_idx=torch.arange(b) % cfg.num_answers,
        question_label=torch.arange(b) % 14,
    )


def test_image_side_shapes_and_grounding_rows_sum_to_one():
    cfg = micro()
    m = GKMVLP(cfg).eval()
    o = m.encode_image(torch.randn(3, 1, 64, 64))
    assert o["global_embedding"].shape == (3, 32)
    assert o["patch_tokens"].shape == (3, cfg.num_patches, 32)
    assert o["region_boxes"].shape == (3, 29, 4) and o["region_tokens"].shape == (3, 29, 32)
    assert o["knowledge_tokens"].shape == (3, 14, 32) and o["grounding_weights"].shape == (3, 14, 29)
    assert torch.allclose(o["grounding_weights"].sum(-1), torch.ones(3, 14), atol=1e-5)
    b = o["region_boxes"]
    assert (b[..., 2] >= b[..., 0]).all() and (b >= 0).all() and (b <= 1).all()
    assert m.heatmap_logits(o["patch_tokens"], o["knowledge_tokens"]).shape == (3, 14, cfg.heat_grid, cfg.heat_grid)
    assert m.classify_logits(o["global_embedding"], o["knowledge_tokens"]).shape == (3, 14)


def test_ablation_has_uniform_grounding_and_same_outputs_shapes():
    m = GKMVLP(micro(gk_module=False)).eval()
    o = m.encode_image(torch.randn(2, 1, 64, 64))
    assert torch.allclose(o["grounding_weights"], torch.full((2, 14, 29), 1 / 29))
    assert o["knowledge_tokens"].shape == (2, 14, 32)


def test_kv_cached_step_matches_full_decoder():
    cfg = micro()
    m = GKMVLP(cfg).eval()
    mem = torch.randn(2, 43, 32)
    ids = torch.randint(5, 60, (2, 6))
    full = m.decoder(ids, torch.ones_like(ids), mem)
    pk, pv = m.decoder.empty_cache(2)
    for t in range(6):
        logits, pk, pv = m.decoder.step(ids[:, t : t + 1], torch.full((2,), t), mem, pk, pv)
        assert torch.allclose(logits, full[:, t], atol=1e-5)
    assert pk.shape == (1, 2, 2, 6, 16)
    assert len(greedy(m.decoder, mem, 5)) == 2 and len(beam_search(m.decoder, mem[:1], 3, 5)) <= 5


# objective -> parameters (name prefixes) it must reach
REACH = {
    "itc": ["vision.", "text.", "img_proj.", "txt_proj.", "logit_scale"],
    "itm": ["fusion.", "itm_head.", "text.", "gk."],
    "lm": ["decoder.", "gk.", "regions.feat", "presence"],
    "ecls": ["cls_head.", "gk.", "vision."],
    "ground": ["gk.layers.0.cattn", "regions.feat"],
    "mask": ["loc_head.", "gk."],
    "box": ["regions.box", "regions.queries", "vision."],
    "vqa": ["vqa_head.", "vqa_know.", "vqa_query.", "vqa_keys", "fusion.", "text.", "evidence."],
    "evidence": ["evidence.", "vision."],
}


@pytest.mark.parametrize("term", sorted(REACH))
def test_each_objective_produces_gradient_where_it_should(term):
    cfg = micro()
    torch.manual_seed(0)
    m = GKMVLP(cfg)
    w = LossWeights(**{k: (1.0 if k == term else 0.0) for k in LossWeights().__dict__})
    losses = compute_losses(m, fake_batch(cfg), w)
    assert torch.isfinite(losses["total"]) and float(losses[term]) > 0
    losses["total"].backward()
    grads = {n: p.grad for n, p in m.named_parameters()}
    for prefix in REACH[term]:
        hit = [n for n, g in grads.items() if n.startswith(prefix) and g is not None and g.abs().sum() > 0]
        assert hit, f"{term} gives no gradient to {prefix}"


def test_vqa_pointer_learns_which_finding_a_question_names():
    cfg = micro()
    torch.manual_seed(0)
    m = GKMVLP(cfg)
    batch = fake_batch(cfg)
    opt = torch.optim.Adam([p for n, p in m.named_parameters() if n.startswith(("vqa_query", "vqa_keys"))], lr=0.05)
    w = LossWeights(**{k: (1.0 if k == "vqa" else 0.0) for k in LossWeights().__dict__})
    for _ in range(60):
        opt.zero_grad()
        compute_losses(m, batch, w)["total"].backward()
        opt.step()
    q = m.text(batch["question_ids"], batch["question_mask"])[:, 0]
    assert torch.equal(m.vqa_pointer(q).argmax(-1), batch["question_label"])


def test_gk_module_off_drops_grounding_term():
    cfg = micro(gk_module=False)
    losses = compute_losses(GKMVLP(cfg), fake_batch(cfg), LossWeights())
    assert float(losses["ground"]) == 0.0 and float(losses["total"]) > 0


def test_a_few_optimizer_steps_lower_the_loss():
    cfg = micro()
    torch.manual_seed(0)
    m = GKMVLP(cfg)
    batch = fake_batch(cfg, b=4)
    opt = torch.optim.AdamW(m.parameters(), lr=3e-3)
    w = LossWeights(itm=0.0)  # ITM samples negatives at random: keep the check deterministic
    first = None
    for _ in range(12):
        loss = compute_losses(m, batch, w, teacher_forcing=True)["total"]
        first = float(loss) if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(compute_losses(m, batch, w, teacher_forcing=True)["total"]) < 0.8 * first


def test_config_rejects_unknown_keys_and_wrong_types_listing_all():
    with pytest.raises(ConfigError) as e:
        from_dict(ModelConfig, {"dimm": 3, "heads": "four", "gk_module": 1})
    msg = str(e.value)
    assert "dimm" in msg and "heads" in msg and "gk_module" in msg
    with pytest.raises(ConfigError, match="not a multiple"):
        preset("tiny", image_size=100)
    with pytest.raises(ConfigError, match="unknown model size"):
        preset("huge")


def test_knowledge_tokens_carry_the_pooled_evidence_of_each_finding():
    m = GKMVLP(micro()).eval()
    o = m.encode_image(torch.randn(2, 1, 64, 64))
    added = o["knowledge_tokens"] - o["knowledge_base"]
    assert torch.allclose(added, torch.sigmoid(o["evidence_logits"])[..., None] * m.presence, atol=1e-6)
    told = m.with_presence(o, torch.ones(2, 14))
    assert torch.allclose(told - o["knowledge_base"], m.presence.expand(2, -1, -1), atol=1e-6)
    # the exported heatmap is the localization head (repeated over each patch's sub-cells) plus the evidence map
    h = m.heatmap_logits(o["patch_tokens"], o["knowledge_tokens"])
    loc = m.loc_head(o["patch_tokens"], o["knowledge_tokens"])
    s = m.cfg.heatmap_subcells
    assert torch.allclose(h - loc.repeat_interleave(s, 2).repeat_interleave(s, 3), o["evidence_maps"], atol=1e-5)


def test_each_patch_token_decodes_its_own_sub_cells_of_the_evidence_map():
    m = GKMVLP(micro()).eval()
    cfg, s = m.cfg, m.cfg.heatmap_subcells
    assert s > 1 and cfg.heat_grid == cfg.grid * s
    patches = torch.zeros(1, cfg.num_patches, cfg.dim)
    patches[0, cfg.grid + 2] = torch.randn(cfg.dim)  # patch at row 1, column 2
    maps = m.evidence.maps(patches)
    base = m.evidence.maps(torch.zeros_like(patches))
    changed = torch.nonzero((maps - base).abs().amax(1)[0] > 1e-6).tolist()
    assert changed and all(r // s == 1 and c // s == 2 for r, c in changed)


def test_evidence_loss_prefers_maps_that_peak_where_the_finding_is():
    labels = torch.zeros(1, 14)
    labels[0, 10] = 1.0  # Pleural Effusion, drawn in one corner cell (partly covered)
    masks = torch.zeros(1, 14, 4, 4)
    masks[0, 10, 3, 0] = 0.3
    right = torch.full((1, 14, 4, 4), -6.0)
    right[0, 10, 3, 0] = 6.0
    wrong = torch.full((1, 14, 4, 4), -6.0)
    wrong[0, 10, 0, 3] = 6.0
    pooled = torch.logsumexp(right.flatten(2), -1) - torch.log(torch.tensor(16.0))
    assert float(evidence_loss(right, pooled, labels, masks)) < float(evidence_loss(wrong, pooled, labels, masks))
    # "No Finding" has no map target: any map for it costs the same
    other = right.clone()
    other[0, 0] = 5.0
    assert torch.isclose(evidence_loss(right, pooled, labels, masks), evidence_loss(other, pooled, labels, masks))


def test_model_without_evidence_head_keeps_the_contract_shapes():
    m = GKMVLP(micro(evidence_head=False)).eval()
    o = m.encode_image(torch.randn(2, 1, 64, 64))
    assert "evidence_logits" not in o and o["knowledge_tokens"].shape == (2, 14, 32)
    assert float(compute_losses(m, fake_batch(m.cfg), LossWeights())["evidence"]) == 0.0
