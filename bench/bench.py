"""`make bench`: POST .../qr on the sandbox as users run it, measured with wrk, beside a bare uvicorn
app and Prism on the same spec (when installed), plus the one-user contention case, the Public API's
GET /whatsapp_accounts (beside Prism on public_api.yaml), a 1,000,000-user world (its start-up and each
server process's memory), the dashboard's poll, each of the eight operations alone beside Prism, and
a mixed workload of the guide's flow from many partners at once (bench/wrk_flow.lua) on SQLite, on one
PostgreSQL replica and on two. Prints tables and JSON. A benchmark, not a test: it asserts nothing."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import jwt

from partner_sandbox.qa.postgres import PostgresCluster
from partner_sandbox.qa.server import ServerProcess, free_port

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PARTNER, SECRET, WORKSPACE = "bench-partner", "bench-partner-secret-for-benchmarks-only-0000", "bench-workspace"
SMALL = "bench-small"
SEAT_WORKSPACES = 40
# The eight operations of the Partner API, each measured alone (bench/wrk_ops.lua), beside Prism.
OPERATIONS = ("workspaceCreate", "workspaceGet", "workspaceUpdate", "workspaceCreateUsers", "userRequestQRLink",
              "disconnectWA", "getPublicAPIToken", "rotatePublicAPIToken")
PRISM = BENCH / ".prism" / "node_modules" / ".bin" / "prism"
BARE_ROW = "bare uvicorn app (constant JSON)"
PRISM_ROW, PRISM_PUBLIC_ROW = "Prism 5.16 mock, same spec", "Prism 5.16 mock, public_api.yaml, GET /whatsapp_accounts"
PUBLIC_ROW = "GET /integrations/api/whatsapp_accounts"


def write_world(path: Path, users: int) -> Path:
    """A bench world: one partner, one workspace, `users` fresh users (ids 1..users)."""
    with path.open("w") as f:
        # A plan no run exhausts: every Public API call counts against its API calls.
        f.write(f"partners:\n  - id: {PARTNER}\n    secret: {SECRET}\n"
                f"    plan: {{id: 1, messages: 1000000000, api_calls: 1000000000}}\n    workspaces:\n")
        f.write(f"      - id: {WORKSPACE}\n        users:\n")
        for i in range(1, users + 1):
            f.write(f"          - {{id: {i}}}\n")
        # A workspace of the usual size, for GET /workspaces/{id}: 5 users, one connected, one with a link.
        # Workspaces with seats to spare, for workspaceCreateUsers (each request adds one user).
        for k in range(SEAT_WORKSPACES):
            f.write(f"      - id: bench-seats-{k}\n        seats_purchased: 999\n        users:\n")
            f.write(f"          - {{id: {users + 100 + k}, role: owner}}\n")
        f.write(f"      - id: {SMALL}\n        users:\n")
        f.write(f"          - {{id: {users + 1}, role: owner, whatsapp: {{account_id: 1, phone_number_e164: '+15550000001'}}}}\n")
        f.write(f"          - {{id: {users + 2}, active_link: {{expires_in_hours: 24}}}}\n")
        for i in range(users + 3, users + 6):
            f.write(f"          - {{id: {i}}}\n")
    return path


def flow_partners(count: int) -> list[tuple[str, str]]:
    """The mixed workload's partners: (id, secret) each."""
    return [(f"bench-flow-{i}", f"bench-flow-{i}-secret-for-benchmarks-only-000000") for i in range(count)]


def write_flow_world(path: Path, partners: int) -> Path:
    """The mixed workload's world: `partners` partners, each with its own secret and no workspace
    yet (each creates its own), on a plan no run exhausts."""
    with path.open("w") as f:
        f.write("partners:\n")
        for partner, secret in flow_partners(partners):
            f.write(f"  - id: {partner}\n    secret: {secret}\n"
                    f"    plan: {{id: 1, messages: 1000000000, api_calls: 1000000000}}\n    workspaces: []\n")
    return path


def token(partner: str = PARTNER, secret: str = SECRET) -> str:
    now = int(time.time())
    return jwt.encode({"partner_id": partner, "nbf": now - 180, "exp": now + 900}, secret, algorithm="HS256")


def server(cmd: list[str], port: int, ready_path: str, env: dict | None = None, cwd: Path | None = None
           ) -> tuple[ServerProcess, float]:
    """A server process of the bench, ready (any answer on `ready_path`), and its start-up seconds."""
    started = time.monotonic()
    process = ServerProcess(cmd, port=port, extra_env=env, cwd=cwd, health=ready_path, ready_status=None,
                            name=Path(cmd[0]).name).start(timeout=120)
    return process, time.monotonic() - started


def run_wrk(port: int, args, env: dict, warmup: bool = True) -> dict:
    """wrk on bench/wrk_ops.lua: the operation `env` names (BENCH_OP; the QR operation unless told)."""
    if warmup:  # a short unmeasured run first: caches, connections, the token cache
        run_wrk(port, argparse.Namespace(**{**vars(args), "duration": 2}), env, warmup=False)
    cmd = ["wrk", "-t", str(args.threads), "-c", str(args.connections), "-d", f"{args.duration}s",
           "--timeout", "5s", "-s", str(BENCH / "wrk_ops.lua"), f"http://127.0.0.1:{port}"]
    out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **env}, check=True).stdout
    data = json.loads(next(line for line in out.splitlines() if line.startswith("WRKJSON "))[8:])
    errors = data["connect"] + data["read"] + data["write"] + data["status"] + data["timeout"]
    return {
        "requests_per_s": round(data["requests"] / (data["duration_us"] / 1e6)),
        "p50_ms": round(data["p50_us"] / 1000, 2),
        "p99_ms": round(data["p99_us"] / 1000, 2),
        "max_ms": round(data["max_us"] / 1000, 2),
        "errors": errors,
        "requests": data["requests"],
    }


def sandbox_cmd(port: int, world: Path, db: Path, extra: list[str]) -> list[str]:
    return [sys.executable, "-m", "partner_sandbox", "serve", "--host", "127.0.0.1", "--port", str(port),
            "--fixtures", str(world), "--db", str(db), "--reset", *extra]


def measure_sandbox(label: str, world: Path, db: Path, args: argparse.Namespace, wrk_env: dict,
                    env: dict | None = None, cwd: Path | None = None) -> dict[str, dict]:
    """The sandbox's rows: POST .../qr over many users and for one user, and GET /workspaces/{id}."""
    port = free_port()
    sandbox, startup_s = server(sandbox_cmd(port, world, db, args.serve_arg), port, "/healthz", env=env, cwd=cwd)
    rows = {f"{label}, {args.users} users": run_wrk(port, args, wrk_env),
            f"{label}, one user (contention)": run_wrk(port, args, {**wrk_env, "BENCH_SINGLE_USER": "1"}),
            f"{label}, GET /workspaces/{{id}} (5 users)": run_wrk(port, args, {**wrk_env, "BENCH_OP": "workspaceGet"})}
    # The Public API (where the code has it): the small workspace's token, from the Partner API.
    answer = httpx.get(f"http://127.0.0.1:{port}/partner/api/v1/workspaces/{SMALL}/api-token",
                       headers={"Authorization": f"Bearer {wrk_env['BENCH_TOKEN']}", "X-TL-Partner-Id": PARTNER})
    if answer.status_code == 200 and httpx.get(f"http://127.0.0.1:{port}/integrations/api/openapi.json").status_code == 200:
        rows[f"{label}, {PUBLIC_ROW}"] = run_wrk(port, args, {**wrk_env, "BENCH_PUBLIC_TOKEN": answer.json()["token"],
                                                              "BENCH_PREFIX": "/integrations/api",
                                                              "BENCH_OP": "getWhatsappAccounts"})
    rows[f"{label}, {args.users} users"]["startup_s"] = round(startup_s, 2)
    rows[f"{label}, {args.users} users"]["memory_mb"] = memory(sandbox.pid)
    sandbox.stop()
    return rows


def measure_operations(world: Path, db: Path, args: argparse.Namespace, wrk_env: dict, tmp: Path) -> dict[str, dict]:
    """Each of the eight operations alone (`--op-duration` s each), on a sandbox of its own and on Prism
    mocking the same spec: one row per operation, with both figures and their ratio."""
    op_args = argparse.Namespace(**{**vars(args), "duration": args.op_duration})
    env = {**wrk_env, "BENCH_SMALL": SMALL, "BENCH_SEAT_WORKSPACES": str(SEAT_WORKSPACES)}
    port = free_port()
    sandbox, _ = server(sandbox_cmd(port, world, db, args.serve_arg), port, "/healthz")
    rows = {op: {"sandbox": run_wrk(port, op_args, {**env, "BENCH_OP": op})} for op in OPERATIONS}
    sandbox.stop()
    if PRISM.exists():
        prism_port = free_port()
        prism, _ = server([str(PRISM), "mock", str(ROOT / "openapi.yaml"), "--host", "127.0.0.1", "--port",
                           str(prism_port), "--errors", "false"], prism_port, "/", cwd=tmp)
        for op in OPERATIONS:
            rows[op]["prism"] = run_wrk(prism_port, op_args, {**env, "BENCH_OP": op, "BENCH_PREFIX": ""})
        prism.stop()
    return rows


def descendants(pid: int) -> list[int]:
    """The processes under `pid` (a server's workers and what they started), parents first."""
    found: list[int] = []
    todo = [pid]
    while todo:
        p = todo.pop(0)
        try:
            kids = [int(k) for task in Path(f"/proc/{p}/task").iterdir() for k in (task / "children").read_text().split()]
        except OSError:
            continue
        found += kids
        todo += kids
    return found


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and of the processes under it (the server's workers)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for p in [pid, *descendants(pid)]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def memory(pid: int) -> dict[str, float]:
    """Resident memory (VmRSS, MB) of a server process and of each process under it: the parent, and
    its workers (uvicorn's `--workers`) or whatever else it started, by name."""
    found: dict[str, float] = {}

    def rss(p: int) -> float:
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
        return 0.0

    try:
        found["parent"] = rss(pid)
        workers = 0
        for kid in descendants(pid):
            command = Path(f"/proc/{kid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if "resource_tracker" in command:
                name = "resource tracker"
            else:
                workers += 1
                name = f"worker {workers}"
            found[name] = rss(kid)
    except OSError:
        pass
    return found


def run_flow(ports: list[int], args: argparse.Namespace, partners: list[tuple[str, str]], tag: str,
             duration: int) -> dict:
    """bench/wrk_flow.lua: each partner one wrk thread with one connection, looping over the guide's
    flow; the partners split evenly between `ports` (one wrk process each, run at the same time).
    Requests a second (flow steps), whole flows a second and non-2xx answers are summed over the wrk
    processes; p50/p99 are the worst of theirs."""
    shares = [partners[i::len(ports)] for i in range(len(ports))]
    procs = []
    for n, (port, share) in enumerate(zip(ports, shares, strict=True)):
        env = {**os.environ, "BENCH_TOKENS": ",".join(token(p, s) for p, s in share),
               "BENCH_PARTNERS": ",".join(p for p, _ in share), "BENCH_RUN": f"{tag}{n}"}
        cmd = ["wrk", "-t", str(len(share)), "-c", str(len(share)), "-d", f"{duration}s", "--timeout", "5s",
               "-s", str(BENCH / "wrk_flow.lua"), f"http://127.0.0.1:{port}"]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env))
    figures = []
    for proc in procs:
        out, err = proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"wrk failed ({proc.returncode}): {err[-2000:]}")
        figures.append(json.loads(next(line for line in out.splitlines() if line.startswith("WRKJSON "))[8:]))
    seconds = max(f["duration_us"] for f in figures) / 1e6
    return {
        "requests_per_s": round(sum(f["requests"] for f in figures) / seconds),
        "flows_per_s": round(sum(f["flows"] for f in figures) / seconds, 1),
        "p50_ms": round(max(f["p50_us"] for f in figures) / 1000, 2),
        "p99_ms": round(max(f["p99_us"] for f in figures) / 1000, 2),
        "max_ms": round(max(f["max_us"] for f in figures) / 1000, 2),
        "non_2xx": sum(f["non2xx"] for f in figures),
        "socket_errors": sum(f["connect"] + f["read"] + f["write"] + f["timeout"] for f in figures),
        "requests": sum(f["requests"] for f in figures),
        "first_failure": next((f["first_failure"] for f in figures if f["first_failure"]), ""),
        "servers": len(ports),
    }


def machine_cpu() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return sum(fields) - idle, sum(fields)


def measure_flow(ports: list[int], args: argparse.Namespace, tag: str) -> dict:
    """The mixed workload on these servers: a short unmeasured run first, then the measured one,
    with how busy the machine's cores were meanwhile (servers, database and wrk together)."""
    partners = flow_partners(args.mixed_partners)
    run_flow(ports, args, partners, f"w{tag}", 2)
    busy, total = machine_cpu()
    row = run_flow(ports, args, partners, tag, args.mixed_duration)
    busy_after, total_after = machine_cpu()
    row["cpu_busy_pct"] = round(100 * (busy_after - busy) / max(1, total_after - total), 1)
    return row


def measure_mixed(tmp: Path, args: argparse.Namespace) -> dict[str, dict]:
    """The guide's flow from `--mixed-partners` partners at once: on SQLite (one `serve`, as the rows
    above), then on a throwaway PostgreSQL cluster with one replica and with two (two `serve`
    processes on one database, each with the default worker count, the partners split between them),
    each replica count on a fresh database."""
    world = write_flow_world(tmp / "flow-world.yaml", args.mixed_partners)
    rows: dict[str, dict] = {}
    port = free_port()
    sandbox, _ = server(sandbox_cmd(port, world, tmp / "flow.db", args.serve_arg), port, "/healthz")
    rows["SQLite, one server"] = measure_flow([port], args, "s")
    sandbox.stop()
    if args.no_postgres:
        return rows
    try:
        cluster = PostgresCluster()
    except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
        print(f"bench: no PostgreSQL rows: {exc}", file=sys.stderr)
        return rows
    try:
        for replicas, label in ((1, "PostgreSQL, one replica"), (2, "PostgreSQL, two replicas")):
            db = cluster.new_database()
            ports = [free_port() for _ in range(replicas)]
            # started one after another: the first seeds the empty database, the next finds it seeded
            servers = [server([sys.executable, "-m", "partner_sandbox", "serve", "--host", "127.0.0.1", "--port",
                               str(p), "--fixtures", str(world), "--db", db, *args.serve_arg], p, "/healthz")[0]
                       for p in ports]
            try:
                rows[label] = measure_flow(ports, args, f"p{replicas}")
            finally:
                for s in servers:
                    s.stop()
    finally:
        cluster.stop()
    return rows


def measure_dashboard_poll(world: Path, db: Path, args: argparse.Namespace, cycles: int = 200) -> dict:
    """What the dashboard's polling costs the server: the page's cycle (its four GETs at once:
    clock, workspaces, the last 50 requests, the last 50 deliveries) for the bench partner, run
    `cycles` times one after another; the server's CPU per cycle and its share of one core at one
    cycle every 2 s (the page's interval)."""
    port = free_port()
    sandbox, _ = server(sandbox_cmd(port, world, db, args.serve_arg), port, "/healthz")
    headers = {"Authorization": f"Bearer {token()}", "X-TL-Partner-Id": PARTNER}
    paths = ["/sandbox/v1/clock", "/sandbox/v1/workspaces", "/sandbox/v1/requests?limit=50",
             "/sandbox/v1/webhook/deliveries?limit=50"]

    async def run() -> tuple[float, float]:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers) as client:
            for _ in range(50):  # the journal holds 50 requests, as after a partner's test run
                await client.post(f"/partner/api/v1/workspaces/{SMALL}/users/{args.users + 3}/qr")
            for _ in range(10):  # warm-up
                await asyncio.gather(*(client.get(p) for p in paths))
            cpu_before, started = cpu_seconds(sandbox.pid), time.perf_counter()
            for _ in range(cycles):
                answers = await asyncio.gather(*(client.get(p) for p in paths))
                assert all(a.status_code == 200 for a in answers), [a.status_code for a in answers]
            return (cpu_seconds(sandbox.pid) - cpu_before, time.perf_counter() - started)

    cpu, wall = asyncio.run(run())
    sandbox.stop()
    return {"cycle_ms": round(wall / cycles * 1000, 2), "server_cpu_ms": round(cpu / cycles * 1000, 2),
            "core_share_at_2s": round(cpu / cycles / 2.0, 4),
            "workspace_users": args.users + 5}


def print_scale(results: dict[str, dict], args: argparse.Namespace) -> None:
    small, big = results.get(f"sandbox, {args.users} users"), results.get(f"sandbox, {args.scale_users} users")
    if not (small and big):
        return
    big["vs_small_world"] = round(big["requests_per_s"] / small["requests_per_s"], 3)
    print(f"\nworld of {args.scale_users:,} users beside {args.users:,} (POST .../qr, wrk -t{args.threads}"
          f" -c{args.connections} -d{args.duration}s; start-up: process start to /healthz answering, the"
          f" fixtures read and seeded; memory: VmRSS of each server process after the run, MB)\n")
    print(f"{'world':>12}{'startup_s':>11}{'requests_per_s':>16}{'p99_ms':>9}{'errors':>8}  memory_mb")
    for users, row in ((args.users, small), (args.scale_users, big)):
        mem = ", ".join(f"{name} {mb}" for name, mb in row.get("memory_mb", {}).items())
        print(f"{users:>12,}{row['startup_s']:>11}{row['requests_per_s']:>16}{row['p99_ms']:>9}{row['errors']:>8}  {mem}")
    print(f"{args.scale_users:,} users / {args.users:,} users, requests/s: {big['vs_small_world']}")


def print_mixed(mixed: dict[str, dict], args: argparse.Namespace) -> None:
    if not mixed:
        return
    one, two = mixed.get("PostgreSQL, one replica"), mixed.get("PostgreSQL, two replicas")
    if one and two:
        two["vs_one_replica"] = round(two["requests_per_s"] / one["requests_per_s"], 2)
    print(f"\nmixed workload: the guide's flow (create workspace, 2 users, QR link, simulated scan, details,"
          f" disconnect, Public API token) looped by {args.mixed_partners} partners at once, each a wrk thread"
          f" with one connection, {args.mixed_duration}s; requests_per_s are flow steps; serve's default"
          f" workers per server ({os.cpu_count()} cores); two replicas: the partners split between them, one wrk"
          f" each, figures summed, p99 the worse of the two\n")
    cols = ["requests_per_s", "flows_per_s", "p50_ms", "p99_ms", "max_ms", "non_2xx", "socket_errors", "cpu_busy_pct",
            "vs_one_replica"]
    print(f"{'servers':28}" + "".join(f"{c:>16}" for c in cols))
    for name, row in mixed.items():
        print(f"{name:28}" + "".join(f"{row.get(c, ''):>16}" for c in cols))
    failures = [f"{name}: {row['first_failure']}" for name, row in mixed.items() if row["first_failure"]]
    if failures:
        print("first refusal of each run with non-2xx answers: " + "; ".join(failures))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--scale-users", type=int, default=1_000_000, help="users of the large world (0 skips it)")
    parser.add_argument("--mixed-partners", type=int, default=32,
                        help="partners of the mixed workload, each one wrk thread and connection (default: %(default)s)")
    parser.add_argument("--mixed-duration", type=int, default=10,
                        help="seconds of each mixed-workload run (0 skips them; default: %(default)s)")
    parser.add_argument("--no-postgres", action="store_true", help="the mixed workload on SQLite only")
    parser.add_argument("--only", choices=["mixed", "scale"], action="append",
                        help="only these parts (repeatable): the mixed workload, the large world (with the"
                             " bare app and the 1,000-user world it is compared with)")
    parser.add_argument("--serve-arg", action="append", default=[], help="extra `serve` argument (repeatable)")
    parser.add_argument("--json", type=Path, help="also write the JSON figures to this file")
    parser.add_argument("--op-duration", type=int, default=5, help="seconds per wrk run of each operation (0 skips them)")
    parser.add_argument("--baseline", help="also measure the sandbox at this git commit (e.g. main~5), in the same run")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (make bench installs it from Debian)")

    tmp = Path(tempfile.mkdtemp(prefix="sandbox-bench-"))
    results: dict[str, dict] = {}
    wrk_env = {"BENCH_TOKEN": token(), "BENCH_USERS": str(args.users), "BENCH_PARTNER": PARTNER,
               "BENCH_WORKSPACE": WORKSPACE}

    only = set(args.only or [])
    # The yardstick, on uvicorn's httptools protocol, which the sandbox runs too (web/protocol.py).
    bare_port = free_port()
    bare, _ = server([sys.executable, "-m", "uvicorn", "--app-dir", str(BENCH), "bare_app:app", "--port",
                      str(bare_port), "--http", "httptools", "--log-level", "warning", "--no-access-log"], bare_port, "/")
    results[BARE_ROW] = run_wrk(bare_port, args, wrk_env)
    bare.stop()

    if PRISM.exists() and not only:
        prism_port = free_port()
        prism, _ = server([str(PRISM), "mock", str(ROOT / "openapi.yaml"), "--host", "127.0.0.1", "--port",
                        str(prism_port), "--errors", "false"], prism_port, "/", cwd=tmp)
        prism_env = {**wrk_env, "BENCH_WORKSPACE": "my-first-workspace", "BENCH_PREFIX": ""}
        results[PRISM_ROW] = run_wrk(prism_port, args, prism_env)
        prism.stop()
        prism_port = free_port()
        prism, _ = server([str(PRISM), "mock", str(ROOT / "public_api.yaml"), "--host", "127.0.0.1", "--port",
                        str(prism_port), "--errors", "false"], prism_port, "/", cwd=tmp)
        results[PRISM_PUBLIC_ROW] = run_wrk(prism_port, args, {**wrk_env, "BENCH_PREFIX": "", "BENCH_OP": "getWhatsappAccounts",
                                                               "BENCH_PUBLIC_TOKEN": "a-token-prism-does-not-check"})
        prism.stop()

    world = write_world(tmp / "bench-world.yaml", args.users)
    if args.baseline and not only:
        # The same rows for the sandbox at another commit, in this run: its code from a worktree.
        code = tmp / "baseline"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(code), args.baseline], check=True)
        try:
            results.update(measure_sandbox(f"baseline {args.baseline}", world, tmp / "baseline.db", args, wrk_env,
                                           {"PYTHONPATH": str(code)}, code))
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(code)], check=False)
    if not only or "scale" in only:
        results.update(measure_sandbox("sandbox", world, tmp / "bench.db", args, wrk_env))

    dashboard = measure_dashboard_poll(world, tmp / "dashboard.db", args) if not only else {}
    operations = measure_operations(world, tmp / "operations.db", args, wrk_env, tmp) if args.op_duration and not only else {}
    mixed = measure_mixed(tmp, args) if args.mixed_duration and (not only or "mixed" in only) else {}

    if args.scale_users and (not only or "scale" in only):
        big = write_world(tmp / "scale-world.yaml", args.scale_users)
        port = free_port()
        sandbox, startup_s = server(sandbox_cmd(port, big, tmp / "scale.db", args.serve_arg), port, "/healthz")
        row = run_wrk(port, args, {**wrk_env, "BENCH_USERS": str(args.scale_users)})
        row["startup_s"] = round(startup_s, 2)
        row["memory_mb"] = memory(sandbox.pid)  # after the run, as the 1,000-user world's
        results[f"sandbox, {args.scale_users} users"] = row
        sandbox.stop()

    bare_rps = results[BARE_ROW]["requests_per_s"]
    for row in results.values():
        row["vs_bare"] = round(row["requests_per_s"] / bare_rps, 3)
    prism_rps = results.get(PRISM_ROW, {}).get("requests_per_s")
    prism_public_rps = results.get(PRISM_PUBLIC_ROW, {}).get("requests_per_s")
    for name, row in results.items():
        yardstick = prism_public_rps if name.endswith(PUBLIC_ROW) else prism_rps
        if yardstick and name.startswith(("sandbox", "baseline")):
            row["vs_prism"] = round(row["requests_per_s"] / yardstick, 2)  # Prism on the same spec
    if args.baseline:
        for name, row in results.items():
            before = results.get(name.replace("sandbox,", f"baseline {args.baseline},", 1))
            if name.startswith("sandbox,") and before:
                row["vs_baseline"] = round(row["requests_per_s"] / before["requests_per_s"], 3)

    print(f"\nwrk -t{args.threads} -c{args.connections} -d{args.duration}s, POST .../qr with a JWT and a JSON body"
          f" (and one row of GET /workspaces/{{id}}), {os.cpu_count()} cores\n")
    cols = ["requests_per_s", "p50_ms", "p99_ms", "max_ms", "errors", "vs_bare", "vs_prism", "vs_baseline", "startup_s"]
    print(f"{'server':66}" + "".join(f"{c:>15}" for c in cols))
    for name, row in results.items():
        print(f"{name:66}" + "".join(f"{row.get(c, ''):>15}" for c in cols))
    if dashboard:
        print(f"\ndashboard poll cycle (4 GETs at once, {dashboard['workspace_users']} users in the partner's workspaces):"
              f" {dashboard['cycle_ms']} ms a cycle, {dashboard['server_cpu_ms']} ms of server CPU a cycle,"
              f" {dashboard['core_share_at_2s'] * 100:.2f}% of one core at one cycle every 2 s")
    if operations:
        print(f"\neach operation alone, wrk -t{args.threads} -c{args.connections} -d{args.op_duration}s, beside Prism on"
              f" openapi.yaml (vs_bare: the bare uvicorn app above)\n")
        print(f"{'operation':24}{'sandbox_rps':>13}{'p99_ms':>9}{'errors':>8}{'prism_rps':>11}{'p99_ms':>9}"
              f"{'errors':>8}{'vs_prism':>10}{'vs_bare':>9}")
        for op, row in operations.items():
            mine, prism = row["sandbox"], row.get("prism", {})
            if prism:
                row["vs_prism"] = round(mine["requests_per_s"] / prism["requests_per_s"], 2)
            row["vs_bare"] = round(mine["requests_per_s"] / bare_rps, 3)
            print(f"{op:24}{mine['requests_per_s']:>13}{mine['p99_ms']:>9}{mine['errors']:>8}"
                  f"{prism.get('requests_per_s', ''):>11}{prism.get('p99_ms', ''):>9}{prism.get('errors', ''):>8}"
                  f"{row.get('vs_prism', ''):>10}{row['vs_bare']:>9}")
    print_scale(results, args)
    print_mixed(mixed, args)
    document = {"config": vars(args) | {"json": str(args.json) if args.json else None, "cores": os.cpu_count()},
                "results": results, "dashboard_poll": dashboard, "operations": operations, "mixed": mixed}
    print("\n" + json.dumps(document, indent=2))
    if args.json:
        args.json.write_text(json.dumps(document, indent=2))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
