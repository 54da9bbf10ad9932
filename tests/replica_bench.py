"""Two replicas behind a load balancer, measured: questions a second, reload propagation, a replica killed.

    python -m tests.replica_bench                 (from the repository root, with the [test] extras)
    python -m tests.replica_bench --proxy python  (the built-in proxy even when nginx is installed)

One run starts a throwaway PostgreSQL cluster (tests/postgres.py), the local Bot API server
(tests/botapi_server.py), two real `sanad serve --webhook` processes sharing the database and one id key
file, each with its own copy of seeds/ and its own data folder, and a load balancer in front: nginx when
the `nginx` binary exists (round robin; a refused connection or a 503 is passed to the other replica),
else a small asyncio round-robin proxy here that skips replicas whose /healthz is not 200. The script
then acts as Telegram: it posts private-chat questions to the balancer with the webhook's secret header
(at most MAX_CONNECTIONS at once, as Telegram's default max_connections) and posts again after a pause
whatever was not answered 2xx. It prints:

(a) questions a second end to end with one replica, then with two (same run);
(b) reload propagation: `sanad add` run as a separate process on the same database, timed from its
    exit until each replica's /healthz shows the new sentence count, then a question about the new
    article answered by each replica;
(c) one replica SIGKILLed during a burst: answered, redelivered, answered twice, lost, and how the
    balancer went on; then the same with SIGTERM (graceful: what it accepted is answered).

Everything it starts (processes, cluster, temporary folders) is removed at the end, also on Ctrl-C.
This is not a pytest test (the name does not start with test_); tests/test_replica_bench.py checks
its proxy.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "tests") not in sys.path:  # the test helpers are imported as top-level modules, as in the suite
    sys.path.insert(0, str(ROOT / "tests"))

import httpx  # noqa: E402

from bot.webhook import SECRET_HEADER, derive_secret  # noqa: E402
from botapi_server import BotAPIServer  # noqa: E402

MAX_CONNECTIONS = 40  # Telegram's default max_connections for a webhook
RETRY_PAUSE = 1.0  # seconds before posting again an update that was not answered 2xx
ADMIN = 111
FIRST_USER = 100_000
CITIES = ["نابلس", "صفاقس", "تطوان", "الزرقاء", "الموصل", "بنغازي", "صلالة", "عنابة"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dev_questions() -> list[str]:
    """The development set's questions (about the seed articles)."""
    lines = (ROOT / "tests" / "data" / "dev.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["q"] for line in lines if line.strip()]


def _die_with_us() -> None:
    """In the child before exec: SIGKILL it when this script dies, even by SIGKILL (Linux)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def children_of(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(entry.name))
    return out


# ---------------------------------------------------------------------------------------------------
# The load balancers


NGINX_CONF = """\
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
{upstream}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://sanad;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_connect_timeout 2s;
            proxy_read_timeout 10s;
            proxy_next_upstream {next_upstream};
            add_header X-Upstream $upstream_addr always;
        }}
    }}
}}
"""

# A refused connection or a draining replica's 503 goes to the other replica; non_idempotent lets nginx
# pass a POST on (a 503 means the replica did not take the update; Telegram itself posts again after
# an error anyway).
NEXT_UPSTREAM = "error timeout http_503 non_idempotent"

UPSTREAM = """\
    upstream sanad {{
{servers}
        keepalive 16;
    }}"""


def nginx_upstream(ports: list[int]) -> str:
    servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=10s;" for p in ports)
    return UPSTREAM.format(servers=servers)


class Nginx:
    """nginx in the foreground with its own prefix, config, pid file and error log."""

    name = "nginx"

    def __init__(self, binary: str, prefix: Path, port: int, next_upstream: str = NEXT_UPSTREAM):
        self.binary, self.prefix, self.port, self.next_upstream = binary, prefix, port, next_upstream
        self.conf = prefix / "nginx.conf"
        self.proc: subprocess.Popen | None = None
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (prefix / "tmp" / sub).mkdir(parents=True, exist_ok=True)
            os.chmod(prefix / "tmp" / sub, 0o777)  # the worker may run as nobody

    def _write(self, ports: list[int]) -> None:
        self.conf.write_text(NGINX_CONF.format(prefix=self.prefix, port=self.port, upstream=nginx_upstream(ports),
                                               next_upstream=self.next_upstream))

    def _command(self, *extra: str) -> list[str]:
        return [self.binary, "-p", str(self.prefix), "-c", str(self.conf), "-e", str(self.prefix / "error.log"), *extra]

    def check(self, ports: list[int]) -> str | None:
        """None when nginx accepts the configuration, else its complaint."""
        self._write(ports)
        done = subprocess.run(self._command("-t"), capture_output=True, text=True)
        return None if done.returncode == 0 else (done.stderr.strip().splitlines() or ["?"])[-1]

    async def start(self, ports: list[int]) -> None:
        self._write(ports)
        # its own process group, named in the watchdog's list: nginx's worker outlives a killed master
        self.proc = subprocess.Popen(self._command(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        with open(self.prefix.parent / GROUPS, "a") as groups:
            groups.write(f"{self.proc.pid}\n")
        await wait_port(self.port, 10)

    async def set_backends(self, ports: list[int]) -> None:
        """Rewrite the upstream and reload (SIGHUP: new workers, a fresh view of the replicas' health)."""
        self._write(ports)
        assert self.proc is not None
        self.proc.send_signal(signal.SIGHUP)
        await asyncio.sleep(1.0)

    def pids(self) -> list[int]:
        return [self.proc.pid, *children_of(self.proc.pid)] if self.proc else []

    def describe(self) -> str:
        version = subprocess.run([self.binary, "-v"], capture_output=True, text=True).stderr.strip()
        return f"nginx ({version.rsplit(' ', 1)[-1]}), proxy_next_upstream {self.next_upstream}"

    async def stop(self) -> None:
        stop_process(self.proc)
        with contextlib.suppress(ProcessLookupError, TypeError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # a worker left behind, if any


class Proxy:
    """A small round-robin HTTP proxy: a replica whose /healthz is not 200 (checked every `interval`
    seconds) gets nothing, and a refused connection is tried on the next replica. One request per
    connection both ways (Connection: close); the reply carries X-Upstream, the replicas tried."""

    name = "python"

    def __init__(self, port: int = 0, interval: float = 0.5):
        self.port, self.interval = port, interval
        self.backends: list[int] = []
        self.healthy: dict[int, bool] = {}
        self._next = 0
        self._server: asyncio.base_events.Server | None = None
        self._checker: asyncio.Task | None = None

    async def start(self, ports: list[int]) -> None:
        await self.set_backends(ports)
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        self._checker = asyncio.create_task(self._check_forever())

    async def set_backends(self, ports: list[int]) -> None:
        self.backends = list(ports)
        await self.check_health()

    async def check_health(self) -> None:
        results = await asyncio.gather(*(self._healthz(p) for p in self.backends))
        self.healthy = dict(zip(self.backends, results))

    async def _check_forever(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.check_health()

    @staticmethod
    async def _healthz(port: int) -> bool:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 1.0)
        except (OSError, asyncio.TimeoutError):
            return False
        try:
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            line = await asyncio.wait_for(reader.readline(), 2.0)
            return line.split()[1:2] == [b"200"]
        except (OSError, asyncio.TimeoutError, IndexError):
            return False
        finally:
            writer.close()

    def order(self) -> list[int]:
        """The healthy replicas, starting with the next one in turn."""
        live = [p for p in self.backends if self.healthy.get(p)]
        if not live:
            return []
        self._next += 1
        start = self._next % len(live)
        return live[start:] + live[:start]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            length = next((int(h.split(":", 1)[1]) for h in lines[1:] if h.lower().startswith("content-length:")), 0)
            body = await reader.readexactly(length) if length else b""
            kept = [h for h in lines[1:] if h and not h.lower().startswith(("connection:", "keep-alive:"))]
            request = "\r\n".join([lines[0], *kept, "Connection: close", "", ""]).encode("latin-1") + body
            tried: list[int] = []
            reply = None
            for port in self.order():
                tried.append(port)
                try:
                    up_r, up_w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 2.0)
                except (OSError, asyncio.TimeoutError):
                    self.healthy[port] = False  # until the next health check says otherwise
                    continue
                try:
                    up_w.write(request)
                    reply = await asyncio.wait_for(up_r.read(), 10.0)  # the replica closes after its answer
                finally:
                    up_w.close()
                break
            if not reply:
                reply = b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n"
            status, _, rest = reply.partition(b"\r\n")
            rest_head, _, rest_body = rest.partition(b"\r\n\r\n")
            headers = [h for h in rest_head.split(b"\r\n") if h and not h.lower().startswith(b"connection:")]
            upstream = ", ".join(f"127.0.0.1:{p}" for p in tried).encode()
            writer.write(b"\r\n".join([status, *headers, b"X-Upstream: " + upstream, b"Connection: close", b"", rest_body]))
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError, ValueError):
            pass
        finally:
            writer.close()

    def pids(self) -> list[int]:
        return []  # it runs in this process

    def describe(self) -> str:
        return "the built-in asyncio proxy (tests/replica_bench.py)"

    async def stop(self) -> None:
        if self._checker:
            self._checker.cancel()
        if self._server:
            self._server.close()


async def wait_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            _, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on port {port} after {timeout} s") from None
            await asyncio.sleep(0.05)


GROUPS = "process-groups"  # in the temporary folder: process groups the watchdog kills
WATCHDOG = """\
import os, shutil, signal, sys
from pathlib import Path
sys.stdin.buffer.read()  # until the benchmark closes it or dies, even by SIGKILL
folder = Path(sys.argv[1])
for line in (folder / "process-groups").read_text().split() if (folder / "process-groups").exists() else []:
    try:
        os.killpg(int(line), signal.SIGKILL)
    except (ProcessLookupError, PermissionError, ValueError):
        pass
shutil.rmtree(folder, ignore_errors=True)
"""


def stop_process(proc: subprocess.Popen | None, grace: float = 30.0) -> None:
    """SIGTERM, then SIGKILL after `grace` seconds; only this process."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


# ---------------------------------------------------------------------------------------------------
# The replicas


@dataclass
class Replica:
    name: str
    port: int
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen | None = None

    def start(self, lb_url: str, set_webhook: bool) -> None:
        command = [sys.executable, "-m", "bot.cli", "serve", "--webhook", lb_url, "--port", str(self.port)]
        if not set_webhook:
            command.append("--no-set-webhook")
        with open(self.log, "a") as log:
            self.proc = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, preexec_fn=_die_with_us)

    async def health(self, client: httpx.AsyncClient) -> dict | None:
        try:
            r = await client.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2.0)
        except httpx.HTTPError:
            return None
        return r.json() if r.status_code == 200 else None

    async def wait_ready(self, client: httpx.AsyncClient, timeout: float = 180.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{tail(self.log)}")
            if (h := await self.health(client)) is not None:
                return h
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name} not ready after {timeout} s:\n{tail(self.log)}")
            await asyncio.sleep(0.1)


def quiet_resets(api: BotAPIServer) -> None:
    """A replica killed mid-call resets its connection to the Bot API server: not worth a traceback."""
    httpd = api._httpd  # noqa: SLF001
    default = httpd.handle_error

    def handle_error(request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            default(request, client_address)

    httpd.handle_error = handle_error


def tail(path: Path, n: int = 30) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    return ""


# ---------------------------------------------------------------------------------------------------
# Telegram: posting updates, counting replies


@dataclass
class Delivery:
    """One update as Telegram holds it: posted until a 2xx answer."""

    update_id: int
    chat_id: int
    message_id: int
    posted: float = 0.0  # first post
    accepted: float = 0.0  # the 2xx answer
    accepted_by: str = ""  # the replica that answered 2xx (the last of X-Upstream)
    attempts: int = 0
    tried: list[tuple[float, float, str, int | str]] = field(default_factory=list)  # (sent, answered, upstreams, status)


class Telegram:
    """Posts updates to the balancer like Telegram: the secret header, at most MAX_CONNECTIONS at once,
    a non-2xx answer or a failed connection posted again after RETRY_PAUSE."""

    def __init__(self, api: BotAPIServer, lb_url: str):
        self.api, self.lb_url = api, lb_url
        self.secret = derive_secret(api.token)
        self.client = httpx.AsyncClient(limits=httpx.Limits(max_connections=MAX_CONNECTIONS), timeout=15.0)
        self.slots = asyncio.Semaphore(MAX_CONNECTIONS)
        self.questions = dev_questions()
        self._users = iter(range(FIRST_USER, 10**9))
        self._update_ids = iter(range(1, 10**9))
        self.deliveries: list[Delivery] = []

    def new_update(self, text: str | None = None, user: int | None = None) -> tuple[Delivery, dict]:
        user = user if user is not None else next(self._users)
        text = text or self.questions[user % len(self.questions)]
        message = self.api.send_text(self.api.private(user), user, text, deliver=False)
        update = {"update_id": next(self._update_ids), "message": message}
        d = Delivery(update["update_id"], user, message["message_id"])
        self.deliveries.append(d)
        return d, update

    async def deliver(self, d: Delivery, update: dict, url: str | None = None) -> None:
        """Post until a 2xx answer."""
        body = json.dumps(update).encode()
        headers = {SECRET_HEADER: self.secret, "Content-Type": "application/json"}
        while True:
            async with self.slots:
                now = time.monotonic()
                d.posted = d.posted or now
                d.attempts += 1
                try:
                    r = await self.client.post(url or self.lb_url, content=body, headers=headers)
                    status: int | str = r.status_code
                    upstream = r.headers.get("X-Upstream", "")
                except httpx.HTTPError as exc:
                    status, upstream = type(exc).__name__, ""
                d.tried.append((now, time.monotonic(), upstream, status))
                if isinstance(status, int) and 200 <= status < 300:
                    d.accepted = time.monotonic()
                    d.accepted_by = upstream.split(",")[-1].strip()
                    return
            await asyncio.sleep(RETRY_PAUSE)

    def replies(self, since: int = 0) -> dict[tuple[int, int], list[float]]:
        """(chat, message) -> times of the bot's replies to it."""
        out: dict[tuple[int, int], list[float]] = {}
        for call in self.api.calls_to("sendMessage")[since:]:
            if not call.ok:
                continue
            ref = call.params.get("reply_parameters") or {}
            mid = ref.get("message_id") if isinstance(ref, dict) else None
            mid = mid or call.params.get("reply_to_message_id")
            if mid is not None:
                out.setdefault((int(call.chat_id), int(mid)), []).append(call.time)
        return out

    async def settle(self, deliveries: list[Delivery], since: int, quiet: float = 5.0, limit: float = 90.0) -> dict:
        """Wait until every delivery is answered, or nothing new was sent for `quiet` seconds."""
        start, last_count, last_change = time.monotonic(), -1, time.monotonic()
        while True:
            replies = self.replies(since)
            done = sum(1 for d in deliveries if (d.chat_id, d.message_id) in replies)
            count = sum(len(v) for v in replies.values())
            now = time.monotonic()
            if count != last_count:
                last_count, last_change = count, now
            if done == len(deliveries) and now - last_change > 0.5 or now - last_change > quiet or now - start > limit:
                return replies
            await asyncio.sleep(0.1)

    async def close(self) -> None:
        await self.client.aclose()


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


# ---------------------------------------------------------------------------------------------------
# The bench


class Bench:
    def __init__(self, args: argparse.Namespace, tmp: Path, db_url: str):
        self.args, self.tmp, self.db_url = args, tmp, db_url
        self.api = BotAPIServer(token="7000000001:AAbenchmarkTokenForReplicaBench00001").start()
        self.api.private(ADMIN)  # the admin's chat exists, so the admin's command menu is accepted
        quiet_resets(self.api)
        self.lb_port = free_port()
        self.lb_url = f"http://127.0.0.1:{self.lb_port}/hook"
        self.key = tmp / "id.key"
        self.replicas: list[Replica] = []
        self.lb: Nginx | Proxy | None = None
        self.http = httpx.AsyncClient(timeout=5.0)
        self.rows: list[tuple[str, str]] = []
        self.notes: list[str] = []
        self.signals: list[tuple[float, str]] = []  # when a replica was sent a signal, and which

    def env(self, name: str) -> dict[str, str]:
        """A process of the deployment: the shared database and key, its own corpus copy and data folder."""
        corpus, data = self.tmp / name / "corpus", self.tmp / name / "data"
        if not corpus.exists():
            shutil.copytree(ROOT / "seeds", corpus)
            data.mkdir(parents=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SANAD_", "TELEGRAM_"))}
        env.update(TELEGRAM_BOT_TOKEN=self.api.token, TELEGRAM_API_URL=self.api.url, SANAD_DATABASE_URL=self.db_url,
                   SANAD_KEY_FILE=str(self.key), SANAD_CORPUS=str(corpus), XDG_DATA_HOME=str(data),
                   SANAD_ADMIN_IDS=str(ADMIN), SANAD_WEBHOOK_LISTEN="127.0.0.1", PYTHONUNBUFFERED="1")
        return env

    def sanad(self, name: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=ROOT, env=self.env(name),
                              capture_output=True, text=True, timeout=timeout)

    async def choose_lb(self) -> None:
        binary = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx")
                                                 if os.access(p, os.X_OK)), None)
        if binary and self.args.proxy != "python":
            nginx = Nginx(binary, self.tmp / "nginx", self.lb_port, self.args.next_upstream)
            problem = nginx.check([self.replicas[0].port])
            if problem is None:
                self.lb = nginx
            else:
                print(f"nginx refused its configuration ({problem}); using the built-in proxy")
        if self.lb is None:
            if not binary:
                print("nginx not found: using the built-in proxy")
            self.lb = Proxy(self.lb_port)
        await self.lb.start([self.replicas[0].port])
        print(f"load balancer: {self.lb.describe()} on 127.0.0.1:{self.lb_port}")

    # ----------------------------------------------------------------------------------- setup

    async def setup(self) -> None:
        from retrieval.pseudonym import load_key
        load_key(self.key)  # one id key, given to every replica (in production: the same file copied to each)
        t = time.monotonic()
        done = self.sanad("indexer", "index")
        if done.returncode != 0:
            raise RuntimeError(f"sanad index failed:\n{done.stdout}{done.stderr}")
        print(f"sanad index into PostgreSQL: {time.monotonic() - t:.1f} s ({done.stdout.strip().splitlines()[-1]})")
        for i in (1, 2):
            self.replicas.append(Replica(f"replica{i}", free_port(), self.env(f"replica{i}"), self.tmp / f"replica{i}.log"))
        self.tg = Telegram(self.api, self.lb_url)

    # ----------------------------------------------------------------------------------- (a)

    async def burst(self, n: int, label: str) -> dict[str, Any]:
        """n questions posted at once (MAX_CONNECTIONS in flight): rate and latency of the replies."""
        since = len(self.api.calls_to("sendMessage"))
        pids = {r.name: r.proc.pid for r in self.replicas if r.proc and r.proc.poll() is None}
        lb_pids = self.lb.pids()
        cpu0 = {k: cpu_seconds(p) for k, p in pids.items()}
        lb0 = sum(cpu_seconds(p) for p in lb_pids)
        me0 = sum(os.times()[:2])
        items = [self.tg.new_update() for _ in range(n)]
        start = time.monotonic()
        await asyncio.gather(*(self.tg.deliver(d, u) for d, u in items))
        replies = await self.tg.settle([d for d, _ in items], since)
        wall = time.monotonic() - start
        answered = [(d, replies[(d.chat_id, d.message_id)]) for d, _ in items if (d.chat_id, d.message_id) in replies]
        end = max((t[0] for _, t in answered), default=start)
        elapsed = end - start
        latencies = [t[0] - d.posted for d, t in answered]
        cpu = {k: (cpu_seconds(p) - cpu0[k]) / elapsed * 100 for k, p in pids.items()}
        if lb_pids:
            cpu[self.lb.name] = (sum(cpu_seconds(p) for p in lb_pids) - lb0) / elapsed * 100
        cpu["bench"] = (sum(os.times()[:2]) - me0) / elapsed * 100
        by = Counter(d.accepted_by for d, _ in items)
        replica_cpu = sum(cpu_seconds(p) - cpu0[k] for k, p in pids.items())
        return {"label": label, "n": n, "answered": len(answered), "elapsed": elapsed, "wall": wall,
                "qps": len(answered) / elapsed if elapsed > 0 else 0.0, "p50": pct(latencies, 0.5),
                "p95": pct(latencies, 0.95), "cpu": cpu, "by": by,
                "cpu_ms": replica_cpu / max(1, len(answered)) * 1000,
                "twice": sum(1 for _, t in answered if len(t) > 1),
                "redelivered": sum(1 for d, _ in items if d.attempts > 1)}

    async def throughput(self) -> None:
        n = self.args.questions
        print(f"\n(a) questions a second: {n} questions posted at once through the balancer, "
              f"{MAX_CONNECTIONS} connections, each from its own user")
        await self.burst(20, "warm-up")
        one = await self.burst(n, "1 replica")
        self.replicas[1].start(self.lb_url, set_webhook=False)
        await self.replicas[1].wait_ready(self.http)
        await self.lb.set_backends([r.port for r in self.replicas])
        await self.burst(20, "warm-up")
        two = await self.burst(n, "2 replicas")
        for res in (one, two):
            cpu = ", ".join(f"{k} {v:.0f}%" for k, v in res["cpu"].items())
            split = ", ".join(f"{port.rsplit(':', 1)[-1]}: {c}" for port, c in sorted(res["by"].items()))
            print(f"  {res['label']:<10} {res['answered']}/{res['n']} answered in {res['elapsed']:.1f} s: "
                  f"{res['qps']:.1f} questions/s; latency p50 {res['p50']:.2f} s, p95 {res['p95']:.2f} s; "
                  f"answered twice {res['twice']}, redelivered {res['redelivered']}")
            print(f"             accepted by port {split}; CPU {cpu}; "
                  f"replica CPU time per question {res['cpu_ms']:.0f} ms")
            self.rows.append((f"questions/s, {res['label']}", f"{res['qps']:.1f} ({res['answered']}/{res['n']} "
                              f"answered, p50 {res['p50']:.2f} s, p95 {res['p95']:.2f} s)"))

    # ----------------------------------------------------------------------------------- (b)

    def article(self, i: int) -> tuple[str, str, str]:
        city = CITIES[i % len(CITIES)]
        books = 40 + 7 * i
        text = (f"افتتاح مكتبة عامة جديدة في مدينة {city}\n\n"
                f"افتتحت بلدية {city} يوم الأحد مكتبة عامة جديدة تضم {books} ألف كتاب في وسط المدينة.\n"
                f"وقال رئيس بلدية {city} إن المكتبة الجديدة ستفتح أبوابها للطلاب والباحثين طوال أيام الأسبوع.\n"
                f"وأضاف أن بناء المكتبة استغرق ثلاث سنوات وأن قاعة المطالعة فيها تتسع لخمسمئة قارئ.\n")
        return f"library_{i}_{int(time.time())}.txt", text, city

    async def reload_propagation(self) -> None:
        reps = self.args.reloads
        print(f"\n(b) reload propagation: `sanad add FILE` in its own process (own corpus folder) on the same "
              f"PostgreSQL, {reps} times; time from its exit until each replica's /healthz shows the new sentence count")
        lags, adds = [], []
        for i in range(reps):
            name, text, city = self.article(i)
            path = self.tmp / "articles" / name
            path.parent.mkdir(exist_ok=True)
            path.write_text(text, encoding="utf-8")
            before = {r.name: (await r.health(self.http))["sentences"] for r in self.replicas}
            changed: dict[str, float] = {}

            async def watch(r: Replica) -> None:
                while True:
                    h = await r.health(self.http)
                    if h and h["sentences"] != before[r.name]:
                        changed[r.name] = time.monotonic()
                        return
                    await asyncio.sleep(0.005)

            watchers = [asyncio.create_task(watch(r)) for r in self.replicas]
            t0 = time.monotonic()
            proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", "add", str(path), cwd=ROOT,
                                                        env=self.env("adder"), stdout=asyncio.subprocess.PIPE,
                                                        stderr=asyncio.subprocess.PIPE)
            out, err = await proc.communicate()
            exited = time.monotonic()
            if proc.returncode != 0:
                raise RuntimeError(f"sanad add failed ({proc.returncode}): {out.decode()}{err.decode()}")
            await asyncio.wait_for(asyncio.gather(*watchers), 60)
            lag = {k: v - exited for k, v in changed.items()}
            answered = {}
            for r in self.replicas:  # a question about the new article, posted to this replica directly
                since = len(self.api.calls_to("sendMessage"))
                d, u = self.tg.new_update(f"كم كتابا تضم المكتبة الجديدة في {city}؟")
                await self.tg.deliver(d, u, url=f"http://127.0.0.1:{r.port}/hook")
                await self.tg.settle([d], since, quiet=10)
                reply = [c for c in self.api.calls_to("sendMessage")[since:] if str(c.chat_id) == str(d.chat_id)]
                answered[r.name] = bool(reply) and city in (reply[-1].text or "") and str(40 + 7 * i) in (reply[-1].text or "")
            adds.append(exited - t0)
            lags.append(max(lag.values()))
            print(f"  #{i + 1}: sanad add ran {exited - t0:.2f} s; after its exit: "
                  + ", ".join(f"{k} {v * 1000:+.0f} ms" for k, v in sorted(lag.items()))
                  + "; answered about the new article: " + ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in answered.items()))
            if not all(answered.values()):
                self.notes.append(f"reload #{i + 1}: a replica did not answer from the new article")
        print(f"  both replicas serving the new article, after `sanad add` exits: median {statistics.median(lags) * 1000:.0f} ms, "
              f"max {max(lags) * 1000:.0f} ms (sanad add itself: median {statistics.median(adds):.1f} s)")
        self.rows.append(("reload propagation (sanad add exit -> both replicas)",
                          f"median {statistics.median(lags) * 1000:.0f} ms, max {max(lags) * 1000:.0f} ms over {reps}"))

    # ----------------------------------------------------------------------------------- (c)

    async def kill_mid_burst(self, sig: signal.Signals) -> None:
        victim, other = self.replicas[1], self.replicas[0]
        n, trickle_s, rate = self.args.burst, self.args.trickle, 4.0
        kind = "SIGKILL" if sig == signal.SIGKILL else "SIGTERM (graceful)"
        label = "SIGKILL" if sig == signal.SIGKILL else "SIGTERM"
        print(f"\n(c) {kind} to {victim.name} (port {victim.port}) while a burst of {n} questions is in flight, "
              f"then {trickle_s:.0f} s of {rate:.0f} questions/s")
        since = len(self.api.calls_to("sendMessage"))
        items = [self.tg.new_update() for _ in range(n)]
        killed_at: float | None = None
        exited_at: float | None = None

        async def killer() -> None:
            nonlocal killed_at, exited_at
            while sum(1 for d, _ in items if d.accepted) < n // 3:
                await asyncio.sleep(0.005)
            victim.proc.send_signal(sig)
            killed_at = time.monotonic()
            while victim.proc.poll() is None:
                await asyncio.sleep(0.01)
            exited_at = time.monotonic()

        async def trickle() -> None:
            while killed_at is None:
                await asyncio.sleep(0.01)
            sends = []
            for _ in range(int(trickle_s * rate)):
                d, u = self.tg.new_update()
                items.append((d, u))
                sends.append(asyncio.create_task(self.tg.deliver(d, u)))
                await asyncio.sleep(1 / rate)
            await asyncio.gather(*sends)

        kill_task = asyncio.create_task(killer())
        await asyncio.gather(*(self.tg.deliver(d, u) for d, u in items[:n]), trickle())
        await kill_task
        replies = await self.tg.settle([d for d, _ in items], since, quiet=8)
        dead = f"127.0.0.1:{victim.port}"
        in_victim_before = [d for d, _ in items if d.accepted and d.accepted_by == dead and d.accepted <= killed_at]
        answered = [d for d, _ in items if (d.chat_id, d.message_id) in replies]
        twice = [d for d in answered if len(replies[(d.chat_id, d.message_id)]) > 1]
        lost = [d for d, _ in items if (d.chat_id, d.message_id) not in replies]
        lost_by = Counter(d.accepted_by.rsplit(":", 1)[-1] for d in lost)
        redelivered = [d for d, _ in items if d.attempts > 1]
        statuses = Counter(str(s) for d, _ in items for *_, s in d.tried)
        # posts the balancer tried on the stopped replica, answered after the signal (so tried at or after it)
        tries_dead = sorted(end for d, _ in items for _, end, up, _ in d.tried if dead in up and end >= killed_at)
        accepted_dead_after = [d for d, _ in items if d.accepted_by == dead and d.accepted > killed_at]
        self.signals.append((killed_at, label))
        print(f"  killed after {len(in_victim_before)} updates had been accepted by {victim.name}; "
              f"it exited {(exited_at - killed_at) * 1000:.0f} ms after the signal (code {victim.proc.returncode})")
        print(f"  updates: {len(items)} posted, {len(answered)} answered, {len(twice)} answered twice, "
              f"{len(lost)} never answered" + (f" (accepted by port {dict(lost_by)})" if lost else ""))
        print(f"  posts: {sum(d.attempts for d, _ in items)} ({dict(statuses)}); {len(redelivered)} updates "
              f"needed a redelivery by Telegram; {len(accepted_dead_after)} accepted by {victim.name} after the signal")
        passed_on = sum(1 for d, _ in items for _, end, up, _ in d.tried
                        if dead in up and end >= killed_at and up.count(",") >= 1)
        first = tries_dead[:1]
        for t in tries_dead[1:]:
            if t - first[-1] >= 1.0:
                break
            first.append(t)
        stopped = (first[-1] - killed_at) if first else 0.0  # the end of the tries right after the signal
        later = [f"+{t - killed_at:.1f} s" for t in tries_dead[len(first):]]
        if tries_dead:
            print(f"  the balancer tried {victim.name} {len(tries_dead)} times after the signal ({passed_on} of them "
                  f"passed on to {other.name} by the balancer itself): from +{(tries_dead[0] - killed_at) * 1000:.0f} ms "
                  f"to +{stopped * 1000:.0f} ms" + (f", then again at {', '.join(later)}" if later else ""))
        else:
            print(f"  the balancer sent nothing to {victim.name} after the signal")
        self.rows.append((f"{label} mid-burst: answered / posted", f"{len(answered)}/{len(items)}"))
        self.rows.append((f"{label} mid-burst: lost, answered twice, redelivered",
                          f"{len(lost)}, {len(twice)}, {len(redelivered)}"))
        self.rows.append((f"{label} mid-burst: balancer stopped sending to it after",
                          f"{stopped * 1000:.0f} ms" + (f" (tried again at {', '.join(later)})" if later else "")))

    async def restart_victim(self) -> None:
        victim = self.replicas[1]
        victim.start(self.lb_url, set_webhook=False)
        await victim.wait_ready(self.http)
        await self.lb.set_backends([r.port for r in self.replicas])  # nginx: forget the failures now

    # ----------------------------------------------------------------------------------- run

    async def run(self) -> None:
        await self.setup()
        self.replicas[0].start(self.lb_url, set_webhook=True)
        await self.replicas[0].wait_ready(self.http)
        await self.choose_lb()
        self.api.wait_for(method="setWebhook", timeout=30)
        print(f"replicas: {self.replicas[0].name} on port {self.replicas[0].port}, {self.replicas[1].name} on port "
              f"{self.replicas[1].port}; PostgreSQL {self.server_version()}; {os.cpu_count()} CPU cores")
        await self.throughput()
        await self.reload_propagation()
        await self.kill_mid_burst(signal.SIGKILL)
        await self.restart_victim()
        await self.kill_mid_burst(signal.SIGTERM)
        errors = [c for c in self.api.errors if c.method.lower() != "getupdates"]
        print(f"\nBot API calls refused by the test server: {len(errors)}")
        for c in errors[:5]:
            near = [label for t, label in self.signals if 0 <= c.time - t < 1.0]
            why = f" (within 1 s after the {near[0]}: a request the killed process was writing, cut short)" if near else ""
            print(f"  {c!r}{why}")
        self.report_logs()
        print("\nsummary (" + self.lb.describe() + ")")
        width = max(len(k) for k, _ in self.rows)
        for k, v in self.rows:
            print(f"  {k:<{width}}  {v}")
        for note in self.notes:
            print(f"  NOTE: {note}")

    def report_logs(self) -> None:
        """What the replicas logged at WARNING and above (each started process appends to its log)."""
        for r in self.replicas:
            lines = r.log.read_text(errors="replace").splitlines() if r.log.exists() else []
            bad = [line for line in lines if " ERROR " in line or " CRITICAL " in line or line.startswith("Traceback")]
            warned = Counter(line.split(": ", 1)[-1][:140] for line in lines if " WARNING " in line)
            print(f"{r.name}'s log: {len(bad)} error lines, {sum(warned.values())} warnings")
            for line in bad[:5]:
                print(f"  {line[:200]}")
            for text, count in warned.most_common(5):
                print(f"  {count} x WARNING {text}")

    def server_version(self) -> str:
        import psycopg
        with psycopg.connect(self.db_url) as conn:
            return conn.execute("SHOW server_version").fetchone()[0]

    async def close(self) -> None:
        for r in self.replicas:
            stop_process(r.proc)
        if self.lb is not None:
            await self.lb.stop()
        with contextlib.suppress(Exception):
            await self.tg.close()
        await self.http.aclose()
        self.api.stop()


async def main_async(args: argparse.Namespace, tmp: Path, db_url: str) -> None:
    bench = Bench(args, tmp, db_url)
    try:
        await bench.run()
    except BaseException:
        for r in bench.replicas:
            if r.log.exists():
                print(f"--- last lines of {r.name}'s log:\n{tail(r.log)}", file=sys.stderr)
        raise
    finally:
        await bench.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=300, help="questions in each throughput burst (300)")
    parser.add_argument("--reloads", type=int, default=5, help="sanad add runs timed (5)")
    parser.add_argument("--burst", type=int, default=150, help="questions in the burst a replica is killed in (150)")
    parser.add_argument("--trickle", type=float, default=12.0, help="seconds of paced questions after the kill (12)")
    parser.add_argument("--next-upstream", default=NEXT_UPSTREAM,
                        help=f"nginx's proxy_next_upstream ({NEXT_UPSTREAM!r})")
    parser.add_argument("--proxy", choices=("auto", "python"), default="auto",
                        help="auto: nginx when installed, else the built-in proxy; python: the built-in proxy")
    args = parser.parse_args(argv)

    from postgres import find_bindir, throwaway_cluster
    bindir = find_bindir()
    if bindir is None:
        print("PostgreSQL's server programs (initdb, pg_ctl) are needed: apt-get install postgresql", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # a SIGTERM cleans up like Ctrl-C
    tmp = Path(tempfile.mkdtemp(prefix="sanad-replicabench-"))
    # should this script be killed outright, the watchdog still stops nginx and removes the folder (the
    # replicas die with this process, the PostgreSQL cluster has a watchdog of its own)
    watchdog = subprocess.Popen([sys.executable, "-c", WATCHDOG, str(tmp)], stdin=subprocess.PIPE,
                                start_new_session=True)
    try:
        with throwaway_cluster(bindir) as db_url:
            asyncio.run(main_async(args, tmp, db_url))
    except KeyboardInterrupt:
        print("\ninterrupted; everything started was stopped", file=sys.stderr)
        return 130
    finally:
        watchdog.stdin.close()
        watchdog.wait(30)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
