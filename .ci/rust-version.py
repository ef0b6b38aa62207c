#!/usr/bin/env python3
"""Fails unless Cargo.toml's rust-version is the highest rust-version among
the locked dependencies: the oldest Rust that can really build lanchat."""
import json
import subprocess
import sys

metadata = json.loads(subprocess.check_output(
    ["cargo", "metadata", "--locked", "--format-version", "1"]))
ours = set(metadata["workspace_members"])


def version(text):
    return tuple(int(part) for part in text.split("."))[:2]


needed = max(
    (version(p["rust_version"]), p["name"], p["version"])
    for p in metadata["packages"]
    if p["id"] not in ours and p.get("rust_version"))
declared = next(p["rust_version"] for p in metadata["packages"] if p["id"] in ours)
need_text = ".".join(map(str, needed[0]))
if version(declared) != needed[0]:
    sys.exit(f"Cargo.toml says rust-version = {declared}, but {needed[1]} {needed[2]} "
             f"needs {need_text}: set rust-version = \"{need_text}\"")
print(f"rust-version {declared} matches the locked dependencies ({needed[1]} {needed[2]})")
