#!/usr/bin/env bash
# Refreshes the web console's screenshots in docs/images/console/ (the README shows them): builds
# the worker and the console, then runs the browser test (tests/web/run.sh) with a screenshot
# directory, so each picture is of a page the test has just checked.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/build.sh" stego-worker console
mkdir -p "$root/docs/images/console"
"$root/tests/web/run.sh" "$root/build/bin" "$root/build/share/stego-worker/console" "$root/docs/images/console"
ls -l "$root/docs/images/console"
