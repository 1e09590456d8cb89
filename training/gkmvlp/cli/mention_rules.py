"""The labeller's mention rules as bundle data, and the cross-language parity cases:

python -m gkmvlp.cli.mention_rules --cases ../docs/contracts/mention-cases.json
    writes what labeller.py finds in each case sentence (the worker's tests must find the same)
python -m gkmvlp.cli.mention_rules --upgrade-bundle ../models/NAME [...]
    adds `mention_rules` to a bundle exported before the rules travelled in the manifest. Only that
    section changes (graphs, vocabulary and golden files are untouched); the bundle hash, which is the
    sha256 of manifest.json, changes with it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ._common import main_wrapper, print_json


def cases_text() -> str:
    from ..text.rules import mention_cases

    return (
        json.dumps({"generated_by": "python -m gkmvlp.cli.mention_rules --cases", "cases": mention_cases()}, indent=2)
        + "\n"
    )


def upgrade_bundle(bundle: Path) -> str:
    """Adds or refreshes `mention_rules` in bundle/manifest.json; returns 'added', 'unchanged' or 'updated'."""
    from ..text.rules import mention_rules

    path = bundle / "manifest.json"
    text = path.read_text()
    manifest = json.loads(text)
    rules = mention_rules()
    before = manifest.get("mention_rules")
    if before == rules:
        return "unchanged"
    manifest["mention_rules"] = rules
    tmp = path.with_suffix(".json.tmp")
    # the exporter's layout (indent 2), so that the diff of a shipped manifest shows only the new section
    tmp.write_text(json.dumps(manifest, indent=2) + ("\n" if text.endswith("\n") else ""))
    tmp.replace(path)
    return "added" if before is None else "updated"


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        prog="gkmvlp.cli.mention_rules", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--cases", help="write the parity cases (JSON) to this file")
    p.add_argument("--upgrade-bundle", nargs="*", default=[], help="bundle folders to add mention_rules to")
    args = p.parse_args(argv)

    def body():
        out = {}
        if args.cases:
            Path(args.cases).write_text(cases_text())
            out["cases"] = args.cases
        for b in args.upgrade_bundle:
            out[b] = upgrade_bundle(Path(b))
        print_json(out)

    main_wrapper(body)


if __name__ == "__main__":
    main()
