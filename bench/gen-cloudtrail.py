#!/usr/bin/env python3
"""Writes N CloudTrail records as NDJSON, drawn (seeded, so the file is the same every run)
from the real records under shared/data/logs: Stratus Red Team detonations, the invictus-ir
S3 objects and the OTRF EC2 capture.

usage: gen-cloudtrail.py DATA_DIR N SEED OUT
"""
import json
import os
import random
import sys


def records(path):
    with open(path, "rb") as f:
        text = f.read()
    try:
        doc = json.loads(text)
        if isinstance(doc, dict):
            items = doc.get("Records", [doc])
        elif isinstance(doc, list):
            items = doc
        else:
            items = []
    except ValueError:
        items = [json.loads(line) for line in text.splitlines() if line.strip()]
    return [r for r in items if isinstance(r, dict) and "eventSource" in r]


def main():
    data, n, seed, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    logs = os.path.join(data, "logs")
    texts = []
    for root in ["stratus-red-team", "invictus-ir-aws", "otrf"]:
        base = os.path.join(logs, root)
        for dirpath, _, files in sorted(os.walk(base)):
            for name in sorted(files):
                if not name.endswith(".json"):
                    continue
                for r in records(os.path.join(dirpath, name)):
                    texts.append(json.dumps(r, separators=(",", ":"), sort_keys=False).encode() + b"\n")
    rng = random.Random(seed)
    with open(out, "wb") as f:
        for _ in range(n):
            f.write(texts[rng.randrange(len(texts))])
    print(f"{n} records drawn from {len(texts)} distinct ones -> {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
