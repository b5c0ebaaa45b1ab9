# shellcheck shell=bash disable=SC2034
# Shared settings of the image scripts (images/build.sh, images/base.sh, tests/images/). Source it.
# Everything buildah stores lives in the cache outside the repository, in its own storage (vfs: no
# overlay mounts needed), never in the machine's default /var/lib/containers.
IMAGES_CACHE="${STEGO_IMAGES_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stego-cluster/images}"
BASE_IMAGE=docker.io/library/debian:bookworm-slim
BUILDAH=(buildah --root "$IMAGES_CACHE/storage" --runroot "$IMAGES_CACHE/run" --storage-driver vfs)
# Serialises every writer of the storage (the base, the images, their tags).
IMAGES_LOCK="$IMAGES_CACHE/.lock"

# The images' version: the project's (CMakeLists.txt project VERSION).
IMAGES_VERSION="$(sed -n 's/^project(stego_cluster VERSION \([0-9.]*\).*/\1/p' \
  "$(dirname "${BASH_SOURCE[0]}")/../CMakeLists.txt")"
# image_name NAME (worker, operator): the image's full name.
image_name() { echo "localhost/stego-$1:$IMAGES_VERSION"; }
# image_archive OUT_DIR NAME: the OCI archive build.sh exports the image to.
image_archive() { echo "$1/stego-$2-$IMAGES_VERSION.oci.tar"; }
