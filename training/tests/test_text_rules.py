"""The labeller's rules as bundle data and the cross-language cases (docs/contracts/mention-cases.json)."""

import json
import re
from pathlib import Path

from gkmvlp.cli.mention_rules import cases_text, upgrade_bundle
from gkmvlp.text import patterns as P
from gkmvlp.text.rules import CASE_SENTENCES, mention_cases, mention_rules

ROOT = Path(__file__).resolve().parents[2]
# Python-only syntax that ECMAScript would reject or read differently
PYTHON_ONLY = re.compile(r"\(\?P|\(\?[aiLmsux]|\\[AZ]|\(\?#|\(\?\(")


def test_checked_in_cases_are_what_the_labeller_finds_today():
    assert (ROOT / "docs" / "contracts" / "mention-cases.json").read_text() == cases_text(), (
        "stale: python -m gkmvlp.cli.mention_rules --cases ../docs/contracts/mention-cases.json"
    )


def test_cases_cover_every_label_and_status():
    cases = mention_cases()
    assert len(cases) == len(CASE_SENTENCES)
    found = [m for c in cases for m in c["mentions"]]
    assert {m["status"] for m in found} == {"positive", "negative", "uncertain"}
    assert {m["label"] for m in found} == set(P.MENTIONS)
    assert any(c["mentions"] == [] for c in cases), "an excluded mention (a bone lesion) is among the cases"


def test_rules_are_the_labellers_patterns_in_the_shared_syntax():
    rules = mention_rules()
    assert rules["mentions"] == P.MENTIONS and rules["pre_negation"] == P.PRE_NEG.pattern
    every = [rx for rxs in rules["mentions"].values() for rx in rxs] + list(rules["exclude_before"].values())
    every += [rules[k] for k in ("scope_break", "pre_negation", "post_negation", "pre_uncertainty", "post_uncertainty")]
    for rx in every:
        re.compile(rx)
        assert not PYTHON_ONLY.search(rx), rx
    assert json.loads(json.dumps(rules)) == rules


def test_upgrading_a_bundle_adds_only_the_rules_and_is_idempotent(tmp_path):
    manifest = {"format_version": 2, "name": "x", "files": {"vocab.txt": "0" * 64}}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest, indent=2))
    assert upgrade_bundle(tmp_path) == "added"
    after = json.loads((tmp_path / "manifest.json").read_text())
    assert after.pop("mention_rules") == mention_rules() and after == manifest
    assert upgrade_bundle(tmp_path) == "unchanged"


def test_shipped_bundles_carry_mention_rules():
    for path in sorted((ROOT / "models").glob("*/manifest.json")):
        rules = json.loads(path.read_text()).get("mention_rules")
        assert rules and rules["version"] == 1 and rules["mentions"], path
