#!/usr/bin/env bash
# Runs every fuzz target (or those named) for SECONDS each, two at a time:
#   bash fuzz/run.sh 600                 # all targets, 10 minutes each
#   bash fuzz/run.sh 60 line_decoder     # one target
# Builds with cargo-fuzz on the stable toolchain (RUSTC_BOOTSTRAP=1, no
# sanitizer: the targets check properties, and the code has no unsafe).
# Seeds the corpora from the shipped fixture. A crash leaves its input in
# fuzz/artifacts/<target>/; copy it to tests/fuzz_regressions/<target>/ so
# `cargo test` runs it from then on (see fuzz/README.md).
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-60}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(line_decoder id_codec zip_open small_snapshot splice)
fi
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
cargo fuzz build -s none -O

# Seeds: rows of every table of the fixture, its IDs, small ZIPs, and
# small snapshots in the small_snapshot target's \0-separated form.
seed=$(mktemp -d)
trap 'rm -rf "$seed"' EXIT
(cd .. && cargo run --release -q -- unpack fixtures/videoai-sample.zip "$seed/u" -q)
(cd .. && cargo run --release -q -- generate -o "$seed/tiny.zip" --videos 2 -q)
mkdir -p corpus/line_decoder corpus/id_codec corpus/zip_open corpus/small_snapshot corpus/splice
n=0
for f in "$seed"/u/*/documents.jsonl; do
  sed -n '1,20p' "$f" | while IFS= read -r line; do
    n=$((n + 1)); printf '%s' "$line" > "corpus/line_decoder/$(basename "$(dirname "$f")")-$n"
  done
done
{ grep -oh '"_id":"[0-9a-z]*"' "$seed"/u/*/documents.jsonl || true; } | sed -n '1,50p' | cut -d'"' -f4 |
  while read -r id; do printf '%s' "$id" > "corpus/id_codec/$id"; done
cp ../fixtures/videoai-sample.zip "$seed/tiny.zip" corpus/zip_open/
for t in configurations models subscriptionPlans; do
  { cat "$seed/u/_tables/documents.jsonl"; printf '\0'; sed -n '1,5p' "$seed/u/$t/documents.jsonl";
    printf '\0'; cat "$seed/u/$t/generated_schema.jsonl"; printf '\0';
    sed -n '1,3p' "$seed/u/_storage/documents.jsonl"; } > "corpus/small_snapshot/$t"
done

# Splice seeds: a row, a newline, a patch ("-" removes a field).
k=0
sed -n '1,10p' "$seed/u/videos/documents.jsonl" | while IFS= read -r line; do
  for patch in '{"title":"-","updatedAt":1.0}' '{"status":"done"}' '{"a":{"b":[1,2.0]},"zz":null}' '{"n":{"$integer":"AQAAAAAAAAA="}}'; do
    k=$((k + 1)); printf '%s\n%s' "$line" "$patch" > "corpus/splice/seed-$k"
  done
done

run() {
  local t=$1
  mkdir -p "artifacts/$t"
  cargo fuzz run -s none -O "$t" "corpus/$t" -- \
    -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 -max_len=1048576 \
    -artifact_prefix="artifacts/$t/" -print_final_stats=1 > "artifacts/$t.log" 2>&1 \
    && echo "$t: ran ${seconds}s clean ($(grep -o 'stat::number_of_executed_units: [0-9]*' "artifacts/$t.log" | grep -o '[0-9]*$') executions)" \
    || echo "$t: FAILED, see fuzz/artifacts/$t.log and fuzz/artifacts/$t/"
}
pids=()
for t in "${targets[@]}"; do
  run "$t" &
  pids+=($!)
  if [ ${#pids[@]} -ge 2 ]; then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
done
wait
