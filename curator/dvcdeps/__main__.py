"""python -m curator.dvcdeps [--check] [--links] [--write] (see curator/dvcdeps/__init__.py)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import yaml

from curator.dvcdeps import FAMILY_DIR, check, report, rewrite, write_links
from curator.dvcdeps import __doc__ as DOC


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m curator.dvcdeps", description=(DOC or "").split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare with ./dvc.yaml and the family links")
    parser.add_argument("--links", action="store_true", help=f"(re)write {FAMILY_DIR}/<recipe> symlinks")
    parser.add_argument("--write", action="store_true", help="rewrite the code deps of ./dvc.yaml (and the links)")
    args = parser.parse_args(argv)
    root = Path.cwd()
    if args.write:
        dvc_yaml = root / "dvc.yaml"
        dvc_yaml.write_text(rewrite(dvc_yaml.read_text(encoding="utf-8")), encoding="utf-8")
        print(f"rewrote the code deps of {dvc_yaml}")
    if args.links or args.write:
        for link in write_links(root):
            print(f"{link.relative_to(root)} -> {os.readlink(link)}")
    if args.check:
        problems = check(root)
        for p in problems:
            print(p, file=sys.stderr)
        return 1 if problems else 0
    if not (args.links or args.write):
        print(yaml.safe_dump(report(), sort_keys=False), end="")
    return 0


sys.exit(main())
