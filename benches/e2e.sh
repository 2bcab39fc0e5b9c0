#!/usr/bin/env bash
# End-to-end benchmark of convex-snapshot on a large generated VideoAI
# snapshot, side by side with the floor (decompress the input, compress the
# bytes the migration writes anew with pigz) on the same machine, in one run.
#
#   benches/e2e.sh                 # 1,000,000 videos, 3 runs each, + scaling
#   VIDEOS=200000 RUNS=1 SCALING="" benches/e2e.sh   # a quick look
#
# Results go to stdout and to $WORK/results.md. See BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."

VIDEOS=${VIDEOS:-1000000}
RUNS=${RUNS:-3}
WORK=${WORK:-target/bench}
SCALING=${SCALING-250000 1000000 2000000}
COMPRESSIONS=${COMPRESSIONS-stored fast default best}

cargo build --release --locked -q
B=$PWD/target/release/convex-snapshot
for tool in pigz unzip python3 bc; do
  if ! command -v "$tool" >/dev/null; then
    echo "installing $tool from Debian's packages" >&2
    if [ "$(id -u)" = 0 ]; then apt-get install -y -q "$tool" >/dev/null; else sudo apt-get install -y -q "$tool" >/dev/null; fi
  fi
done
mkdir -p "$WORK"
RES="$WORK/results.md"
: > "$RES"
# Human output goes to stderr and the results file; stdout carries values.
say() { echo "$*" | tee -a "$RES" >&2; }

snapshot() { # snapshot N -> path (generated once, deterministic)
  local p="$WORK/videoai-$1.zip"
  [ -f "$p" ] || "$B" generate -o "$p" --videos "$1" -q
  echo "$p"
}

# once CMD...: runs CMD once; prints "seconds max_rss_kib".
once() {
  /usr/bin/time -f "%e %M" -o "$WORK/time.txt" "$@" >/dev/null 2>"$WORK/stderr.txt" || {
    local code=$?
    # diff exits 1 when the snapshots differ, validate when it finds problems
    # (the generated data breaks the app's schema): answers, not failures.
    if [ "$code" != 1 ] || { [ "$2" != diff ] && [ "$2" != validate ]; }; then cat "$WORK/stderr.txt" >&2; exit 1; fi
  }
  tail -1 "$WORK/time.txt"
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

BIG=$(snapshot "$VIDEOS")
OUT="$WORK/out-$VIDEOS.zip"
UNCOMPRESSED=$(python3 -c "import zipfile,sys; print(sum(i.file_size for i in zipfile.ZipFile(sys.argv[1]).infolist()))" "$BIG")

# One untimed run makes the output whose new entries the floor compresses:
# those whose CRC or compressed size differ from the input's, or are new.
"$B" migrate "$BIG" -o "$OUT" --all -q --force
NEW="$WORK/new-bytes.jsonl"
python3 - "$BIG" "$OUT" "$NEW" <<'PY'
import sys, zipfile
a, b, dest = (zipfile.ZipFile(sys.argv[1]), zipfile.ZipFile(sys.argv[2]), sys.argv[3])
old = {i.filename: (i.CRC, i.compress_size) for i in a.infolist()}
with open(dest, "wb") as out:
    for i in b.infolist():
        if old.get(i.filename) != (i.CRC, i.compress_size):
            with b.open(i) as f:
                while chunk := f.read(1 << 20):
                    out.write(chunk)
PY

# Every command runs once per round, rounds repeated $RUNS times, so slow
# and fast spells of the machine hit all of them alike; medians per command.
LABELS=("migrate --all" "migrate --all, 1 thread" "validate" "inspect" "diff --stat"
  "floor: unzip -p" "floor: pigz -p 2 -6 of the $(stat -c %s "$NEW") new bytes"
  "validate --schema (the app's schema.ts)" "migrate --all --dry-run")
CMDS=("$B migrate $BIG -o $OUT --all -q --force"
  "$B migrate $BIG -o $OUT --all -q --threads 1 --force"
  "$B validate $BIG -q"
  "$B inspect $BIG -q"
  "$B diff $BIG $OUT --stat -q"
  "sh -c 'unzip -p $BIG > /dev/null'"
  "sh -c 'pigz -p 2 -6 -c $NEW > /dev/null'"
  "$B validate $BIG -q --max-problems 0 --schema examples/videoai/convex"
  "$B migrate $BIG --all --dry-run -q")
declare -A TIMES RSS
for _ in $(seq "$RUNS"); do
  for i in "${!CMDS[@]}"; do
    eval "set -- ${CMDS[$i]}"
    read -r t m < <(once "$@")
    TIMES[$i]+="$t "
    [ "$m" -gt "${RSS[$i]:-0}" ] && RSS[$i]=$m
  done
done
med() { tr ' ' '\n' <<<"${TIMES[$1]}" | grep . | median; }

say "# convex-snapshot end-to-end benchmark"
say ""
say "- machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(free -g | awk '/Mem:/ {print $2}') GiB RAM"
say "- input: \`generate --videos $VIDEOS\`: $(stat -c %s "$BIG") bytes zipped, $UNCOMPRESSED bytes of entries"
say "- $RUNS rounds, each running every command once in the order below; medians; peak RSS is the largest seen; commands run from the repo root"
say ""
say "| what | command | wall s (median) | all runs | peak RSS MiB |"
say "|---|---|---:|---|---:|"
for i in "${!CMDS[@]}"; do
  say "| ${LABELS[$i]} | \`${CMDS[$i]//$B/convex-snapshot}\` | $(med "$i") | ${TIMES[$i]% } | $((RSS[$i] / 1024)) |"
done
T2=$(med 0); T1=$(med 1); TV=$(med 2); TU=$(med 5); TP=$(med 6)
say ""
FLOOR=$(printf '%.2f' "$(echo "$TU + $TP" | bc -l)")
say "- floor = unzip + pigz = $FLOOR s"
say "- migrate --all / floor = $(printf '%.2f' "$(echo "$T2 / $FLOOR" | bc -l)") (target ≤ 0.6)"
say "- migrate --all --dry-run / floor = $(printf '%.2f' "$(echo "$(med 8) / $FLOOR" | bc -l)") (target ≤ 0.3)"
say "- validate / unzip -p = $(printf '%.2f' "$(echo "$TV / $TU" | bc -l)") (target ≤ 1.5)"
say "- validate --schema / validate = $(printf '%.2f' "$(echo "$(med 7) / $TV" | bc -l)") (target ≤ 1.5)"
say "- migrate --all speed-up, 2 threads vs 1 = $(printf '%.2f' "$(echo "$T1 / $T2" | bc -l)") (target ≥ 1.8)"
IN_RATIO=$(python3 -c "import zipfile,sys; z=zipfile.ZipFile(sys.argv[1]); print(sum(i.compress_size for i in z.infolist())/sum(i.file_size for i in z.infolist()))" "$BIG")

if [ -n "$COMPRESSIONS" ]; then
  say ""
  say "| --compression | wall s | output bytes | compressed/uncompressed | vs input's ratio |"
  say "|---|---:|---:|---:|---:|"
  for c in $COMPRESSIONS; do
    C_OUT="$WORK/out-$c.zip"
    read -r t _ < <(once "$B" migrate "$BIG" -o "$C_OUT" --all -q --force --compression "$c")
    r=$(python3 -c "import zipfile,sys; z=zipfile.ZipFile(sys.argv[1]); print(sum(i.compress_size for i in z.infolist())/sum(i.file_size for i in z.infolist()))" "$C_OUT")
    say "| $c | $t | $(stat -c %s "$C_OUT") | $(printf %.4f "$r") | $(printf '%.3f' "$(echo "$r / $IN_RATIO" | bc -l)") |"
  done
fi

if [ -n "$SCALING" ]; then
  say ""
  say "| videos | input MiB (uncompressed) | migrate --all wall s | peak RSS MiB |"
  say "|---:|---:|---:|---:|"
  for n in $SCALING; do
    S=$(snapshot "$n")
    U=$(python3 -c "import zipfile,sys; print(sum(i.file_size for i in zipfile.ZipFile(sys.argv[1]).infolist())//(1<<20))" "$S")
    read -r t m < <(once "$B" migrate "$S" -o "$WORK/out-scale.zip" --all -q --force)
    say "| $n | $U | $t | $((m / 1024)) |"
  done
fi
