#!/usr/bin/env bash
# Runs one instrumented gtest binary and fails on any sanitizer report, from the binary or from a
# process it started.
#   run.sh <report dir> <binary> [gtest arguments...]
#
# The run fails when <report dir> holds a file. The API, Raft group and cluster tests start real
# stego-worker / raft_group_member children, which inherit these options; but a child's stderr goes
# to an output file the test deletes, and a report while a child shuts down changes only an exit
# status no test checks. So ASan and TSan write every report to <report dir>/report.<pid>
# (log_path), and testsupport::ProcessUnderTest copies a child's output that holds a report (UBSan's
# among them: GCC's UBSan ignores log_path) to <report dir>/child-output.<pid>.
set -uo pipefail
reports=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$reports"
mkdir -p "$reports"
export STEGO_SANITIZER_REPORT_DIR=$reports
# An instrumented worker starts and answers several times slower than the main tree's (a TSan one
# took over 20 s to start at load 17): the tests' waits for a condition get four times as long.
export STEGO_TEST_TIME_SCALE=${STEGO_TEST_TIME_SCALE:-4}
log="log_path=$reports/report"
export ASAN_OPTIONS="$log:halt_on_error=1:detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1"
export UBSAN_OPTIONS="$log:halt_on_error=1:print_stacktrace=1:suppressions=$here/ubsan.supp"
# TSan goes on after a race, so one run lists them all; the report file fails the run anyway.
export TSAN_OPTIONS="$log:halt_on_error=0:second_deadlock_stack=1:suppressions=$here/tsan.supp"
"$@"
status=$?
found=0
for report in "$reports"/*; do
  [[ -e $report ]] || continue
  found=1
  echo "=== sanitizer report $report"
  cat "$report"
done
if ((found)); then
  echo "FAILED: sanitizer reports above" >&2
  exit 1
fi
exit "$status"
