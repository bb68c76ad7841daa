"""/users/me latency while 8 clients keep sending wrong passwords, against its idle latency.

Usage: .venv/bin/python bench/api_latency.py [--requests N] [--attackers 8] [--seconds 120]

The API runs under uvicorn in a child process (needs the `api` extra), on a socket this
script binds to 127.0.0.1 port 0 and hands over (`--fd`), against a scratch SQLite database.
A separate server process with real sockets measures what a client sees; with httpx's ASGI
transport the client and the server would share one event loop and blur the figure.

Two servers are measured in the same run, one after the other:
- `pool`: the code as it is (argon2 verification in the bounded hashing thread pool);
- `on-loop`: the same app with verification called directly on the event loop (the old
  behaviour), as the baseline the pool is compared with.
For each: the median of N sequential GET /users/me when idle, then while `--attackers`
clients each send wrong logins back to back (throttling raised out of the way, so every one
runs argon2). Goal: pool under load <= 3 x pool idle. Everything stops after --seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent
PASSWORD = "Bench-Passw0rd-for-latency"
SERVER = """
import sys
import uvicorn
if sys.argv[2] == "on-loop":
    import app.security as security
    import app.services.auth as auth

    async def verify_on_loop(password, hashed, *, workers=None):
        return security.verify_password(password, hashed)

    auth.verify_password_async = verify_on_loop
uvicorn.run("app.api.main:create_app", factory=True, fd=int(sys.argv[1]), log_level="warning")
"""


def prepare_database(url: str) -> None:
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run([str(BIN / "manage"), "migrate", "upgrade"], env=env, check=True)
    subprocess.run(
        [str(BIN / "manage"), "users", "create", "--email", "me@example.com", "--password-stdin"],
        input=PASSWORD + "\n",
        text=True,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


async def wait_until_up(client: httpx.AsyncClient, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            await client.get("/users/me")
            return
        except httpx.TransportError:
            await asyncio.sleep(0.1)
    raise SystemExit("the API did not start in time")


async def median_me(client: httpx.AsyncClient, headers: dict[str, str], requests: int) -> float:
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        response = await client.get("/users/me", headers=headers)
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text
        await asyncio.sleep(0.01)
    return statistics.median(timings)


async def measure(base_url: str, requests: int, attackers: int, deadline: float) -> dict:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        await wait_until_up(client, deadline)
        login = await client.post(
            "/auth/token", data={"username": "me@example.com", "password": PASSWORD}
        )
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        idle = await median_me(client, headers, requests)
        stop = asyncio.Event()
        wrong_logins = 0

        async def attacker(n: int) -> None:
            nonlocal wrong_logins
            async with httpx.AsyncClient(base_url=base_url, timeout=60) as own:
                while not stop.is_set() and time.monotonic() < deadline:
                    response = await own.post(
                        "/auth/token",
                        data={"username": "me@example.com", "password": f"wrong-{n}"},
                    )
                    assert response.status_code == 401, response.text
                    wrong_logins += 1

        tasks = [asyncio.create_task(attacker(n)) for n in range(attackers)]
        await asyncio.sleep(1.0)  # let the wrong logins pile up first
        started = time.perf_counter()
        loaded = await median_me(client, headers, requests)
        elapsed = time.perf_counter() - started
        stop.set()
        await asyncio.gather(*tasks)
        return {"idle": idle, "loaded": loaded, "wrong/s": wrong_logins / (elapsed + 1.0)}


def run_server(mode: str, url: str, requests: int, attackers: int, deadline: float) -> dict:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        port = sock.getsockname()[1]
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "ENVIRONMENT": "test",
            "SECRET_KEY": "bench-key-" + "x" * 40,
            "LOGIN_MAX_FAILURES": "1000",
            "LOGIN_MAX_FAILURES_PER_ADDRESS": "100000",
        }
        server = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(sock.fileno()), mode],
            env=env,
            pass_fds=(sock.fileno(),),
        )
        try:
            return asyncio.run(measure(f"http://127.0.0.1:{port}", requests, attackers, deadline))
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--attackers", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=180)
    args = parser.parse_args()
    deadline = time.monotonic() + args.seconds
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        prepare_database(url)
        results = {
            mode: run_server(mode, url, args.requests, args.attackers, deadline)
            for mode in ("pool", "on-loop")
        }
    print(f"cpus: {os.cpu_count()}, attackers: {args.attackers}, requests: {args.requests}")
    for mode, r in results.items():
        print(
            f"{mode:8} /users/me median idle {r['idle'] * 1000:7.1f} ms, under load "
            f"{r['loaded'] * 1000:7.1f} ms, ratio {r['loaded'] / r['idle']:5.1f}x "
            f"({r['wrong/s']:.1f} wrong logins/s)"
        )
    pool, loop = results["pool"], results["on-loop"]
    print(f"pool under load vs on-loop under load: {pool['loaded'] / loop['loaded']:.2f}x")
    print(f"goal: pool ratio <= 3.0x: {'met' if pool['loaded'] <= 3 * pool['idle'] else 'NOT met'}")


if __name__ == "__main__":
    main()
