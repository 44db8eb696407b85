#!/usr/bin/env python3
"""Summarises bench/posture-vs-prowler.sh: wall time and peak RSS of every run of each tool,
and PASS/FAIL counts per CIS AWS 3.0 control on each side.

usage: compare-prowler.py OUT_DIR RUNS
"""
import collections
import csv
import glob
import re
import statistics
import sys

out, runs = sys.argv[1], int(sys.argv[2])


def timing(path):
    text = open(path).read()
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", text).group(1)
    secs = 0.0
    for part in wall.split(":"):
        secs = secs * 60 + float(part)
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1))
    cpu = float(re.search(r"User time \(seconds\): (\S+)", text).group(1)) + float(
        re.search(r"System time \(seconds\): (\S+)", text).group(1)
    )
    return secs, rss / 1024.0, cpu


def emulator_cpu(path):
    before, after = (float(x) for x in open(path).read().split())
    return after - before


def trustplane_counts(path):
    counts = collections.Counter()
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            if row["benchmark"] != "cis_3.0_aws" or row["status"] == "MANUAL":
                continue
            counts[(row["control"], row["status"])] += 1
    return counts


def prowler_counts(run_dir):
    files = glob.glob(f"{run_dir}/compliance/*_cis_3.0_aws.csv")
    counts = collections.Counter()
    with open(files[0], newline="") as f:
        for row in csv.DictReader(f, delimiter=";"):
            if row["STATUS"] == "MANUAL":
                continue
            counts[(row["REQUIREMENTS_ID"], row["STATUS"])] += 1
    return counts


def key(control):
    return [int(p) if p.isdigit() else p for p in control.split(".")]


print("| run | Trustplane wall / CPU / peak RSS / emulator CPU | Prowler wall / CPU / peak RSS / emulator CPU |")
print("|---|---|---|")
tp, pw = [], []
for i in range(1, runs + 1):
    t = timing(f"{out}/trustplane-{i}.time") + (emulator_cpu(f"{out}/trustplane-{i}.moto"),)
    p = timing(f"{out}/prowler-{i}.time") + (emulator_cpu(f"{out}/prowler-{i}.moto"),)
    tp.append(t)
    pw.append(p)
    print(
        f"| {i} | {t[0]:.2f} s / {t[2]:.2f} s / {t[1]:.0f} MiB / {t[3]:.2f} s "
        f"| {p[0]:.2f} s / {p[2]:.2f} s / {p[1]:.0f} MiB / {p[3]:.2f} s |"
    )


def med(rows, i):
    return statistics.median(x[i] for x in rows)


print(
    f"| median | {med(tp, 0):.2f} s / {med(tp, 2):.2f} s / {med(tp, 1):.0f} MiB / {med(tp, 3):.2f} s "
    f"| {med(pw, 0):.2f} s / {med(pw, 2):.2f} s / {med(pw, 1):.0f} MiB / {med(pw, 3):.2f} s |"
)
print(f"\nmedian wall time: Prowler / Trustplane = {med(pw, 0) / med(tp, 0):.1f}x; "
      f"CPU of the tool itself: {med(pw, 2) / max(med(tp, 2), 0.01):.0f}x; peak RSS: {med(pw, 1) / med(tp, 1):.1f}x\n")

ours = trustplane_counts(f"{out}/trustplane-1.csv")
theirs = prowler_counts(f"{out}/prowler-1")
controls = sorted({c for c, _ in ours} | {c for c, _ in theirs}, key=key)
print("Counts per control (findings, not resources: Prowler reports some controls once per check")
print("and region, Trustplane once per resource):\n")
print("| control | Trustplane PASS / FAIL / ERROR | Prowler PASS / FAIL |")
print("|---|---|---|")
for c in controls:
    o = (ours[(c, "PASS")], ours[(c, "FAIL")], ours[(c, "ERROR")])
    t = (theirs[(c, "PASS")], theirs[(c, "FAIL")])
    print(f"| {c} | {o[0]} / {o[1]} / {o[2]} | {t[0]} / {t[1]} |")

# Verdicts per resource: the last segment of the resource id (an ARN's name or id), the worst
# status when a tool reports the resource several times for one control.
def name(resource_id, resource_name=""):
    r = resource_id.strip() or resource_name.strip()
    return re.split(r"[/:]", r)[-1] if r else r


def worst(a, b):
    order = ["PASS", "ERROR", "FAIL"]
    return max(a or "PASS", b, key=order.index) if a else b


def verdicts(rows):
    """control -> {(region, name): worst status}"""
    out = collections.defaultdict(dict)
    for control, region, n, status in rows:
        k = ("" if region in ("global", "") else region, n)
        out[control][k] = worst(out[control].get(k), status)
    return out


def pair(o, t):
    """Matches the two sides' resources: by region and name, then by name alone, then the one
    result per region, then the single account-level result each side has left (the tools
    name region and account settings differently)."""
    o, t = dict(o), dict(t)
    pairs = []
    for k in sorted(set(o) & set(t)):
        pairs.append((k[1], o.pop(k), t.pop(k)))
    for k in sorted(o):
        same = [j for j in t if j[1] == k[1]]
        if len(same) == 1:
            pairs.append((k[1], o.pop(k), t.pop(same[0])))
    for region in sorted({k[0] for k in o} & {k[0] for k in t}):
        mo, mt = [k for k in o if k[0] == region], [k for k in t if k[0] == region]
        if region and len(mo) == 1 and len(mt) == 1:
            pairs.append((f"{region}/{mo[0][1]} / {mt[0][1]}", o.pop(mo[0]), t.pop(mt[0])))
    if len(o) == 1 and len(t) == 1:
        (ko, vo), (kt, vt) = o.popitem(), t.popitem()
        pairs.append((f"{ko[1]} / {kt[1]}", vo, vt))
    pairs += [(f"{k[0]}/{k[1]}".strip("/"), v, None) for k, v in sorted(o.items())]
    pairs += [(f"{k[0]}/{k[1]}".strip("/"), None, v) for k, v in sorted(t.items())]
    return pairs


with open(f"{out}/trustplane-1.csv", newline="") as f:
    ours_v = verdicts(
        (r["control"], r["region"], name(r["resource_id"], r["resource_name"]), r["status"])
        for r in csv.DictReader(f)
        if r["benchmark"] == "cis_3.0_aws" and r["status"] != "MANUAL"
    )
with open(glob.glob(f"{out}/prowler-1/compliance/*_cis_3.0_aws.csv")[0], newline="") as f:
    theirs_v = verdicts(
        (r["REQUIREMENTS_ID"], r["REGION"], name(r["RESOURCEID"]), r["STATUS"])
        for r in csv.DictReader(f, delimiter=";")
        if r["STATUS"] != "MANUAL"
    )

print("\nVerdicts per resource where the two differ, or only one side judged it:\n")
print("| control | resource | Trustplane | Prowler |")
print("|---|---|---|---|")
agree = disagree = 0
for c in controls:
    for r, a, b in pair(ours_v.get(c, {}), theirs_v.get(c, {})):
        if a == b:
            agree += 1
            continue
        disagree += a is not None and b is not None
        print(f"| {c} | {r} | {a or '-'} | {b or '-'} |")
print(f"\nresources both judged alike: {agree}; judged differently by both: {disagree}")
# Are the runs of each tool the same as its first?
for i in range(2, runs + 1):
    for tool, counts in (
        ("Trustplane", trustplane_counts(f"{out}/trustplane-{i}.csv")),
        ("Prowler", prowler_counts(f"{out}/prowler-{i}")),
    ):
        first = ours if tool == "Trustplane" else theirs
        changed = sorted({k for k in set(counts) | set(first) if counts[k] != first[k]}, key=lambda k: key(k[0]))
        if changed:
            print(f"\n{tool} run {i} differs from run 1: " + ", ".join(f"{c} {s} {first[(c, s)]} -> {counts[(c, s)]}" for c, s in changed))
        else:
            print(f"\n{tool} run {i}: same counts as run 1")
