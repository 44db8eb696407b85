#!/usr/bin/env bash
# Trustplane's streaming detection against the `rsigma` CLI (`rsigma engine eval`), side by side
# over the same CloudTrail NDJSON file with the SigmaHQ AWS rules, each pinned to one core.
#
#   bench/detect-vs-rsigma.sh [RECORDS]        # default 1000000 (about 1.26 GB)
#
# - The file is drawn (seeded: SEED, default 22) from the real CloudTrail records under
#   ../shared/data/logs by bench/gen-cloudtrail.py and kept in $BENCH_CACHE.
# - rsigma 0.23.0 is installed with `cargo install` into $BENCH_CACHE/rsigma if missing.
# - Trustplane: TRUSTPLANE_BIN=/path/to/release/trustplane runs `trustplane --output json
#   detect`; without it the streaming hunt the command runs is built alone
#   (`cargo build --release -p trustplane-detect --example stream_hunt`), which needs no
#   release build of the whole binary.
# - Reports wall time, records per second and peak RSS (/usr/bin/time -v), the match counts
#   of both and whether the matches per rule are the same.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
data=${DATA_DIR:-$root/../shared/data}
rules=$data/sigma/rules/cloud/aws
n=${1:-1000000}
seed=${SEED:-22}
core=${CORE:-1}
cache=${BENCH_CACHE:-$HOME/.cache/detect-bench}
target=${CARGO_TARGET_DIR:-$root/target}
mkdir -p "$cache"

file=$cache/cloudtrail-$n-$seed.ndjson
[ -s "$file" ] || python3 "$root/bench/gen-cloudtrail.py" "$data" "$n" "$seed" "$file"

rsigma=$cache/rsigma/bin/rsigma
if [ ! -x "$rsigma" ]; then
  cargo install rsigma --version '=0.23.0' --locked --root "$cache/rsigma"
fi

if [ -n "${TRUSTPLANE_BIN:-}" ]; then
  tp=("$TRUSTPLANE_BIN" --output json detect --rules "$rules" "$file")
  tp_label="trustplane detect --output json"
else
  (cd "$root" && cargo build --release -p trustplane-detect --example stream_hunt)
  tp=("$target/release/examples/stream_hunt" "$rules" "$file")
  tp_label="stream_hunt (the hunt of trustplane detect)"
fi

run() {
  local name=$1
  shift
  /usr/bin/time -v -o "$cache/$name.time" taskset -c "$core" "$@" >"$cache/$name.out" 2>"$cache/$name.err"
}

echo "records: $n ($(stat -c %s "$file") bytes), rules: $(find "$rules" -name '*.yml' | wc -l) in $rules, core $core"
run rsigma "$rsigma" engine eval --rules "$rules" --event "@$file"
run trustplane "${tp[@]}"

python3 - "$cache" "$n" "$tp_label" "${TRUSTPLANE_BIN:+json}" <<'PY'
import collections, json, re, sys
cache, n, tp_label, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]

def timing(name):
    t = open(f"{cache}/{name}.time").read()
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", t).group(1)
    secs = 0.0
    for part in wall.split(":"):
        secs = secs * 60 + float(part)
    user = float(re.search(r"User time \(seconds\): (\S+)", t).group(1))
    sys_ = float(re.search(r"System time \(seconds\): (\S+)", t).group(1))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1))
    return secs, user + sys_, rss

def rsigma_rules():
    counts = collections.Counter()
    with open(f"{cache}/rsigma.out") as f:
        for line in f:
            line = line.strip()
            if line:
                m = json.loads(line)
                counts[m.get("rule_title") or m.get("title") or "?"] += 1
    return counts

def trustplane_rules():
    counts = collections.Counter()
    with open(f"{cache}/trustplane.out") as f:
        if mode == "json":
            for line in f:
                line = line.strip().rstrip(",")
                if line.startswith("{") and '"rule"' in line:
                    counts[json.loads(line)["rule"]["title"]] += 1
        else:
            for line in f:
                if line.strip():
                    counts[json.loads(line)["rule"]["title"]] += 1
    return counts

rows = []
r_counts, t_counts = rsigma_rules(), trustplane_rules()
for name, label, counts in [("rsigma", "rsigma 0.23.0 engine eval", r_counts), ("trustplane", tp_label, t_counts)]:
    secs, cpu, rss = timing(name)
    rows.append((label, secs, cpu, n / secs, rss / 1024, sum(counts.values())))
print(f"{'':45} {'wall s':>8} {'cpu s':>8} {'records/s':>10} {'rec/cpu-s':>10} {'peak RSS MB':>12} {'matches':>8}")
for label, secs, cpu, rate, rss, m in rows:
    print(f"{label:45} {secs:8.2f} {cpu:8.2f} {rate:10.0f} {n / cpu:10.0f} {rss:12.1f} {m:8d}")
# On a shared machine the wall time includes waiting for the core; CPU time does not.
print(f"speed-up: {rows[1][3] / rows[0][3]:.2f}x in records/s (wall), {rows[0][2] / rows[1][2]:.2f}x in records per CPU-second")
same = r_counts == t_counts
print("matches per rule identical:", same)
if not same:
    for rule in sorted(set(r_counts) | set(t_counts)):
        if r_counts[rule] != t_counts[rule]:
            print(f"  {rule}: rsigma {r_counts[rule]}, trustplane {t_counts[rule]}")
print("rsigma:", open(f"{cache}/rsigma.err").read().strip().splitlines()[-1:])
print("trustplane:", open(f"{cache}/trustplane.err").read().strip().splitlines()[-1:])
PY
