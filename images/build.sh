#!/usr/bin/env bash
# Builds the container images of stego-cluster from the already built binaries (see the comment at
# the top of each Dockerfile for why), with buildah and no container engine:
#   localhost/stego-worker:<version>    images/worker.Dockerfile
#   localhost/stego-operator:<version>  images/operator.Dockerfile
# on our own docker.io/library/debian:bookworm-slim (images/base.sh; built when missing or stale),
# and exports each as an OCI archive, OUT/stego-<name>-<version>.oci.tar, whose reference name is
# the image's full name. Prints the archives' paths, then the image sizes (uncompressed, archive).
#
#   images/build.sh [--bin-dir DIR] [--out DIR]
#     --bin-dir  where stego-worker and stego-operator are (default: build/bin of this tree)
#     --out      where the archives go (default: $IMAGES_CACHE/out, ~/.cache/stego-cluster/images/out)
#
# <version> is CMakeLists.txt's project VERSION, and the binaries must say the same (--version); the
# revision label is `git rev-parse HEAD` ("unknown" outside git). The build context of each image is
# a staging directory holding only the stripped binary (and, for the worker, the web console's
# built files from share/stego-worker/console beside --bin-dir). buildah's --layers cache keeps the package
# layer, so a warm build only copies the binary; an archive already holding the image is kept.
# Needs root and the network (apt-get in the Dockerfiles); run it before entering a network namespace.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
# shellcheck source=lib.sh
source "$here/lib.sh"

bin_dir="$repo/build/bin"
out="$IMAGES_CACHE/out"
while (($#)); do
  case "$1" in
    --bin-dir) bin_dir="${2:?--bin-dir needs a directory}"; shift 2 ;;
    --out) out="${2:?--out needs a directory}"; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "build.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done
log() { echo "images/build: $*" >&2; }
console_dir="$bin_dir/../share/stego-worker/console"

[[ -n "$IMAGES_VERSION" ]] || { log "no project VERSION in $repo/CMakeLists.txt"; exit 1; }
revision="$(git -C "$repo" rev-parse HEAD 2>/dev/null || echo unknown)"
for name in worker operator; do
  said="$("$bin_dir/stego-$name" --version)" || { log "cannot run $bin_dir/stego-$name"; exit 1; }
  [[ "$said" == "stego-$name $IMAGES_VERSION" ]] ||
    { log "$bin_dir/stego-$name says '$said', the tree is at $IMAGES_VERSION: a stale build?"; exit 1; }
done

mkdir -p "$IMAGES_CACHE" "$out"
out="$(cd "$out" && pwd)"
exec 9>"$IMAGES_LOCK"
flock 9
"$here/base.sh"

staging="$(mktemp -d "$IMAGES_CACHE/context.XXXXXX")"
trap 'rm -rf "$staging"' EXIT
archives=()
for name in worker operator; do
  start=$(date +%s)
  image="$(image_name "$name")"
  mkdir "$staging/$name"
  strip -o "$staging/$name/stego-$name" "$bin_dir/stego-$name"
  # The worker serves the web console from beside its binary (share/stego-worker/console).
  if [[ $name == worker ]]; then
    [[ -f "$console_dir/index.html" ]] || { log "no web console in $console_dir (build the console target)"; exit 1; }
    cp -r "$console_dir" "$staging/$name/console"
  fi
  log "building $image"
  nice -n 19 "${BUILDAH[@]}" bud --isolation chroot --pull=never --layers --quiet \
    --label "org.opencontainers.image.version=$IMAGES_VERSION" \
    --label "org.opencontainers.image.revision=$revision" \
    --iidfile "$staging/$name.iid" -f "$here/$name.Dockerfile" -t "$image" "$staging/$name" >/dev/null
  archive="$(image_archive "$out" "$name")"
  # The export compresses every layer (half a minute for the worker): skipped when the archive
  # holds this very image already (nothing changed, the cache made the same image ID).
  if [[ -f "$archive" && "$(cat "$archive.iid" 2>/dev/null)" == "$(cat "$staging/$name.iid")" ]]; then
    log "$archive is up to date"
  else
    rm -f "$archive" "$archive.iid"
    "${BUILDAH[@]}" push --quiet "$image" "oci-archive:$archive:$image"
    cp "$staging/$name.iid" "$archive.iid"
  fi
  archives+=("$archive")
  log "$image built and exported in $(($(date +%s) - start)) s"
done
# Images that neither a tag nor a child refers to any more: earlier builds, after their tag moved.
"${BUILDAH[@]}" rmi --prune >/dev/null

printf '%s\n' "${archives[@]}"
for name in worker operator; do
  image="$(image_name "$name")"
  printf '%-38s %s uncompressed, archive %s\n' "$image" \
    "$("${BUILDAH[@]}" images --format '{{.Size}}' "$image")" \
    "$(du -h --apparent-size "$(image_archive "$out" "$name")" | cut -f1)"
done
printf '%-38s %s uncompressed\n' "$BASE_IMAGE" "$("${BUILDAH[@]}" images --format '{{.Size}}' "$BASE_IMAGE")"
