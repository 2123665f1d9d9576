"""Web-like peer benchmark of the fetch stage: wit vs img2dataset on thousands of hosts, with DNS.

bench_fetch.py has one host at one address and no DNS. This one plays a small web (tests/web_like.py):
by default 5,000 host names, each on its own 127.x.y.z address with its own latency, resolved by a
local DNS server (tests/dns_server.py) with per-name latency, where some names SERVFAIL, some are
NXDOMAIN, some never answer and some answer with no address; among the hosts that resolve, some
rate-limit (429 + Retry-After on their first requests and past 2 at once), some are unavailable
(503 + Retry-After on their first requests), some reset the connection mid-body (once per URL),
some wait 2-15 s before the first byte, some are gone (404); single URLs are dead links, HTML
pages or truncated images. URLs spread over the hosts Zipf-like: a few hosts hold many.

Everything runs in a private network namespace made for the run (`unshare -rnm`, no privileges
needed): only loopback exists there and /etc/resolv.conf is bind-mounted over with the run's own
(nameserver 127.0.0.1), so both tools resolve through the run's DNS server (img2dataset through
the system resolver, getaddrinfo; wit through whatever resolver it uses) and the machine's
resolver settings are untouched. Then img2dataset and `wit fetch` run on the same list, one after
the other, each as its own process tree under a wall-clock limit (a run past it is killed and
reported as hung), and the script prints for both: images/s (start-up included), CPU s per 1,000
stored images, peak RSS, outcomes by cause (read from each tool's per-sample parquet), URLs
accounted for, DNS queries the server answered (and lookups/s against requests/s), what the
hosts answered, and the ratios wit / img2dataset.

    scripts/setup-peers.sh                                  # img2dataset in .peers/img2dataset
    .venv/bin/python benchmarks/bench_fetch_web.py          # 5,000 hosts, 10,000 URLs, 512 in flight
    .venv/bin/python benchmarks/bench_fetch_web.py --quick  # 1,000 hosts, 2,000 URLs
    .venv/bin/python benchmarks/bench_fetch_web.py --wit-args "--retries 0"   # any `wit fetch` flags

The last line is a JSON object of the figures. With --timeline, wit runs under
benchmarks/fetch_timeline.py, which then prints where its wall time went (per-URL states, what
holds the download slots, the decode backlog, the cores busy, per 2 s window) and its own JSON
line last; the timing costs CPU, so images/s are quoted from runs without it. Adding --no-decode (wit
alone) makes every decode free, which shows the floor that the network and the 512 slots set.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_fetch import (  # noqa: E402 - after the path set-up
    PEERS_IMG2DATASET,
    TIMEOUT_S,
    _tree_rss_bytes,
    img2dataset_command,
    make_photo_pool,
    peer_env,
)

import private_net  # noqa: E402
from web_like import BEHAVIOURS, DEFAULT_HOST_SHARES, WebFarm, make_plan  # noqa: E402

# Causes of a failed URL, from the error message either tool writes (first match wins).
CAUSES = (
    ("dns", re.compile(r"name or service not known|name resolution|no address associated|nodename nor servname"
                       r"|could not contact dns|domain name not found|dns|getaddrinfo|resolv", re.I)),
    ("http_429", re.compile(r"\b(http|http error) 429\b", re.I)),
    ("http_503", re.compile(r"\b(http|http error) 503\b", re.I)),
    ("http_404", re.compile(r"\b(http|http error) 404\b", re.I)),
    ("http_other", re.compile(r"\b(http|http error) \d\d\d\b", re.I)),
    ("timeout", re.compile(r"timed? ?out|timeout", re.I)),
    ("reset_or_cut", re.compile(r"reset|incomplete|payload is not completed|connection closed|broken pipe|aborted"
                                r"|remote end closed|content length|truncated", re.I)),
    ("not_an_image", re.compile(r"cannot identify image|not an image|decod|image file is truncated|unidentified", re.I)),
)


def cause_of(status: str, error: str | None) -> str:
    if status == "success":
        return "success"
    for cause, pattern in CAUSES:
        if error and pattern.search(error):
            return cause
    if status in ("failed_to_resize", "failed_to_decode"):
        return "not_an_image"
    return f"other:{status}"


def outcomes(out: Path) -> tuple[Counter, Counter]:
    """(causes, sample errors not matched to a cause) over the per-sample parquet files."""
    import pyarrow.parquet as pq

    causes: Counter = Counter()
    unmatched: Counter = Counter()
    for path in sorted(glob.glob(str(out / "**" / "*.parquet"), recursive=True)):
        table = pq.read_table(path, columns=["status", "error_message"]).to_pylist()
        for row in table:
            cause = cause_of(row["status"], row["error_message"])
            causes[cause] += 1
            if cause.startswith("other"):
                unmatched[(row["error_message"] or "")[:100]] += 1
    return causes, unmatched


# ---- running a tool under a wall-clock limit ---------------------------------------------


def run_limited(command: list[str], log_path: Path, limit_s: float, env=None) -> dict:
    """Wall time, CPU (user+sys of the reaped tree), peak RSS of a command, killed at `limit_s`."""
    started = time.monotonic()
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO,
                                   start_new_session=True)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _tree_rss_bytes(process.pid))
            stop.wait(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    hung = False
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() - started > limit_s and not hung:
            hung = True
            os.killpg(process.pid, signal.SIGTERM)
            kill_at = time.monotonic() + 10
        if hung and time.monotonic() > kill_at:
            os.killpg(process.pid, signal.SIGKILL)
        time.sleep(0.1)
    wall = time.monotonic() - started
    stop.set()
    sampler.join()
    if hung:  # whatever of the tree outlived its leader
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    code = os.waitstatus_to_exitcode(status)
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mb": peak / 2**20,
            "exit_code": code, "hung": hung}


# ---- inside the namespace ------------------------------------------------------------------


class CountingDns:
    """The DNS server, in a process of its own (so that neither the web farm nor the tools share
    its interpreter lock), with queries counted by type as well as by name, and the lookups it
    was answering at once (a query is in flight from its arrival until its delayed reply leaves;
    queries never answered, the timeouts, are left out): a client whose lookups queue behind a
    few threads shows a low peak however many requests it has in flight."""

    def __init__(self, names: dict) -> None:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=serve_counting_dns, args=(names, child), name="bench-dns", daemon=True)

    def __enter__(self) -> CountingDns:
        self._process.start()
        answer = self._conn.recv()
        if answer != "ready":
            raise RuntimeError(f"the DNS server did not start: {answer}")
        return self

    def __exit__(self, *exc_info) -> None:
        self._conn.send(("stop",))
        self._process.join(10)

    def reset(self) -> None:
        self._conn.send(("reset",))
        self._conn.recv()

    def figures(self, wall_s: float) -> dict:
        self._conn.send(("figures", wall_s))
        return self._conn.recv()


def serve_counting_dns(names: dict, conn) -> None:
    """The DNS server process of CountingDns: serves port 53 and answers the parent's commands."""
    import asyncio

    from dnslib import QTYPE

    from dns_server import DnsServer

    class Server(DnsServer):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self.in_flight = 0  # live, across resets: replies of the previous run may still be due
            self.reset()

        def reset(self) -> None:
            self.types: Counter = Counter()
            self.queries.clear()
            self.peak_in_flight = self.in_flight
            self.busy_s = 0.0

        def on_query(self, name: str, qtype: int, delay: float, answered: bool) -> None:
            super().on_query(name, qtype, delay, answered)
            self.types[QTYPE.get(qtype, str(qtype))] += 1
            if answered:  # runs on the server's loop: the decrement is scheduled there
                self.in_flight += 1
                self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
                self.busy_s += delay
                asyncio.get_running_loop().call_later(delay, self._answered)

        def _answered(self) -> None:
            self.in_flight -= 1

        def figures(self, wall_s: float) -> dict:
            return {"queries": sum(self.types.values()), "by_type": dict(self.types), "names_asked": len(self.queries),
                    "peak_in_flight": self.peak_in_flight, "mean_in_flight": round(self.busy_s / wall_s, 1)}

    try:
        server = Server(names, host="127.0.0.1", port=53)
        server.__enter__()
    except Exception as exc:
        conn.send(f"{type(exc).__name__}: {exc}")
        return
    conn.send("ready")
    try:
        while True:
            command, *args = conn.recv()
            if command == "reset":
                server.reset()
                conn.send("done")
            elif command == "figures":
                conn.send(server.figures(*args))
            else:
                break
    finally:
        server.__exit__(None, None, None)


def write_url_list(plan, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    urls = plan.url_list()
    pq.write_table(pa.table({"url": urls, "caption": [f"photo number {n}" for n in range(len(urls))]}), path)


def check_resolution(plan) -> None:
    """The system resolver must answer with the plan's address: otherwise img2dataset would not
    be measured against the run's DNS server and the comparison would mean nothing."""
    host = next(h for h in plan.hosts.values() if h.behaviour == "ok")
    answers = {info[4][0] for info in socket.getaddrinfo(host.name, 80, socket.AF_INET, socket.SOCK_STREAM)}
    if answers != {host.address}:
        raise SystemExit(f"bench_fetch_web: {host.name} resolved to {answers}, not {host.address}: resolv.conf not in effect")


def wit_command(url_list: Path, out: Path, in_flight: int, extra: list[str], timeline: bool = False) -> list[str]:
    runner = [str(REPO / "benchmarks" / "fetch_timeline.py")] if timeline else ["-m", "wit"]
    return [
        sys.executable, *runner, "fetch", "--input", str(url_list), "--out", str(out),
        "--image-size", "256", "--resize-mode", "center_crop", "--timeout", str(TIMEOUT_S), "--read-timeout", str(TIMEOUT_S),
        "--concurrency", str(in_flight), "--allow-address", "127.0.0.0/8", *extra,
    ]


def i2d_command(exe: str, url_list: Path, out: Path, count: int, processes: int, threads: int, retries: int) -> list[str]:
    command = img2dataset_command(exe, url_list, out, count, processes, threads)
    command[command.index("--retries") + 1] = str(retries)
    return command


def run_tool(name: str, command: list[str], out: Path, workdir: Path, limit_s: float, env, dns: CountingDns, farm) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    farm.reset()
    dns.reset()
    servers_cpu = time.process_time()
    print(f"running {name} ...", flush=True)
    figures = run_limited(command, workdir / f"{name}.log", limit_s, env=env)
    figures["servers_cpu_s"] = time.process_time() - servers_cpu
    causes, unmatched = outcomes(out)
    figures.update(
        causes=dict(causes), unmatched_errors=dict(unmatched.most_common(5)), stored=causes["success"],
        accounted=sum(causes.values()), dns=dns.figures(figures["wall_s"]), requests=sum(farm.counts.answered.values()),
        answered=dict(sorted(farm.counts.answered.items())), wrong_address=farm.counts.wrong_address,
        unknown_host=farm.counts.unknown_host,
    )
    if figures["exit_code"] != 0 and not figures["hung"]:
        print(f"  {name} exited with {figures['exit_code']}; last lines of {workdir / f'{name}.log'}:\n"
              + "\n".join((workdir / f"{name}.log").read_text().splitlines()[-15:]), flush=True)
    return figures


def host_shares(text: str) -> dict[str, float]:
    """The default host shares with 'behaviour=share,...' applied on top."""
    shares = dict(DEFAULT_HOST_SHARES)
    for item in filter(None, (part.strip() for part in text.split(","))):
        behaviour, _, share = item.partition("=")
        if behaviour not in BEHAVIOURS or behaviour == "ok":
            raise SystemExit(f"bench_fetch_web: --shares: unknown behaviour {behaviour!r}; one of {', '.join(BEHAVIOURS[1:])}")
        try:
            shares[behaviour] = float(share)
        except ValueError:
            raise SystemExit(f"bench_fetch_web: --shares: {item!r} is not behaviour=share") from None
    if sum(shares.values()) > 1:
        raise SystemExit(f"bench_fetch_web: --shares: the shares add up to {sum(shares.values()):g} > 1")
    return shares


def inside(args: argparse.Namespace) -> None:
    private_net.enter(resolver_options=args.resolver_options)
    workdir = Path(args.workdir)
    hosts = args.hosts or (1000 if args.quick else 5000)
    count = args.urls or 2 * hosts
    pool = make_photo_pool(args.photos, seed=7, cache=Path(tempfile.gettempdir()) / "wit-bench-photos", spread=args.photo_spread)
    plan = make_plan(hosts, count, len(pool), seed=args.seed, host_shares=host_shares(args.shares))
    url_list = workdir / "urls.parquet"
    write_url_list(plan, url_list)
    mix = plan.url_mix()
    obtainable = plan.obtainable(TIMEOUT_S)
    cores = os.cpu_count() or 1
    print(f"bench_fetch_web: {hosts} hosts, {count} URLs, {args.in_flight} requests in flight, {cores} cores, "
          f"timeout {TIMEOUT_S} s, workdir {workdir}", flush=True)
    print("URLs by host behaviour: " + ", ".join(f"{k} {v}" for k, v in mix.most_common()), flush=True)
    print(f"images obtainable: {obtainable['in_all']}, of which {obtainable['never_refused']} from hosts that never "
          f"refuse or reset (the rest is behind a 429/503 or a reset: a retry gets it)", flush=True)

    dns = CountingDns(plan.dns_names())
    results: dict[str, dict] = {}
    with dns, WebFarm(plan, pool, host="0.0.0.0", port=80, check_address=True) as farm:
        check_resolution(plan)
        tools = []
        if args.img2dataset:
            threads = max(1, args.in_flight // args.i2d_processes)
            tools.append(("img2dataset", i2d_command(args.img2dataset, url_list, workdir / "img2dataset", count,
                                                     args.i2d_processes, threads, args.i2d_retries), peer_env()))
        wit_env = None
        if args.timeline:  # every process of the run writes its URLs' timeline under this prefix
            (workdir / "timeline").mkdir(exist_ok=True)
            wit_env = {**os.environ, "WIT_TIMELINE": str(workdir / "timeline" / "wit")}
            if args.no_decode:
                wit_env["WIT_TIMELINE_NO_DECODE"] = "1"
        tools.append(("wit", wit_command(url_list, workdir / "wit", args.in_flight, shlex.split(args.wit_args), args.timeline),
                      wit_env))
        if args.wit_first:
            tools.reverse()
        for name, command, env in tools:
            results[name] = run_tool(name, command, workdir / name, workdir, args.limit_s, env, dns, farm)
    report(results, args, hosts, count, cores, mix, obtainable)
    if args.timeline:
        import fetch_timeline

        print(f"\nwit's timeline ({workdir / 'timeline'}; the timing itself costs CPU: quote images/s from runs without it):")
        fetch_timeline.report(str(workdir / "timeline" / "wit"))


# ---- the report ----------------------------------------------------------------------------


def report(results: dict, args, hosts: int, count: int, cores: int, mix: Counter, obtainable: dict) -> None:
    for f in results.values():
        f["images_per_s"] = f["stored"] / f["wall_s"]
        f["cpu_s_per_1000"] = f["cpu_s"] / max(f["stored"], 1) * 1000
        f["dns_queries_per_s"] = f["dns"]["queries"] / f["wall_s"]
        f["requests_per_s"] = f["requests"] / f["wall_s"]
    print()
    print(f"{'':12} {'images/s':>9} {'wall s':>7} {'CPU s/1000':>11} {'peak RSS MB':>12} {'stored':>7} "
          f"{'accounted':>11} {'hung':>5} {'DNS queries':>12} {'queries/s':>10} {'requests/s':>11} {'servers CPU s':>14}")
    for name, f in results.items():
        print(f"{name:12} {f['images_per_s']:9.1f} {f['wall_s']:7.1f} {f['cpu_s_per_1000']:11.1f} {f['peak_rss_mb']:12.0f} "
              f"{f['stored']:7d} {str(f['accounted']) + '/' + str(count):>11} {'yes' if f['hung'] else 'no':>5} {f['dns']['queries']:12d} "
              f"{f['dns_queries_per_s']:10.1f} {f['requests_per_s']:11.1f} {f['servers_cpu_s']:14.1f}")
    causes = sorted({c for f in results.values() for c in f["causes"]}, key=lambda c: (c != "success", c))
    print()
    print(f"{'outcome':16} " + " ".join(f"{name:>12}" for name in results))
    for cause in causes:
        print(f"{cause:16} " + " ".join(f"{f['causes'].get(cause, 0):12d}" for f in results.values()))
    print()
    for name, f in results.items():
        dns_types = ", ".join(f"{k} {v}" for k, v in sorted(f["dns"]["by_type"].items()))
        print(f"{name}: DNS {f['dns']['queries']} queries ({dns_types}) for {f['dns']['names_asked']} names, "
              f"in flight at the server: peak {f['dns']['peak_in_flight']}, mean {f['dns']['mean_in_flight']}; "
              f"hosts answered {f['requests']} requests: " + ", ".join(f"{k} {v}" for k, v in f["answered"].items()))
        if f["wrong_address"] or f["unknown_host"]:
            print(f"  {name}: {f['wrong_address']} requests on another address than the host's, {f['unknown_host']} for unknown hosts")
        if f["unmatched_errors"]:
            print(f"  {name}: errors without a cause: {f['unmatched_errors']}")
    summary = {
        "hosts": hosts, "urls": count, "in_flight": args.in_flight, "cores": cores, "timeout_s": TIMEOUT_S,
        "seed": args.seed, "shares": args.shares, "url_mix": dict(mix), "obtainable": obtainable, "wit_args": args.wit_args,
        "i2d_processes": args.i2d_processes, "i2d_retries": args.i2d_retries,
    }
    for name, f in results.items():
        for key in ("images_per_s", "wall_s", "cpu_s_per_1000", "peak_rss_mb", "dns_queries_per_s", "requests_per_s", "servers_cpu_s"):
            summary[f"{name}_{key}"] = round(f[key], 2)
        for key in ("stored", "accounted", "hung", "exit_code", "causes", "dns", "requests"):
            summary[f"{name}_{key}"] = f[key]
    if "img2dataset" in results:
        wit, i2d = results["wit"], results["img2dataset"]
        summary["speedup_vs_img2dataset"] = round(wit["images_per_s"] / max(i2d["images_per_s"], 1e-9), 2)
        summary["cpu_ratio_vs_img2dataset"] = round(wit["cpu_s_per_1000"] / max(i2d["cpu_s_per_1000"], 1e-9), 2)
        summary["stored_vs_img2dataset"] = wit["stored"] - i2d["stored"]
        print()
        print(f"wit vs img2dataset: {summary['speedup_vs_img2dataset']:.2f}x images/s (target >= 2x), "
              f"{summary['cpu_ratio_vs_img2dataset']:.2f}x CPU per image, {summary['stored_vs_img2dataset']:+d} stored "
              f"(target >= 0); hung: wit {'yes' if wit['hung'] else 'no'}, img2dataset {'yes' if i2d['hung'] else 'no'} "
              f"(limit {args.limit_s:g} s)")
    print(json.dumps(summary))


# ---- main ----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 hosts and 2,000 URLs instead of 5,000 and 10,000")
    parser.add_argument("--hosts", type=int, default=0, help="host names (default 5000, --quick 1000)")
    parser.add_argument("--urls", type=int, default=0, help="URLs, at least --hosts (default twice --hosts)")
    parser.add_argument("--in-flight", type=int, default=512, help="requests in flight: wit's --concurrency, img2dataset's processes x threads (default %(default)s)")
    parser.add_argument("--img2dataset", default=str(PEERS_IMG2DATASET) if PEERS_IMG2DATASET.exists() else "",
                        help="img2dataset CLI from a separate venv; 'none' skips it (default: .peers/img2dataset's, if installed)")
    parser.add_argument("--i2d-processes", type=int, default=2, help="img2dataset processes; its threads are --in-flight / this (default %(default)s)")
    parser.add_argument("--i2d-retries", type=int, default=0, help="img2dataset's --retries (default %(default)s, its own default)")
    parser.add_argument("--wit-args", default="", help="extra `wit fetch` flags, e.g. '--retries 0 --per-host-limit 4'")
    parser.add_argument("--wit-first", action="store_true", help="run wit before img2dataset")
    parser.add_argument("--timeline", action="store_true", help="run wit under benchmarks/fetch_timeline.py and print where its wall time went: "
                        "per-URL states, the download slots they hold, the decode backlog and the cores busy, per 2 s window")
    parser.add_argument("--no-decode", action="store_true", help="with --timeline: wit's decodes cost nothing (a JPEG or PNG body is "
                        "stored as one pixel), to show the floor the network and the slots set; not a comparison with img2dataset")
    parser.add_argument("--limit-s", type=float, default=600, help="wall-clock limit per tool run; a run past it is killed and reported as hung (default %(default)s)")
    parser.add_argument("--photos", type=int, default=200, help="distinct photos served (default %(default)s)")
    parser.add_argument("--photo-spread", type=float, default=0.9, help="sigma of the log of the photos' pixel count (bench_fetch.py; default %(default)s: median 0.3 MP, max ~6 MP)")
    parser.add_argument("--resolver-options", default="", help="an 'options' line for the namespace's resolv.conf, e.g. 'timeout:2 attempts:1' (default: none, glibc's 5 s x 2 attempts)")
    parser.add_argument("--shares", default="", help="host shares to change, e.g. 'dns_timeout=0,rate_limited=0.2' (defaults: "
                        + ", ".join(f"{k} {v:g}" for k, v in DEFAULT_HOST_SHARES.items()) + "; the rest of the hosts are ok)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the plan (default %(default)s)")
    parser.add_argument("--workdir", default="", help="keep outputs here (default: a temporary folder)")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)  # set by the re-execution under unshare
    args = parser.parse_args()
    if args.img2dataset == "none":
        args.img2dataset = ""
    if args.inside:
        inside(args)
        return
    host_shares(args.shares)  # a bad --shares fails here, before the namespace
    if args.no_decode and (not args.timeline or args.img2dataset):
        raise SystemExit("bench_fetch_web: --no-decode goes with --timeline and --img2dataset none (it is no comparison)")
    reason = private_net.unavailable_reason()
    if reason:
        raise SystemExit(f"bench_fetch_web: needs a private network namespace: {reason}")
    if args.img2dataset and not Path(args.img2dataset).exists():
        raise SystemExit(f"bench_fetch_web: {args.img2dataset} not found; run scripts/setup-peers.sh or pass --img2dataset none")
    if args.urls and args.urls < (args.hosts or (1000 if args.quick else 5000)):
        raise SystemExit("bench_fetch_web: --urls must be at least --hosts (every host gets a URL)")
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="wit-bench-fetch-web-")).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    # The last --workdir wins in argparse: the inner run writes where this one chose.
    command = [*private_net.unshare_command(), sys.executable, str(Path(__file__).resolve()), *sys.argv[1:],
               "--inside", "--workdir", str(workdir)]
    sys.stdout.flush()
    os.execvp(command[0], command)


if __name__ == "__main__":
    main()
