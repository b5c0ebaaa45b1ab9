#!/usr/bin/env python3
"""Runs the prototype's server and our stego-worker side by side and writes the table.

Called by compare.sh, which builds the binaries. Both servers run on loopback at the same time, from
a scratch directory outside the repository, on the same cover (the prototype's generated 1920x1080
assets/cover.png, given to ours with --cover) and the same secrets (PNGs from the prototype's own
/api/dataset/{i}, which its loadgen and GUI embed). The load itself is bench/embed_load (--target):
POST multipart `file`=<secret> to /api/embed, N clients, each on a kept-alive connection. Rounds
interleave the servers at each client count; the table gives the medians over the rounds.
Standard library only.
"""
import argparse
import base64
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone

BEGIN, END = "<!-- prototype-compare:begin -->", "<!-- prototype-compare:end -->"
TICKS = os.sysconf("SC_CLK_TCK")


def fail(message):
    sys.exit(f"compare.py: {message}")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name in ("prototype-server", "prototype-loadgen", "worker", "embed-load", "docs"):
        p.add_argument(f"--{name}", required=True)
    p.add_argument("--prototype-lock", default="", help="the prototype's Cargo.lock, for the crate versions")
    p.add_argument("--prototype-commit", default="unknown")
    p.add_argument("--command", default="bash bench/prototype/compare.sh PROTOTYPE")
    p.add_argument("--clients", default="1,4,16")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--requests-per-client", type=int, default=25)
    p.add_argument("--secrets", default=",".join(map(str, range(1, 25))),
                   help="indices of the prototype's /api/dataset/{i} (default 1..24: ~0.67-1.27 MB PNGs)")
    p.add_argument("--ports", type=int, default=18010, help="prototype on this port, ours on the next")
    p.add_argument("--route", default="/api/embed", help="our route (the prototype's is always /api/embed)")
    p.add_argument("--no-docs", action="store_true", help="print the section only")
    return p.parse_args()


def http(url, body=None, content_type=None, timeout=60):
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type} if content_type else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read()


def multipart(field, filename, data):
    boundary = "stegocompare7d1e"
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n").encode()
    return head + data + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


class Server:
    """A child process with its log in the scratch directory; stopped by stop() or at exit."""

    def __init__(self, name, argv, cwd, port, env=None):
        self.name, self.port, self.log = name, port, os.path.join(cwd, f"{name}.log")
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(argv, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                                         env={**os.environ, **(env or {})}, start_new_session=True)
        self.url = f"http://127.0.0.1:{port}"

    def wait_ready(self, limit=60):
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                fail(f"{self.name} exited with {self.proc.returncode}; see {self.log}")
            try:
                if http(self.url + "/healthz", timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        fail(f"{self.name} not ready on port {self.port} after {limit} s; see {self.log}")

    def cpu_seconds(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def stego_png(content_type, body):
    """The stego PNG from an embed answer: raw (our /api/v1) or stego_image_b64 (the prototype's JSON)."""
    if "json" in content_type:
        return base64.b64decode(json.loads(body)["stego_image_b64"])
    return body


def recovered(content_type, body):
    if "json" in content_type:
        doc = json.loads(body)
        return base64.b64decode(doc.get("recovered_b64") or doc.get("data_b64"))
    return body


def check_round_trip(server, route, secrets):
    """Embeds each secret once, checks the answer is a PNG that the same server extracts back to the
    secret, and returns the PNG sizes."""
    extract_route = route.replace("embed", "extract")
    sizes = []
    for path in secrets:
        with open(path, "rb") as f:
            secret = f.read()
        status, ctype, body = http(server.url + route, *multipart("file", os.path.basename(path), secret))
        if status != 200:
            fail(f"{server.name}: embed of {path} answered {status}: {body[:300]!r}")
        png = stego_png(ctype, body)
        if not png.startswith(b"\x89PNG\r\n\x1a\n"):
            fail(f"{server.name}: embed of {path} did not answer a PNG")
        status, ctype, body = http(server.url + extract_route, *multipart("file", "stego.png", png))
        if status != 200 or recovered(ctype, body) != secret:
            fail(f"{server.name}: extract of the stego PNG of {path} did not give the secret back ({status})")
        sizes.append(len(png))
    return sizes


def run_load(args, server, route, secrets, clients, requests_per_client, warmup=0):
    argv = [args.embed_load, "--target", f"127.0.0.1:{server.port}", "--route", route, "--field", "file",
            "--secrets", ",".join(secrets), "--clients", str(clients), "--requests-per-client",
            str(requests_per_client), "--warmup", str(warmup), "--tsv"]
    cpu_before = server.cpu_seconds()
    out = subprocess.run(argv, capture_output=True, text=True)
    cpu = server.cpu_seconds() - cpu_before
    if out.returncode != 0:
        fail(f"embed_load against {server.name} failed ({out.returncode}): {out.stderr.strip()}")
    header, row = out.stdout.strip().splitlines()[-2:]
    r = dict(zip(header.split("\t"), row.split("\t")))
    statuses = dict(tuple(map(int, s.split(":"))) for s in r["statuses"].split())
    ok = statuses.get(200, 0)
    return {"rps": float(r["requests_per_s"]), "p50": float(r["p50_ms"]), "p95": float(r["p95_ms"]),
            "p99": float(r["p99_ms"]), "requests": int(r["requests"]), "statuses": statuses,
            "cpu_ms": 1000 * cpu / ok if ok else float("nan")}


def crate_versions(lock_path, names=("axum", "tokio", "image", "png", "flate2", "rocksdb")):
    try:
        text = open(lock_path).read()
    except OSError:
        return "unknown"
    found = re.findall(r'name = "([^"]+)"\nversion = "([^"]+)"', text)
    return ", ".join(f"{n} {v}" for n, v in found if n in names) or "unknown"


def machine():
    model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
                 "unknown CPU")
    return f"{os.cpu_count()} CPUs ({model})"


def loadavg():
    return " ".join(open("/proc/loadavg").read().split()[:3])


def median(runs, key):
    return statistics.median(run[key] for run in runs)


def refused_text(runs):
    total = sum(run["requests"] for run in runs)
    bad = {}
    for run in runs:
        for status, n in run["statuses"].items():
            if status != 200:
                bad[status] = bad.get(status, 0) + n
    if not bad:
        return f"0 of {total}"
    detail = ", ".join(f"{n}× {'conn' if s == 0 else s}" for s, n in sorted(bad.items()))
    return f"{sum(bad.values())} of {total} ({detail})"


def table(results, clients_list, png):
    lines = ["| clients | prototype req/s | ours req/s | ratio | p50 ms prototype / ours | "
             "p95 ms prototype / ours | refused prototype / ours | CPU ms/embed prototype / ours | PNG bytes prototype / ours |",
             "|---:|---:|---:|---:|---:|---:|---|---:|---:|"]
    for c in clients_list:
        p, o = results["prototype"][c], results["ours"][c]
        lines.append(f"| {c} | {median(p, 'rps'):.1f} | {median(o, 'rps'):.1f} | "
                     f"{median(o, 'rps') / median(p, 'rps'):.2f}× | {median(p, 'p50'):.1f} / {median(o, 'p50'):.1f} | "
                     f"{median(p, 'p95'):.1f} / {median(o, 'p95'):.1f} | {refused_text(p)} / {refused_text(o)} | "
                     f"{median(p, 'cpu_ms'):.1f} / {median(o, 'cpu_ms'):.1f} | "
                     f"{statistics.mean(png['prototype']):,.0f} / {statistics.mean(png['ours']):,.0f} |")
    return lines


def targets(results, clients_list):
    def rps(who, c):
        return median(results[who][c], "rps")

    lines = []
    for c in clients_list:
        ratio = rps("ours", c) / rps("prototype", c)
        rounds = {who: ", ".join(f"{run['rps']:.1f}" for run in results[who][c]) for who in results}
        lines.append(f"- {c} client{'s' if c > 1 else ''}: throughput {ratio:.2f}× the prototype's (target ≥ 2×): "
                     f"{'met' if ratio >= 2 else 'not met'} (req/s by round: prototype {rounds['prototype']}; "
                     f"ours {rounds['ours']})")
    if 1 in clients_list:
        p50 = median(results["ours"][1], "p50") / median(results["prototype"][1], "p50")
        lines.append(f"- p50 at one client: {p50:.2f}× the prototype's (target ≤ 0.5×): {'met' if p50 <= 0.5 else 'not met'}")
    if 16 in clients_list:
        refused = sum(n for run in results["ours"][16] for s, n in run["statuses"].items() if s != 200)
        lines.append(f"- refused at 16 clients: {refused} (target 0): {'met' if refused == 0 else 'not met'}")
    return lines


def indices_text(indices):
    numbers = [int(i) for i in indices.split(",")]
    if len(numbers) > 2 and numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"{numbers[0]}..{numbers[-1]}"
    return indices


def wrap(lines):
    """Wraps the prose lines (not table rows or code) at 100 columns, as the rest of the file."""
    out = []
    for line in lines:
        if line.startswith(("|", "```")) or not line:
            out.append(line)
        else:
            indent = "  " if line.startswith("- ") else ""
            out.extend(textwrap.wrap(line, 100, subsequent_indent=indent, break_on_hyphens=False))
    return out


def write_docs(path, section):
    text = open(path).read()
    if BEGIN not in text or END not in text:
        fail(f"{path} has no {BEGIN} ... {END} markers")
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    with open(path, "w") as f:
        f.write(head + BEGIN + "\n" + section + "\n" + END + tail)


def main():
    args = parse_args()
    clients_list = [int(c) for c in args.clients.split(",")]
    for path in (args.prototype_server, args.prototype_loadgen, args.worker, args.embed_load):
        if not os.access(path, os.X_OK):
            fail(f"not an executable: {path}")
    started = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load_start = loadavg()
    scratch = tempfile.mkdtemp(prefix="stego-prototype-compare-")
    servers = []
    # A signal ends the run through the finally below, which stops both servers.
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda s, _: sys.exit(f"compare.py: stopped by signal {s}"))
    ok = False
    try:
        # The prototype as one node: its config names n1 on loopback; it writes data/node-1 (RocksDB)
        # and, at first start, assets/cover.png (a 1920x1080 gradient) under its working directory.
        proto_dir = os.path.join(scratch, "prototype")
        os.makedirs(os.path.join(proto_dir, "config"))
        with open(os.path.join(proto_dir, "config", "cluster.yaml"), "w") as f:
            f.write(f'cluster_name: "compare"\nnodes:\n  - id: "n1"\n    ip: "127.0.0.1"\n'
                    f"    http_port: {args.ports}\n    raft_port: {args.ports}\n"
                    "stego:\n  lsb_per_channel: 1\n  compress: true\n  max_pixels: 0\n"
                    "gui:\n  status_poll_ms: 1000\nloadgen:\n  request_timeout_ms: 5000\n  max_retries: 2\n")
        prototype = Server("prototype", [args.prototype_server], proto_dir, args.ports,
                           env={"CONFIG_PATH": "config/cluster.yaml", "NODE_ID": "n1"})
        servers.append(prototype)
        prototype.wait_ready()
        cover = os.path.join(proto_dir, "assets", "cover.png")
        if not os.path.exists(cover):
            fail(f"the prototype wrote no {cover}")
        ours = Server("ours", [args.worker, "--http", f"127.0.0.1:{args.ports + 1}", "--cover", cover],
                      scratch, args.ports + 1)
        servers.append(ours)
        ours.wait_ready()

        # The secrets: the prototype's dataset images, fetched once.
        secrets_dir = os.path.join(scratch, "secrets")
        os.makedirs(secrets_dir)
        secrets = []
        for i in args.secrets.split(","):
            status, _, body = http(f"{prototype.url}/api/dataset/{i}")
            if status != 200:
                fail(f"the prototype's /api/dataset/{i} answered {status}")
            secrets.append(os.path.join(secrets_dir, f"dataset-{i}.png"))
            with open(secrets[-1], "wb") as f:
                f.write(body)
        secret_sizes = [os.path.getsize(s) for s in secrets]
        routes = {"prototype": "/api/embed", "ours": args.route}
        png = {who: check_round_trip(s, routes[who], secrets) for who, s in (("prototype", prototype), ("ours", ours))}
        for who, s in (("prototype", prototype), ("ours", ours)):
            run_load(args, s, routes[who], secrets, 1, 5)  # warm-up, not counted

        results = {"prototype": {c: [] for c in clients_list}, "ours": {c: [] for c in clients_list}}
        for r in range(args.rounds):
            order = [("prototype", prototype), ("ours", ours)]
            if r % 2:
                order.reverse()  # alternate who goes first, so neither always runs on a cooler machine
            for c in clients_list:
                for who, s in order:
                    run = run_load(args, s, routes[who], secrets, c, args.requests_per_client)
                    results[who][c].append(run)
                    print(f"round {r + 1} clients {c:2d} {who:9s} {run['rps']:6.1f} req/s p50 {run['p50']:6.1f} ms "
                          f"p95 {run['p95']:6.1f} ms cpu {run['cpu_ms']:5.1f} ms/embed statuses {run['statuses']}",
                          file=sys.stderr, flush=True)

        # The prototype's own loadgen against its own server, to check our driver's figures for it.
        loadgen = subprocess.run([args.prototype_loadgen, "--mode", "embed", "--num-clients", "4",
                                  "--reqs-per-client", "25", "--server-list", prototype.url],
                                 capture_output=True, text=True)
        if loadgen.returncode != 0:
            fail(f"the prototype's loadgen failed: {loadgen.stderr.strip()}")
        loadgen_out = loadgen.stdout[loadgen.stdout.find("=== Load Test Results"):].strip()
        load_end = loadavg()
        ok = True
    finally:
        for s in reversed(servers):
            s.stop()
        if ok:
            shutil.rmtree(scratch, ignore_errors=True)
        else:
            print(f"compare.py: scratch directory kept: {scratch}", file=sys.stderr)

    section = "\n".join(wrap([
        f"Run {started}: `{args.command}`; {args.rounds} rounds, {args.requests_per_client} requests per client, "
        f"medians over the rounds.",
        "",
        f"Machine: {machine()}; load average {load_start} at the start, {load_end} at the end. "
        f"Prototype commit `{args.prototype_commit[:12]}` ({crate_versions(args.prototype_lock)}).",
        "",
        f"Secrets: the prototype's `/api/dataset/{{i}}` PNGs for i in {indices_text(args.secrets)}, "
        f"{min(secret_sizes):,}–{max(secret_sizes):,} bytes (mean {statistics.mean(secret_sizes):,.0f}), sent in turn; "
        f"cover: the prototype's generated 1920×1080 `assets/cover.png` for both. Our route: `{args.route}`.",
        "",
        *table(results, clients_list, png),
        "",
        "PNG bytes: the mean stego PNG over the secrets, each embedded once and extracted back by the same server. "
        "Refused: answers other than 200, over all rounds. CPU: the server's utime+stime over a run divided by its "
        "successful embeds.",
        "",
        *targets(results, clients_list),
        "",
        "The prototype's own loadgen, 4 clients × 25 embeds against its server (each embed preceded by a "
        "`GET /api/dataset/{i}`, which its server renders and encodes):",
        "",
        "```",
    ]) + [loadgen_out, "```"])
    print(section)
    if not args.no_docs:
        write_docs(args.docs, section)
        print(f"compare.py: written into {args.docs}", file=sys.stderr)


if __name__ == "__main__":
    main()
