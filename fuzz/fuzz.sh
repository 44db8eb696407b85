#!/usr/bin/env bash
# Runs one fuzz target under AFL++ (cargo-afl, stable Rust) for a while, then prints its figures.
#
#   fuzz/fuzz.sh <target> [seconds]     # default 600 seconds
#   fuzz/fuzz.sh list                   # the targets
#
# Targets are the functions of crates/fuzz-targets; seeds come from fuzz/corpus/<target>/.
# Findings land in $FUZZ_OUT/<target>/default/{crashes,hangs}/ (default /tmp/trustplane-fuzz):
# fix the library, add a regression test, and copy the input to fuzz/regressions/<target>/.
# With MERGE=1, the inputs AFL found are minimised together with the seeds (afl-cmin) and
# the new ones under MAX_INPUT bytes (default 4096) are added to fuzz/corpus/<target>/.
#
# Runs at the lowest priority (nice 19) and one fuzzer at a time: machines here are shared.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
target="${1:?usage: fuzz/fuzz.sh <target> [seconds]}"
seconds="${2:-600}"
out="${FUZZ_OUT:-/tmp/trustplane-fuzz}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/fuzz/afl/target}"

if ! cargo afl --version >/dev/null 2>&1; then
    cargo install --locked cargo-afl
fi
# Builds AFL++ itself the first time (gcc and make are enough).
cargo afl config --build >/dev/null 2>&1 || true

(cd "$root/fuzz/afl" && nice -n 19 cargo afl build --release --quiet)
bin="$CARGO_TARGET_DIR/release/trustplane-fuzz-afl"

if [ "$target" = list ]; then
    "$bin" 2>&1 | sed 's/.*<//; s/>.*//; s/|/\n/g'
    exit 0
fi
seeds="$root/fuzz/corpus/$target"
[ -d "$seeds" ] || { echo "no corpus folder $seeds" >&2; exit 2; }

# Dictionaries: our SAML one, AFL++'s own for JSON and YAML (read where cargo-afl put them).
afl_dicts="$(ls -d "$HOME"/.local/share/afl.rs/AFLplusplus/dictionaries 2>/dev/null | head -n1 || true)"
dict=()
case "$target" in
    saml_*) dict=(-x "$root/fuzz/dict/saml.dict") ;;
    ca_policy|cloudtrail|azure_logs|discovery_input) [ -n "$afl_dicts" ] && dict=(-x "$afl_dicts/json.dict") ;;
    sigma_rule) [ -n "$afl_dicts" ] && dict=(-x "$afl_dicts/yaml.dict") ;;
    odata_filter|web_forms) [ -n "$afl_dicts" ] && dict=(-x "$afl_dicts/url.dict") ;;
esac

mkdir -p "$out"
# A fresh run each time: figures are per campaign.
rm -rf "${out:?}/$target"
export AFL_SKIP_CPUFREQ=1 AFL_NO_UI=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1
# -t: an input taking over a second is a hang; -V: stop after the given seconds.
nice -n 19 cargo afl fuzz -i "$seeds" -o "$out/$target" -t 1000 -V "$seconds" "${dict[@]}" \
    -- "$bin" "$target" >"$out/$target.log" 2>&1 || { tail -n 30 "$out/$target.log" >&2; exit 1; }

stats="$out/$target/default/fuzzer_stats"
get() { awk -F' *: *' -v k="$1" '$1 == k { print $2 }' "$stats"; }
echo "target=$target seconds=$(get run_time) execs=$(get execs_done) execs_per_sec=$(get execs_per_sec) crashes=$(get saved_crashes) hangs=$(get saved_hangs) corpus=$(get corpus_count) stability=$(get stability) bitmap=$(get bitmap_cvg)"

if [ "${MERGE:-0}" = 1 ]; then
    merged="$out/$target.cmin"
    rm -rf "$merged"
    nice -n 19 cargo afl cmin -i "$out/$target/default/queue" -o "$merged" -t 1000 -- "$bin" "$target" >/dev/null
    # Seeds stay under their names; new inputs get a short content name.
    known="$(for f in "$seeds"/*; do sha1sum <"$f"; done)"
    for f in "$merged"/*; do
        [ "$(stat -c %s "$f")" -lt "${MAX_INPUT:-4096}" ] || continue
        sum="$(sha1sum <"$f")"
        grep -qF "$sum" <<<"$known" || cp "$f" "$seeds/${sum:0:16}"
    done
    echo "merged $(ls "$merged" | wc -l) inputs into $seeds ($(du -sh "$seeds" | cut -f1))"
fi
