#!/usr/bin/env bash
# Makes the base image docker.io/library/debian:bookworm-slim ourselves, from Debian packages:
# nothing can be pulled from a registry here, so the name the Dockerfiles say FROM is our own image.
#   debootstrap --variant=minbase bookworm from the machine's Debian mirror, slimmed the way
#   Debian's official slim images are (no docs, man pages or locales; apt lists dropped), then
#   buildah from scratch + add of the rootfs tar + commit, into the buildah storage in the cache.
#
#   images/base.sh           build if missing or stale (1.5-2 min cold); else nothing
#   images/base.sh --force   rebuild anyway
#
# The stamp ($IMAGES_CACHE/base.stamp) holds this script's hash, the debootstrap version and the
# mirror: a change of any of them rebuilds. Needs root (debootstrap) and the network. The caller
# holds $IMAGES_LOCK (images/build.sh does).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"

force=0
case "${1:-}" in --force) force=1 ;; -h|--help) sed -n '2,13p' "$0"; exit 0 ;; "") ;; *) echo "base.sh: unknown argument: $1" >&2; exit 2 ;; esac
log() { echo "images/base: $*" >&2; }

# The Debian mirror apt uses here (deb822 .sources or one-line .list), for bookworm's main suite.
sources=()
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
  [[ -f "$f" ]] && sources+=("$f")
done
mirror="${STEGO_DEBIAN_MIRROR:-$(
  awk '/^deb / && $3 == "bookworm" { print $2; exit }
       /^URIs:/ { uri = $2 } /^Suites:/ && / bookworm( |$)/ && uri != "" { print uri; exit }
       /^$/ { uri = "" }' "${sources[@]}" /dev/null
)}"
[[ -n "$mirror" ]] || { log "no bookworm mirror in /etc/apt/sources.list*; set STEGO_DEBIAN_MIRROR"; exit 1; }

stamp_file="$IMAGES_CACHE/base.stamp"
stamp="$(sha256sum < "$0")
debootstrap $(dpkg-query -W -f='${Version}' debootstrap)
$mirror"
if [[ $force == 0 && -f "$stamp_file" && "$(cat "$stamp_file")" == "$stamp" ]] &&
   "${BUILDAH[@]}" inspect --type image "$BASE_IMAGE" >/dev/null 2>&1; then
  log "up to date: $BASE_IMAGE"
  exit 0
fi

start=$(date +%s)
work="$IMAGES_CACHE/base.tmp"
rm -rf "$work"
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"
log "debootstrap --variant=minbase bookworm from $mirror (cold: minutes)"
nice -n 19 debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
  { tail -n 30 "$work/debootstrap.log" >&2; log "debootstrap failed"; exit 1; }

# Slim it as Debian's bookworm-slim is: packages installed later skip docs, man pages and locales
# (copyright files stay), and apt keeps no downloaded lists or packages.
cat > "$rootfs/etc/dpkg/dpkg.cfg.d/slim" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
CFG
cat > "$rootfs/etc/apt/apt.conf.d/docker-clean" <<'CFG'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Binary::apt::APT::Keep-Downloaded-Packages "false";
Acquire::Languages "none";
APT::Install-Recommends "false";
CFG
find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$rootfs"/usr/share/{man,info,locale,lintian}/* "$rootfs"/var/lib/apt/lists/* \
  "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/log/*.log
# No host identity in the image: the runtime provides these.
: > "$rootfs/etc/hostname"
: > "$rootfs/etc/resolv.conf"

tar -C "$rootfs" --numeric-owner -cf "$work/rootfs.tar" .
ctr=$("${BUILDAH[@]}" from scratch)
"${BUILDAH[@]}" add -q "$ctr" "$work/rootfs.tar" /
"${BUILDAH[@]}" config --cmd /bin/bash --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --label org.opencontainers.image.description="Debian bookworm minbase, debootstrap $(dpkg-query -W -f='${Version}' debootstrap), built by stego-cluster images/base.sh" \
  "$ctr"
"${BUILDAH[@]}" commit -q --rm "$ctr" "$BASE_IMAGE" >/dev/null
# The previous base, now untagged, and the image layers cached on it are of no further use.
"${BUILDAH[@]}" rmi --prune >/dev/null
echo "$stamp" > "$stamp_file"
log "$BASE_IMAGE built in $(($(date +%s) - start)) s"
