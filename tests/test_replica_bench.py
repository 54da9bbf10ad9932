"""The load balancer of tests/replica_bench.py (the two-replica benchmark, not run by the suite): its
round robin skips a replica whose /healthz is not 200, and a refused connection is tried on the next."""

from __future__ import annotations

import asyncio

import httpx

from local_http import closed_port
from replica_bench import Proxy, nginx_upstream


async def backend(name: str, health: int) -> tuple[asyncio.base_events.Server, int]:
    """A stand-in replica: /healthz answers `health`, anything else 200 with its name."""
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        status, body = (health, b"{}") if b" /healthz " in head.split(b"\r\n")[0] else (200, name.encode())
        writer.write(b"HTTP/1.1 %d X\r\nContent-Length: %d\r\n\r\n%s" % (status, len(body), body))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def test_the_proxy_skips_unhealthy_replicas_and_passes_a_refused_connection_on():
    up, up_port = await backend("up", 200)
    down, down_port = await backend("down", 503)
    dead_port = closed_port()
    proxy = Proxy(interval=60)  # no health check during the test but the first
    try:
        await proxy.start([up_port, down_port])
        assert proxy.healthy == {up_port: True, down_port: False}
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{proxy.port}") as client:
            replies = [await client.post("/hook", content=b"{}") for _ in range(4)]
            assert [r.text for r in replies] == ["up"] * 4
            assert {r.headers["X-Upstream"] for r in replies} == {f"127.0.0.1:{up_port}"}

            proxy.backends, proxy.healthy = [dead_port, up_port], {dead_port: True, up_port: True}
            tried = [(await client.post("/hook", content=b"{}")).headers["X-Upstream"] for _ in range(2)]
            assert f"127.0.0.1:{dead_port}, 127.0.0.1:{up_port}" in tried  # refused, then the next one
            assert proxy.healthy[dead_port] is False  # and left out until a health check says otherwise
            assert (await client.post("/hook", content=b"{}")).headers["X-Upstream"] == f"127.0.0.1:{up_port}"

            proxy.healthy = {dead_port: False, up_port: False}
            assert (await client.post("/hook", content=b"{}")).status_code == 502  # no replica: Telegram retries
    finally:
        await proxy.stop()
        up.close()
        down.close()


def test_the_nginx_upstream_lists_each_replica_with_passive_health_checks():
    assert nginx_upstream([8001, 8002]).splitlines()[1:3] == [
        "        server 127.0.0.1:8001 max_fails=1 fail_timeout=10s;",
        "        server 127.0.0.1:8002 max_fails=1 fail_timeout=10s;",
    ]
