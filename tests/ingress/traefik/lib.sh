# shellcheck shell=bash disable=SC2034
# Shared settings of the Traefik scripts (build.sh, up.sh, down.sh). Source it; do not run it.
TRAEFIK_RECIPE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../../k8s/controlplane/lib.sh
source "$TRAEFIK_RECIPE_DIR/../../k8s/controlplane/lib.sh"

# The pinned version is the one go.mod requires (its single source of truth).
TRAEFIK_VERSION="$(k8s_required_version "$TRAEFIK_RECIPE_DIR/go.mod" github.com/traefik/traefik/v3)"
# The lego version whose local copy go.mod's replace points at (build.sh makes it).
LEGO_VERSION="$(k8s_required_version "$TRAEFIK_RECIPE_DIR/go.mod" github.com/go-acme/lego/v5)"
if [[ -z "$TRAEFIK_VERSION" || -z "$LEGO_VERSION" ]]; then
  echo "traefik: cannot read the pinned versions from $TRAEFIK_RECIPE_DIR/go.mod" >&2
  return 1
fi

# Everything built lives outside the repository (STEGO_TRAEFIK_CACHE overrides):
#   bin/traefik (+ .stamp)   src/  the module build.sh builds in (our wrapper and the lego copy)
TRAEFIK_CACHE="${STEGO_TRAEFIK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stego-cluster/traefik-${TRAEFIK_VERSION}}"
TRAEFIK_BIN="$TRAEFIK_CACHE/bin"
