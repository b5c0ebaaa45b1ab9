#!/usr/bin/env bash
# HTTPS cost on the API port: one stego-worker plain and one with --tls-cert (a P-256 certificate
# made here by the openssl CLI), and curl's timings of GET /healthz, each request on a new
# connection (handshake included) and then N requests on one keep-alive connection.
#   bench/tls.sh [N]      (needs build/bin/stego-worker; prints medians and p95 in ms)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-200}
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$dir"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout "$dir/tls.key" -out "$dir/tls.crt" 2>/dev/null
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
plain=$(free_port); tls=$(free_port)
"$root/build/bin/stego-worker" --http 127.0.0.1:$plain --log-level warn --no-console >"$dir/plain.log" 2>&1 &
"$root/build/bin/stego-worker" --http 127.0.0.1:$tls --log-level warn --no-console \
  --tls-cert "$dir/tls.crt" --tls-key "$dir/tls.key" >"$dir/tls.log" 2>&1 &
for url in http://127.0.0.1:$plain/healthz https://127.0.0.1:$tls/healthz; do
  until curl -fsS --cacert "$dir/tls.crt" -o /dev/null "$url" 2>/dev/null; do sleep 0.1; done
done
stats() { sort -n | awk '{v[NR]=$1} END {printf "median %.3f ms  p95 %.3f ms  (n=%d)\n", v[int(NR/2)+1]*1000, v[int(NR*0.95)]*1000, NR}'; }
for scheme in http https; do
  port=$plain; [[ $scheme == https ]] && port=$tls
  url=$scheme://127.0.0.1:$port/healthz
  echo "$scheme, a new connection per request (time_total):"
  for _ in $(seq "$n"); do curl -sS --cacert "$dir/tls.crt" -o /dev/null -w '%{time_total}\n' "$url"; done | stats
  if [[ $scheme == https ]]; then
    echo "https, TLS handshake alone (time_appconnect - time_connect):"
    for _ in $(seq "$n"); do
      curl -sS --cacert "$dir/tls.crt" -o /dev/null -w '%{time_connect} %{time_appconnect}\n' "$url"
    done | awk '{print $2-$1}' | stats
  fi
  echo "$scheme, time to first byte after the connection is ready (time_starttransfer - time_appconnect or time_connect):"
  for _ in $(seq "$n"); do
    curl -sS --cacert "$dir/tls.crt" -o /dev/null -w '%{time_connect} %{time_appconnect} %{time_starttransfer}\n' "$url"
  done | awk '{ready = $2 > 0 ? $2 : $1; print $3 - ready}' | stats
  echo "$scheme, $n requests on one keep-alive connection (each after the first):"
  args=(); for _ in $(seq "$n"); do args+=(-o /dev/null "$url"); done
  curl -sS --cacert "$dir/tls.crt" -w '%{time_total} %{num_connects}\n' "${args[@]}" | awk '$2==0 {print $1}' | stats
done
