#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""docs/operations.md must list every (category, code) pair the library
logs, and nothing it no longer logs.

usage: check_operations.py <source root>
Reads every goio_log(...) call in src/ (category macros such as
GOIO__HTTP_CAT resolved from their #define) and the table rows
"| category | `code` | ..." of docs/operations.md.
"""
import glob
import os
import re
import sys

# Records core emits without a goio_log call (the rate limit's summary).
EMITTED_ELSEWHERE = {("core", "log_suppressed")}


def emitted(root):
    macros = {}
    for path in glob.glob(os.path.join(root, "src", "**", "*.h"), recursive=True):
        for m in re.finditer(r'#define\s+(GOIO__\w+)\s+"(\w+)"', open(path).read()):
            macros[m.group(1)] = m.group(2)
    pairs = set(EMITTED_ELSEWHERE)
    for path in glob.glob(os.path.join(root, "src", "**", "*.c"), recursive=True):
        text = open(path).read()
        for m in re.finditer(r"\bgoio_log\((.*?)\);", text, flags=re.S):
            args = m.group(1)
            if "goio_log_level level" in args:  # the definition itself
                continue
            # level, category, code: the second and third arguments
            parts = [p.strip() for p in re.split(r",(?![^()]*\))", args)]
            cat, code = parts[1], parts[2]
            cat = macros.get(cat, cat).strip('"')
            codes = re.findall(r'"(\w+)"', code)
            if not re.fullmatch(r"\w+", cat) or not codes:
                sys.exit(f"{path}: cannot read the category/code of goio_log({args[:80]}...)")
            for c in codes:
                pairs.add((cat, c))
    return pairs


def documented(root):
    text = open(os.path.join(root, "docs", "operations.md")).read()
    return set(re.findall(r"^\| (\w+) \| `(\w+)` \|", text, flags=re.M))


def main():
    root = sys.argv[1]
    have, doc = emitted(root), documented(root)
    missing = sorted(have - doc)
    stale = sorted(doc - have)
    for cat, code in missing:
        print(f"docs/operations.md lacks {cat} {code} (logged in src/)")
    for cat, code in stale:
        print(f"docs/operations.md lists {cat} {code}, which src/ never logs")
    print(f"{len(have)} (category, code) pairs logged, {len(doc)} documented")
    return 1 if missing or stale else 0


if __name__ == "__main__":
    sys.exit(main())
