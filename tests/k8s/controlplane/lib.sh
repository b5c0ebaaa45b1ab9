# shellcheck shell=bash disable=SC2034,SC2154  # (run_dir and log come from the caller)
# Shared settings for the test control plane scripts. Source it; do not run it.
#
# The pinned versions are read from the wrapper modules' go.mod files, which
# are the single source of truth:
#   tests/k8s/controlplane/go.mod       k8s.io/kubernetes (apiserver, controller-manager, kubectl,
#                                       kubelet, kube-proxy, kube-scheduler)
#   tests/k8s/controlplane/etcd/go.mod  go.etcd.io/etcd/server/v3 (etcd)

K8S_RECIPE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# ---------------------------------------------------------------- components
# Used by up.sh, down.sh and restart-apiserver.sh on one run directory. They
# expect $run_dir and a log function from the caller. Defined before the
# version check below, so that down.sh can always tear a run down.
K8S_READY_TIMEOUT="${STEGO_K8S_READY_TIMEOUT:-180}"
K8S_STOP_TIMEOUT="${STEGO_K8S_STOP_TIMEOUT:-15}"

# k8s_record NAME COMMAND... : remembers how component NAME is started (the full
# command, nice prefix included, and the environment it inherits) in cmd/, so
# restart-apiserver.sh can start it again exactly the same way. NUL-separated,
# because flags may hold spaces.
k8s_record() {
  local name=$1; shift
  mkdir -p "$run_dir/cmd"
  printf '%s\0' "$@" > "$run_dir/cmd/$name.args"
  env -0 > "$run_dir/cmd/$name.env"
  chmod 600 "$run_dir/cmd/$name.args" "$run_dir/cmd/$name.env"
}

# k8s_spawn NAME : starts the recorded command of NAME in its own session (so
# its own process group), appending to logs/NAME.log. The process itself writes
# its pid, so pids/NAME.pid is the group id that down.sh stops.
k8s_spawn() {
  local name=$1 args envs i
  local pid_file="$run_dir/pids/$name.pid"
  mapfile -d '' -t args < "$run_dir/cmd/$name.args"
  mapfile -d '' -t envs < "$run_dir/cmd/$name.env"
  ((${#args[@]} > 0)) || { log "no recorded command for $name in $run_dir/cmd"; return 1; }
  rm -f "$pid_file"  # (a restart: wait for the new pid, not the old one)
  log "starting $name"
  # shellcheck disable=SC2016
  env -i "${envs[@]}" setsid bash -c 'echo $$ > "$0"; exec "$@"' "$pid_file" "${args[@]}" \
    </dev/null >>"$run_dir/logs/$name.log" 2>&1 &
  for ((i = 0; i < 50; i++)); do [[ -s "$pid_file" ]] && return 0; sleep 0.1; done
  log "$name did not start"; return 1
}

k8s_alive() { local pid; pid=$(cat "$run_dir/pids/$1.pid" 2>/dev/null) && kill -0 "$pid" 2>/dev/null; }

# k8s_wait_for NAME URL CURL_ARGS... : until URL answers 200 with body "ok"
# (etcd: "health":"true"), for at most K8S_READY_TIMEOUT s.
k8s_wait_for() {
  local name=$1 url=$2; shift 2
  local deadline=$((SECONDS + K8S_READY_TIMEOUT)) body
  while ((SECONDS < deadline)); do
    k8s_alive "$name" || { log "$name exited (see $run_dir/logs/$name.log)"; return 1; }
    body="$(curl -sf --max-time 5 "$@" "$url" 2>/dev/null || true)"
    if [[ "$body" == ok || "$body" == *'"health":"true"'* ]]; then
      log "$name is healthy"; return 0
    fi
    sleep 0.5
  done
  log "$name not healthy within ${K8S_READY_TIMEOUT}s ($url)"; return 1
}

# Every process in a group, so a child a component may have spawned counts too.
k8s_group_alive() { pgrep -g "$1" >/dev/null 2>&1; }

# k8s_stop NAME : SIGTERM to NAME's process group, SIGKILL after
# K8S_STOP_TIMEOUT s; removes its pid file. Fails if the group survives.
k8s_stop() {
  local name=$1 pid_file="$run_dir/pids/$1.pid" pgid deadline
  [[ -s "$pid_file" ]] || return 0
  pgid="$(cat "$pid_file")"
  if k8s_group_alive "$pgid"; then
    kill -TERM -- "-$pgid" 2>/dev/null
    deadline=$((SECONDS + K8S_STOP_TIMEOUT))
    while k8s_group_alive "$pgid" && ((SECONDS < deadline)); do sleep 0.2; done
    if k8s_group_alive "$pgid"; then
      log "$name (group $pgid) still running ${K8S_STOP_TIMEOUT}s after SIGTERM; SIGKILL"
      kill -KILL -- "-$pgid" 2>/dev/null
      # A killed process stays a zombie until its parent (init here, which
      # reaps lazily) collects it; allow for that.
      deadline=$((SECONDS + 5))
      while k8s_group_alive "$pgid" && ((SECONDS < deadline)); do sleep 0.2; done
    fi
    if k8s_group_alive "$pgid"; then
      log "$name (group $pgid) is still running"; return 1
    fi
    log "stopped $name"
  fi
  rm -f "$pid_file"
}

# ---------------------------------------------------------------- certificates
# Used by up.sh and tests/k8s/node/up.sh on $run_dir/pki (the run's CA).
k8s_ossl() { openssl "$@" 2>>"$run_dir/logs/openssl.log"; }

# k8s_issue NAME SUBJECT EXTENSIONS [CA] : pki/NAME.key and pki/NAME.crt,
# signed by pki/CA (default: the run's CA "ca").
k8s_issue() {
  local name=$1 subj=$2 ext=$3 ca=${4:-ca} pki="$run_dir/pki"
  k8s_ossl req -new -newkey rsa:2048 -nodes -sha256 -keyout "$pki/$name.key" -out "$pki/$name.csr" -subj "$subj"
  printf '%s\n' "$ext" > "$pki/$name.ext"
  k8s_ossl x509 -req -sha256 -days 7 -in "$pki/$name.csr" -CA "$pki/$ca.crt" -CAkey "$pki/$ca.key" \
    -CAcreateserial -out "$pki/$name.crt" -extfile "$pki/$name.ext"
  rm -f "$pki/$name.csr" "$pki/$name.ext"
}

# k8s_write_kubeconfig FILE USER CERT_NAME [with-token] : a kubeconfig for
# $APISERVER_URL with the client certificate pki/CERT_NAME; with-token adds
# the context "stego-token" with $ADMIN_TOKEN.
k8s_write_kubeconfig() {
  local file=$1 user=$2 cert=$3 with_token=${4:-} pki="$run_dir/pki"
  cat > "$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: stego-test
  cluster:
    server: $APISERVER_URL
    certificate-authority-data: $(base64 -w0 < "$pki/ca.crt")
users:
- name: $user
  user:
    client-certificate-data: $(base64 -w0 < "$pki/$cert.crt")
    client-key-data: $(base64 -w0 < "$pki/$cert.key")
$([[ -n "$with_token" ]] && printf -- '- name: %s-token\n  user:\n    token: %s' "$user" "$ADMIN_TOKEN")
contexts:
- name: stego-test
  context:
    cluster: stego-test
    user: $user
$([[ -n "$with_token" ]] && printf -- '- name: stego-token\n  context:\n    cluster: stego-test\n    user: %s-token' "$user")
current-context: stego-test
EOF
  chmod 600 "$file"
}

# ---------------------------------------------------------------- versions
# Prints the version that go.mod file $1 requires of module $2.
k8s_required_version() {
  awk -v m="$2" '
    $1 == "require" && $2 == m && $3 ~ /^v/ { print $3; exit }
    $1 == m && $2 ~ /^v/ { print $2; exit }' "$1"
}
K8S_VERSION="$(k8s_required_version "$K8S_RECIPE_DIR/go.mod" k8s.io/kubernetes)"
ETCD_VERSION="$(k8s_required_version "$K8S_RECIPE_DIR/etcd/go.mod" go.etcd.io/etcd/server/v3)"
if [[ -z "$K8S_VERSION" || -z "$ETCD_VERSION" ]]; then
  echo "controlplane: cannot read pinned versions from $K8S_RECIPE_DIR/go.mod and etcd/go.mod" >&2
  return 1
fi

# Everything built or downloaded lives in one directory outside the repository,
# so a CI machine can cache exactly that directory:
#   bin/        kube-apiserver, kube-controller-manager, kubectl, etcd (+ .stamp)
#   go/pkg/mod  GOMODCACHE used for the build
#   go/cache    GOCACHE used for the build
# STEGO_K8S_CACHE overrides the location.
K8S_CACHE="${STEGO_K8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stego-cluster/k8s-${K8S_VERSION}}"
K8S_BIN="$K8S_CACHE/bin"

# k8s_go_env CACHE: the Go settings of every upstream build of the test tools (the control plane,
# the pod runner, Helm, Traefik, CoreDNS): static, from the proxy, with the module and build caches
# in CACHE (K8S_CACHE for the k8s.io-based tools, which share it so client-go builds once).
# -modcacherw: the module cache can be deleted with rm -rf; -mod=readonly: never touch a
# go.mod/go.sum in the repository.
k8s_go_env() {
  local cache=$1
  export GOPATH="$cache/go" GOMODCACHE="$cache/go/pkg/mod" GOCACHE="$cache/go/cache"
  export GOFLAGS="-modcacherw -mod=readonly -buildvcs=false" GOTOOLCHAIN=local CGO_ENABLED=0
}

# Heavy work runs at the lowest CPU and I/O priority: the machine is shared
# with benchmarks and CI.
K8S_NICE=(nice -n 19)
if command -v ionice >/dev/null 2>&1 && ionice -c3 true 2>/dev/null; then
  K8S_NICE+=(ionice -c3)
fi
