#!/usr/bin/env bash
# Checks the container images that images/build.sh exported as OCI archives into OUT_DIR, without a
# container engine: skopeo reads an archive's config, skopeo + umoci unpack it into a runtime
# bundle, and runc runs it the way Kubernetes would (image user, read-only root, no capabilities).
#
#   tests/images/test.sh config   OUT_DIR  image config: numeric non-root user 65532, entrypoint the
#                                          binary, version and revision labels, no healthcheck
#   tests/images/test.sh operator OUT_DIR  `stego-operator --version` runs and says the version
#   tests/images/test.sh worker   OUT_DIR  the worker serves /healthz and the web console on loopback (the container is
#                                          left in this network namespace) with its data dir a
#                                          tmpfs; it runs as 65532; / is read-only, the data dir not
#
# Needs root (runc). The bundle and runc's state live in a temporary directory; the container is
# deleted on every exit.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
# shellcheck source=../../images/lib.sh
source "$repo/images/lib.sh"

mode="${1:?usage: test.sh config|operator|worker OUT_DIR}"
out="${2:?usage: test.sh config|operator|worker OUT_DIR}"
fail() { echo "images/test $mode: FAIL: $*" >&2; exit 1; }
log() { echo "images/test $mode: $*" >&2; }
deadline_s=120

tmp="$(mktemp -d /tmp/stego-images-test.XXXXXX)"
id="stego-images-test-$$"
runc_=(runc --root "$tmp/runc")
cleanup() {
  "${runc_[@]}" delete -f "$id" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# unpack NAME: the image's runtime bundle in $tmp/bundle (rootfs/ and umoci's config.json).
unpack() {
  local archive
  archive="$(image_archive "$out" "$1")"
  [[ -f "$archive" ]] || fail "no archive $archive (images/build.sh makes it)"
  skopeo copy --quiet "oci-archive:$archive" "oci:$tmp/layout:image"
  umoci unpack --image "$tmp/layout:image" "$tmp/bundle" >/dev/null
}

# configure [--host-net] [--data-dir DIR] ARGS...: edits the bundle's config.json as a pod
# with readOnlyRootFilesystem, capabilities dropped and no privilege escalation would run: the
# image's user and entrypoint (umoci took them from the image) followed by ARGS. --host-net leaves
# out the network namespace; --data-dir mounts a tmpfs owned by 65532 there (a pod's volume).
configure() {
  local host_net=0 data_dir=""
  while [[ "${1:-}" == --* ]]; do
    case "$1" in
      --host-net) host_net=1; shift ;;
      --data-dir) data_dir=$2; shift 2 ;;
      *) break ;;
    esac
  done
  python3 - "$tmp/bundle/config.json" "$host_net" "$data_dir" "$@" <<'PY'
import json, sys
path, host_net, data_dir, args = sys.argv[1], sys.argv[2] == "1", sys.argv[3], sys.argv[4:]
c = json.load(open(path))
c["root"]["readonly"] = True
p = c["process"]
p["terminal"] = False
p["args"] += args
p["noNewPrivileges"] = True
p["capabilities"] = {k: [] for k in ("bounding", "effective", "inheritable", "permitted", "ambient")}
if host_net:
    c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "network"]
if data_dir:
    c["mounts"].append({"destination": data_dir, "type": "tmpfs", "source": "tmpfs",
                        "options": ["nosuid", "nodev", "mode=0700", "uid=65532", "gid=65532"]})
json.dump(c, open(path, "w"), indent=1)
PY
}

case "$mode" in
  config)
    revision="$(git -C "$repo" rev-parse HEAD 2>/dev/null || echo unknown)"
    for name in worker operator; do
      archive="$(image_archive "$out" "$name")"
      [[ -f "$archive" ]] || fail "no archive $archive (images/build.sh makes it)"
      skopeo inspect --config "oci-archive:$archive" > "$tmp/$name.json"
      python3 - "$tmp/$name.json" "$name" "$IMAGES_VERSION" "$revision" <<'PY' || fail "$name: image config"
import json, sys
path, name, version, revision = sys.argv[1:]
config = json.load(open(path))["config"]
labels = config.get("Labels") or {}
want = {
    "User": "65532:65532",
    "Entrypoint": [f"/usr/local/bin/stego-{name}"],
    "org.opencontainers.image.title": f"stego-{name}",
    "org.opencontainers.image.version": version,
    "org.opencontainers.image.revision": revision,
}
got = {k: config.get(k) for k in ("User", "Entrypoint")} | {k: labels.get(k) for k in want if "." in k}
bad = [f"{k}: {got[k]!r}, want {v!r}" for k, v in want.items() if got[k] != v]
if config.get("Cmd"):
    bad.append(f"Cmd {config['Cmd']!r}: the entrypoint alone decides the arguments")
if "Healthcheck" in config:
    bad.append("a Healthcheck: Kubernetes probes are the health checks")
if not labels.get("org.opencontainers.image.source"):
    bad.append("no org.opencontainers.image.source label")
for b in bad:
    print(f"stego-{name}: {b}", file=sys.stderr)
sys.exit(1 if bad else 0)
PY
      log "$(image_name "$name"): user 65532:65532, entrypoint, labels $IMAGES_VERSION $revision, no healthcheck"
    done
    ;;

  operator)
    unpack operator
    configure --version
    said="$("${runc_[@]}" run --bundle "$tmp/bundle" "$id" 2>&1)" || fail "runc run: $said"
    [[ "$said" == "stego-operator $IMAGES_VERSION" ]] || fail "--version said '$said'"
    log "read-only root, uid 65532: '$said'"
    ;;

  worker)
    unpack worker
    data=/var/lib/stego
    configure --host-net --data-dir "$data" --http=127.0.0.1:0 "--data-dir=$data" --threads=1
    "${runc_[@]}" run -d --bundle "$tmp/bundle" "$id" > "$tmp/worker.log" 2>&1 </dev/null ||
      fail "runc run: $(cat "$tmp/worker.log")"
    # Port 0: the worker picks a free port and logs it.
    port="" deadline=$((SECONDS + deadline_s))
    until [[ -n "$port" ]]; do
      ((SECONDS < deadline)) || fail "no 'listening on' in ${deadline_s} s: $(cat "$tmp/worker.log")"
      [[ "$("${runc_[@]}" state "$id" 2>/dev/null)" == *'"status": "running"'* ]] ||
        fail "the worker stopped: $(cat "$tmp/worker.log")"
      port="$(sed -n 's/.* listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/worker.log")"
      [[ -n "$port" ]] || sleep 0.2
    done
    until [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$port/healthz")" == 200 ]]; do
      ((SECONDS < deadline)) || fail "GET /healthz did not answer 200 in ${deadline_s} s"
      sleep 0.2
    done
    log "GET http://127.0.0.1:$port/healthz: 200"
    # The web console ships in the image, beside the binary.
    console="$(curl -s -D "$tmp/console.headers" --max-time 5 "http://127.0.0.1:$port/")"
    [[ "$console" == *"<html"* ]] || fail "GET / is no console page: $(head -c 300 <<<"$console")"
    grep -qi '^content-security-policy: default-src' "$tmp/console.headers" || fail "GET / has no Content-Security-Policy"
    log "GET /: the web console's page, under its Content-Security-Policy"

    pid="$("${runc_[@]}" state "$id" | python3 -c 'import json, sys; print(json.load(sys.stdin)["pid"])')"
    uids="$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$pid/status")"
    [[ "$uids" == "65532 65532 65532 65532" ]] || fail "the worker runs with uids $uids, want 65532"
    if err="$("${runc_[@]}" exec "$id" touch /probe 2>&1)"; then fail "created /probe: the root is writable"; fi
    [[ "$err" == *"Read-only file system"* ]] || fail "touch /probe failed otherwise: $err"
    "${runc_[@]}" exec "$id" touch "$data/probe" || fail "cannot write to the data dir $data"
    log "uid 65532, / read-only ($err), $data writable"
    ;;

  *) fail "unknown mode (config, operator or worker)" ;;
esac
