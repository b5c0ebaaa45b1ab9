#!/usr/bin/env bash
# Installs every Debian package the build, tests and benchmarks need. Idempotent: when all packages
# are present it does nothing (no apt-get update, no network), so both README commands can call it.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git curl ca-certificates
  libboost-dev libboost-program-options-dev libboost-system-dev
  libcpprest-dev
  libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev
  nlohmann-json3-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  zlib1g-dev libssl-dev libdeflate-dev
  librocksdb-dev
  iproute2 util-linux
  libyaml-cpp-dev
  clang libclang-rt-14-dev
  python3
  python3-pip python3-yaml
  # The web console's build (web/build.sh: TypeScript and esbuild from the npm registry) and its
  # browser test (Debian's Chromium, driven by playwright-core).
  nodejs chromium
  buildah skopeo umoci runc debootstrap debian-archive-keyring
  # The real test node (tests/k8s/node; runc and umoci above): container runtime and CNI plugins,
  # kube-proxy's iptables, busybox-static for the node's test image.
  containerd containernetworking-plugins iptables conntrack busybox-static
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -q
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
