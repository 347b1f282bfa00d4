#!/usr/bin/env python3
"""Serving benchmark: python-s2i's defaults against what users get from the alternatives.

Every configuration serves the same Django site (test/fixtures/bench_django), built once with
`assemble`, from the same virtualenv, on loopback. For each configuration, endpoint and
concurrency, wrk runs for a fixed time; we record requests/s, p99 latency, errors, and the RSS
of every process of the server (summed over its process tree) at the end of the run.

Configurations:
  python-s2i (auto)      `run`: mod_wsgi-express, tuned processes/threads, static files
  python-s2i (gunicorn)  `APP_SERVER=gunicorn run`
  sclorg gunicorn        the default OpenShift image's command: gunicorn, sync workers by its
                         formula min(2 x cores, (MiB - 43) / 40, 12), access log to stdout
  sclorg runserver       the default image's fallback when gunicorn is absent: Django runserver
  mod_wsgi-express       mod_wsgi-express's own defaults (1 process x 5 threads) + static alias

Writes serving.json (the raw data: every row, and the configurations that failed to start) and
one PNG per endpoint (requests/s against concurrency, its tEXt chunk python-s2i-data naming the
digest of the rows it drew) into --out, then prints the tables rendered from serving.json alone
(`serving.py --render serving.json` prints them again; `make lint` compares). A configuration
that does not answer fails the run (exit status 1) after the others were measured: a baseline
missing from the tables would make python-s2i's figures look better than they are.
"""
import argparse
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

ENDPOINTS = {
    "io": "/io",  # 50 ms wait per request, as a database call would
    "cpu": "/cpu",  # ~5 ms of pure-Python work
    "static": "/static/bench/site.css",  # a 9 kB static file
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def descendants(pid):
    """pid and every process below it, from /proc/PID/task/*/children."""
    seen, todo = [], [pid]
    while todo:
        p = todo.pop()
        seen.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return seen


def rss_mib(pid):
    total = 0
    for p in descendants(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def wait_ok(port, proc, timeout=90):
    """True once GET / answers 200; False when PROC exits first or TIMEOUT passes."""
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
                if r.status == 200:
                    return True
        except OSError:
            time.sleep(0.1)
    return False


UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def parse_wrk(text):
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    p50 = re.search(r"^\s+50%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    errors = int(non2xx.group(1)) if non2xx else 0
    if sock:
        # Read errors are servers closing the connection after a response (runserver does so
        # on every request, wrk reconnects); connect, write and timeout errors are failures.
        connect, _read, write, timeout = (int(g) for g in sock.groups())
        errors += connect + write + timeout
    return {
        "rps": float(rps.group(1)) if rps else 0.0,
        "p50_ms": float(p50.group(1)) * UNITS[p50.group(2)] if p50 else None,
        "p99_ms": float(p99.group(1)) * UNITS[p99.group(2)] if p99 else None,
        "errors": errors,
    }


def stop(proc):
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def configurations(args):
    root = args.app_root
    src = os.path.join(root, "src")
    venv_bin = os.path.join(root, "bin")
    with open(os.path.join(root, ".python-s2i", "facts.json")) as f:
        facts = json.load(f)
    static_root = facts["django"]["static_root"]
    cores = os.cpu_count() or 1
    sclorg_workers = max(1, min(2 * cores, 12))  # no memory limit on this host
    # The bench site has no database: no configuration migrates (run would by default).
    env = dict(os.environ, APP_ROOT=root, PATH=f"{venv_bin}:{os.environ['PATH']}", DISABLE_MIGRATE="1")
    env.pop("WEB_CONCURRENCY", None)
    user = ["--user", "nobody", "--group", "nogroup"] if os.getuid() == 0 else []
    return [
        ("python-s2i (auto)", [args.run], env, src),
        ("python-s2i (gunicorn)", [args.run], dict(env, APP_SERVER="gunicorn"), src),
        (
            f"sclorg gunicorn ({sclorg_workers} sync workers)",
            [f"{venv_bin}/gunicorn", "benchsite.wsgi", "--bind=0.0.0.0:{port}",
             f"--workers={sclorg_workers}", "--access-logfile=-"],
            env,
            src,
        ),
        ("sclorg runserver", [f"{venv_bin}/python", "manage.py", "runserver", "0.0.0.0:{port}"], env, src),
        (
            "mod_wsgi-express defaults",
            [f"{venv_bin}/mod_wsgi-express", "start-server", "--port", "{port}", "--log-to-terminal",
             "--server-root", os.path.join(args.out_tmp, "mod_wsgi-defaults"),
             "--python-path", src, "--application-type", "module", "--entry-point", "benchsite.wsgi",
             "--url-alias", "/static/", static_root.rstrip("/") + "/"] + user,
            env,
            src,
        ),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    if sys.argv[1:2] == ["--render"]:
        with open(sys.argv[2]) as f:
            data = json.load(f)
        if isinstance(data, list):  # the format before failures were recorded
            data = dict(rows=data, failed=[])
        render(data)
        return 0
    parser.add_argument("--app-root", required=True, help="APP_ROOT where assemble built the bench site")
    parser.add_argument("--run", required=True, help="the run executable")
    parser.add_argument("--out", required=True, help="directory for results.json and plots")
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--concurrency", default="1,8,32,64,128")
    parser.add_argument("--endpoints", default=",".join(ENDPOINTS), help="comma-separated: io, cpu, static")
    parser.add_argument("--only", help="comma-separated configuration name prefixes")
    args = parser.parse_args()
    args.out_tmp = os.path.join(args.app_root, "..", "bench-tmp")
    os.makedirs(args.out, exist_ok=True)
    os.makedirs(args.out_tmp, exist_ok=True)
    levels = [int(c) for c in args.concurrency.split(",")]
    results, failed = [], []
    for name, argv, env, cwd in configurations(args):
        if args.only and not any(name.startswith(p) for p in args.only.split(",")):
            continue
        port = free_port()
        argv = [a.replace("{port}", str(port)) for a in argv]
        log = open(os.path.join(args.out_tmp, re.sub(r"\W+", "_", name) + ".log"), "w")
        started = time.time()
        proc = subprocess.Popen(argv, env=dict(env, PORT=str(port)), cwd=cwd, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            if not wait_ok(port, proc):
                log.flush()
                with open(log.name) as f:
                    tail = f.read()[-2000:]
                exited = proc.poll()
                reason = "exited before answering" if exited is not None else "did not answer 200 on / within 90 s"
                print(f"# {name}: {reason}; its output:\n{tail}", file=sys.stderr)
                failed.append(dict(config=name, reason=reason, exit_status=exited))
                continue
            print(f"# {name}: first 200 after {time.time() - started:.2f} s", file=sys.stderr)
            for endpoint, path in ENDPOINTS.items():
                if endpoint not in args.endpoints.split(","):
                    continue
                for c in levels:
                    out = subprocess.run(
                        ["wrk", f"-t{min(2, c)}", f"-c{c}", f"-d{args.duration}s", "--latency",
                         "--timeout", "10s", f"http://127.0.0.1:{port}{path}"],
                        capture_output=True, text=True, check=True).stdout
                    row = dict(config=name, endpoint=endpoint, concurrency=c, **parse_wrk(out),
                               rss_mib=round(rss_mib(proc.pid), 1))
                    results.append(row)
                    print(f"#   {endpoint:6} c={c:<3} {row['rps']:9.1f} req/s  p50 {row['p50_ms']} ms  p99 {row['p99_ms']} ms  "
                          f"errors {row['errors']}  rss {row['rss_mib']} MiB", file=sys.stderr)
        finally:
            stop(proc)
            log.close()
    data = dict(rows=results, failed=failed, levels=levels)
    with open(os.path.join(args.out, "serving.json"), "w") as f:
        json.dump(data, f, indent=1)
    plot(results, levels, args.out)
    render(data)
    return 1 if failed else 0


def render(data):
    """The section's tables, from serving.json's data alone."""
    print_table(data["rows"])
    for f in data["failed"]:
        print(f"\n**{f['config']} failed to start** ({f['reason']}; exit status {f['exit_status']}): "
              "it is missing from the tables, and the run failed.")
    print_goals(data["rows"])
    for title, endpoint in (("I/O-bound view", "io"), ("CPU-bound view", "cpu"), ("static file", "static")):
        print(f"\n![requests/s against concurrency, {title}](benchmarks/serving-{endpoint}.png)")


PLOT_KEY = "python-s2i-data"


def plot_series(results, endpoint):
    """What the ENDPOINT plot draws: per configuration, (concurrency, successful requests/s)."""
    series = {}
    for config in dict.fromkeys(r["config"] for r in results):
        rows = [r for r in results if r["config"] == config and r["endpoint"] == endpoint]
        # Requests that failed (non-2xx, e.g. static files a server does not serve) do not count.
        series[config] = [[r["concurrency"], r["rps"] if r["errors"] == 0 else 0] for r in rows]
    return series


def plot_digest(results, endpoint):
    text = json.dumps(plot_series(results, endpoint), sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def print_table(results):
    print("| configuration | endpoint | concurrency | requests/s | p50 (ms) | p99 (ms) | errors | RSS (MiB) |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        p50 = f"{r['p50_ms']:.1f}" if r.get("p50_ms") is not None else "-"
        p99 = f"{r['p99_ms']:.1f}" if r["p99_ms"] is not None else "-"
        print(f"| {r['config']} | {r['endpoint']} | {r['concurrency']} | {r['rps']:.0f} | {p50} | {p99} | "
              f"{r['errors']} | {r['rss_mib']:.0f} |")


PEER_DEFAULTS = ("sclorg gunicorn", "sclorg runserver", "mod_wsgi-express defaults")


def print_goals(results, concurrency=64):
    """The serving goals (issue 11), judged from this run's rows: on the I/O route, at least 2x
    the best peer default's requests/s with a lower p99; on the CPU route, within 5% of the best
    peer default's requests/s with a lower p99. A peer's row with errors does not count."""
    def row(config, endpoint):
        return next((r for r in results if r["config"] == config and r["endpoint"] == endpoint
                     and r["concurrency"] == concurrency), None)

    print()
    print(f"Goals at c={concurrency}, against the best peer default (most requests/s without errors):")
    print()
    print("| route | python-s2i (auto) | best peer default | goal | met | what limits it |")
    print("| --- | --- | --- | --- | --- | --- |")
    for endpoint, factor, goal in (("io", 2.0, ">= 2x its requests/s, lower p99"),
                                   ("cpu", 0.95, "within 5% of its requests/s, lower p99")):
        ours = row("python-s2i (auto)", endpoint)
        peers = [r for r in (row(c, endpoint) for c in {r["config"] for r in results}
                             if c.startswith(PEER_DEFAULTS)) if r and r["errors"] == 0]
        if ours is None or not peers:
            print(f"| {endpoint} | not measured | - | {goal} | - | - |")
            continue
        best = max(peers, key=lambda r: r["rps"])
        met = (ours["errors"] == 0 and ours["rps"] >= factor * best["rps"]
               and ours["p99_ms"] is not None and best["p99_ms"] is not None
               and ours["p99_ms"] < best["p99_ms"])
        print(f"| {endpoint} | {ours['rps']:.0f} req/s, p99 {ours['p99_ms']:.0f} ms | "
              f"{best['config']}: {best['rps']:.0f} req/s, p99 {best['p99_ms']:.0f} ms | {goal} | "
              f"{'yes' if met else 'no'} | {'-' if met else limit(endpoint, ours, best, row)} |")


def limit(endpoint, ours, best, row):
    """What keeps python-s2i (auto) from a serving goal, from the same run's figures."""
    if endpoint != "cpu":
        return "see the rows above"
    peer_io = row(best["config"], "io")
    io = f"; the same workers serve the io route at {peer_io['rps']:.0f} req/s" if peer_io else ""
    def ms(value):
        return "-" if value is None else f"{value:.0f}"
    return (f"a median of {ms(ours['p50_ms'])} ms (the peer: {ms(best['p50_ms'])} ms) with a longer tail: "
            "the threads that let the io route through take turns on each process's GIL in no set "
            f"order, where sync workers serve one request each, in arrival order{io}")


def plot(results, levels, out):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("# matplotlib not available: no plots", file=sys.stderr)
        return
    for endpoint in ENDPOINTS:
        fig, ax = plt.subplots(figsize=(7, 4.2))
        for config, points in plot_series(results, endpoint).items():
            ax.plot([c for c, _ in points], [rps for _, rps in points], marker="o", label=config)
        ax.set_xscale("log", base=2)
        ax.set_xticks(levels, [str(c) for c in levels])
        ax.set_xlabel("concurrent connections")
        ax.set_ylabel("successful requests/s")
        ax.set_title(f"Django '{endpoint}' endpoint ({ENDPOINTS[endpoint]})")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(os.path.join(out, f"serving-{endpoint}.png"), dpi=90,
                    metadata={PLOT_KEY: plot_digest(results, endpoint)})
        plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
