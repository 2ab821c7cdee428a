#!/usr/bin/env bash
# The declared `rust-version` ([workspace.package] in Cargo.toml) must be at least the highest
# `rust-version` of the locked dependency tree (every package of Cargo.lock cargo metadata
# resolves, on every platform), so that it is the real minimum: a toolchain older than that
# cannot build kyso. No second toolchain is needed: the packages declare what they need.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo metadata --locked --format-version 1 | python3 -c '
import json, sys
meta = json.load(sys.stdin)
members = set(meta["workspace_members"])
def ver(s):
    return tuple(int(x) for x in s.split("."))
def show(v):
    return ".".join(str(x) for x in v)
declared = {ver(p["rust_version"]) for p in meta["packages"] if p["id"] in members}
needed = [(ver(p["rust_version"]), p["name"] + " " + p["version"])
          for p in meta["packages"] if p["id"] not in members and p.get("rust_version")]
top = max(v for v, _ in needed)
who = ", ".join(sorted(n for v, n in needed if v == top))
if len(declared) != 1:
    sys.exit("workspace members declare different rust-versions: " + ", ".join(map(show, declared)))
(mine,) = declared
# 1.88 and 1.88.0 are the same release.
pad = lambda v: v + (0,) * (3 - len(v))
if pad(mine) < pad(top):
    sys.exit(f"rust-version {show(mine)} is lower than the locked dependencies need: {show(top)} ({who})")
print(f"rust-version {show(mine)}: the locked dependencies need at most {show(top)} ({who})")
'
