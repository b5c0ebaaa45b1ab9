#!/usr/bin/env bash
# The long linearizability run (docs/linearizability.md): runs of the nemesis test one after
# another, 3 and 5 members in turn, each with its own seed, until the nemesis has run the total
# asked; then a table of every run and the availability summed per fault.
#
#   tests/linearizability/long_run.sh BIN_DIR OUT_DIR [TOTAL_SECONDS=3600] [RUN_SECONDS=300] [FIRST_SEED=1]
#
# BIN_DIR holds linearizability_tests and stego-worker (a copy, so that rebuilding the tree during
# the hour changes nothing); OUT_DIR gets each run's directory (history, verdict, availability,
# member logs), runs.tsv and summary.txt. Exits 1 if any run failed.
set -euo pipefail
bin=$(cd "$1" && pwd); out=$2; total=${3:-3600}; each=${4:-300}; seed=${5:-1}
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
lincheck="$("$here/checker/build.sh")/lincheck"
mkdir -p "$out"; out=$(cd "$out" && pwd)
printf 'seed\tmembers\tnemesis_s\tfaults\toperations\tresult\twall_s\n' > "$out/runs.tsv"
done_s=0; failed=0; members=3
while (( done_s < total )); do
  start=$(date +%s)
  log="$out/run-${members}m-seed$seed.log"
  if (cd "$out" && STEGO_NEMESIS_SEED=$seed STEGO_NEMESIS_SECONDS=$each STEGO_LINCHECK=$lincheck \
        STEGO_WORKER_BINARY="$bin/stego-worker" STEGO_KEEP_TEST_LOGS=1 \
        "$bin/linearizability_tests" --gtest_filter="*/${members}Members" > "$log" 2>&1); then
    result=pass
  else
    result=FAIL; failed=1
  fi
  faults=$(sed -n 's/^\([0-9]*\) faults, \([0-9]*\) operations.*/\1/p' "$log")
  ops=$(sed -n 's/^\([0-9]*\) faults, \([0-9]*\) operations.*/\2/p' "$log")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$seed" "$members" "$each" "${faults:-?}" "${ops:-?}" "$result" \
    "$(( $(date +%s) - start ))" >> "$out/runs.tsv"
  echo "long_run: seed $seed, $members members: $result" >&2
  done_s=$(( done_s + each )); seed=$(( seed + 1 )); members=$(( members == 3 ? 5 : 3 ))
done
python3 - "$out" > "$out/summary.txt" <<'PY'
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
totals = {}
for f in sorted(out.glob("linearizability-runs/*/availability.json")):
    for bucket, c in json.load(open(f)).items():
        t = totals.setdefault(bucket, [0, 0])
        t[0] += c["answered"]; t[1] += c["requests"]
print(open(out / "runs.tsv").read())
print("stego API availability (embed probe), all runs:")
for bucket, (ok, n) in sorted(totals.items()):
    print(f"  {bucket:40s} {ok:6d}/{n:<6d} {100.0 * ok / n:6.2f} %")
PY
cat "$out/summary.txt"
exit $failed
