"""`python -m local_gateway.chain` (`make local USER_AUTH=1`): the whole sign-in chain on
loopback in one command, and the MCP URL to paste into any MCP client.

It starts, each as its own process, and waits until each answers `/health`:
1. the fake Lark + Feishu OAuth (`python -m tests.lark_fake`, ready when `/_fake/stats`
   answers; signs in as Alice and consents),
   unless `LARK_APP_ID` and `LARK_APP_SECRET` are set: then the real Lark/Feishu of
   `LARK_DOMAIN` (default `https://open.feishu.cn`) with `LARK_USER_SCOPES` (required then;
   the Lark app's redirect URL must list `<auth server>/callback`);
2. the authorization server (`python -m lark_auth_server`, SQLite store and PEM signing key in
   `LOCAL_DATA`, default `.lark-auth/`);
3. the MCP server (`python -m lark_mcp_server`) reading that store;
4. the user-gateway stand-in (`python -m local_gateway`) in front of it.

Ports: `PORT` (MCP server, default 8000), `AUTH_PORT` (8001), `GATEWAY_PORT` (8002),
`LARK_FAKE_PORT` (9999); `0` picks a free one. `AUTH_CLIENTS` (JSON, as for the authorization
server) pre-registers clients. Each process writes its log to `LOCAL_DATA/<name>.log`. Ctrl-C
(or SIGTERM) stops them all; if one exits on its own, the others are stopped and the chain exits
non-zero, naming it and the end of its log.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import httpx2

REPO = Path(__file__).resolve().parents[1]
START_SECONDS = 90.0  # per process; a cold start on a loaded 2-core machine is slow
FAKE_APP_ID, FAKE_APP_SECRET = "cli_fake_app", "fake-secret"
FAKE_SCOPES = "calendar:calendar:readonly docx:document:readonly im:message task:task:read"
#: Values printed so a person can try a pre-registered client by hand.
DEV_CLIENT = {
    "client_id": "local-dev",
    "client_secret": "local-dev-secret-0123456789",
    "redirect_uris": ["http://127.0.0.1:8765/callback"],
}


class ChainError(Exception):
    """Something a person must fix; the message says what."""


def _port(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name, str(default))
    try:
        port = int(raw)
    except ValueError:
        raise ChainError(f"{name}={raw!r} is not a port number") from None
    if not 0 <= port < 65536:
        raise ChainError(f"{name}={port} is not a TCP port (0 picks a free one)")
    if port == 0:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
    return port


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def tail(self, lines: int = 15) -> str:
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


@dataclass
class Chain:
    """The processes of one local run (see the module docstring)."""

    env: dict[str, str]
    data: Path
    children: list[Child] = field(default_factory=list)
    urls: dict[str, str] = field(default_factory=dict)

    def _base_env(self) -> dict[str, str]:
        keep = {k: v for k, v in self.env.items() if not k.startswith(("LARK_", "AUTH_", "AWS_"))}
        keep.pop("HOST", None)
        keep.pop("PORT", None)
        keep["PYTHONPATH"] = str(REPO)
        keep["PYTHONUNBUFFERED"] = "1"
        return keep

    def start(
        self, name: str, args: list[str], env: dict[str, str], base: str, health: str = "/health"
    ) -> None:
        log_path = self.data / f"{name}.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [sys.executable, *args],
                cwd=REPO,
                env={**self._base_env(), **env},
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        child = Child(name, process, log_path)
        self.children.append(child)
        deadline = time.monotonic() + START_SECONDS
        while True:
            if process.poll() is not None:
                raise ChainError(
                    f"{name} exited at start (code {process.returncode}):\n{child.tail()}"
                )
            try:
                if httpx2.get(f"{base}{health}", timeout=1).status_code == 200:
                    return
            except httpx2.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise ChainError(
                    f"{name} did not answer {base}{health} in {START_SECONDS:.0f} s:\n"
                    + child.tail()
                )
            time.sleep(0.1)

    def run(self) -> None:
        env = self.env
        real = bool(env.get("LARK_APP_ID") and env.get("LARK_APP_SECRET"))
        ports = {
            "mcp": _port(env, "PORT", 8000),
            "auth": _port(env, "AUTH_PORT", 8001),
            "gateway": _port(env, "GATEWAY_PORT", 8002),
        }
        issuer = f"http://127.0.0.1:{ports['auth']}"
        gateway = f"http://127.0.0.1:{ports['gateway']}"
        mcp_url = f"{gateway}/mcp"
        clients_json = env.get("AUTH_CLIENTS") or json.dumps([DEV_CLIENT])
        try:
            clients = [str(c["client_id"]) for c in json.loads(clients_json)]
        except (ValueError, TypeError, KeyError):
            raise ChainError(
                "AUTH_CLIENTS must be a JSON list of {client_id, ...} objects"
            ) from None
        if real:
            lark = env.get("LARK_DOMAIN", "https://open.feishu.cn")
            app_id, app_secret = env["LARK_APP_ID"], env["LARK_APP_SECRET"]
            scopes = env.get("LARK_USER_SCOPES", "")
            if not scopes.strip():
                raise ChainError(
                    "LARK_USER_SCOPES is required with real Lark credentials: the scopes of your "
                    "Lark app to ask each person for (offline_access is added)"
                )
        else:
            fake_port = _port(env, "LARK_FAKE_PORT", 9999)
            lark = f"http://127.0.0.1:{fake_port}"
            app_id, app_secret = FAKE_APP_ID, FAKE_APP_SECRET
            scopes = env.get("LARK_USER_SCOPES") or FAKE_SCOPES
            fake = ["-m", "tests.lark_fake", "--port", str(fake_port)]
            self.start("fake-lark", fake, {}, lark, health="/_fake/stats")
        store = f"sqlite:///{self.data / 'tokens.db'}"
        lark_env = {"LARK_DOMAIN": lark, "LARK_APP_ID": app_id, "LARK_APP_SECRET": app_secret}
        if env.get("LARK_ACCOUNTS_DOMAIN"):
            lark_env["LARK_ACCOUNTS_DOMAIN"] = env["LARK_ACCOUNTS_DOMAIN"]
        self.start(
            "auth-server",
            ["-m", "lark_auth_server"],
            {
                **lark_env,
                "HOST": "127.0.0.1",
                "PORT": str(ports["auth"]),
                "AUTH_ISSUER": issuer,
                "AUTH_AUDIENCE": mcp_url,
                "LARK_USER_SCOPES": scopes,
                "AUTH_CLIENTS": clients_json,
                "USER_TOKEN_STORE": store,
            },
            issuer,
        )
        self.start(
            "mcp-server",
            ["-m", "lark_mcp_server"],
            {
                **lark_env,
                "HOST": "127.0.0.1",
                "PORT": str(ports["mcp"]),
                "LARK_USER_AUTH_ISSUER": issuer,
                "LARK_USER_AUTH_AUDIENCE": mcp_url,
                "USER_TOKEN_STORE": store,
            },
            f"http://127.0.0.1:{ports['mcp']}",
        )
        self.start(
            "gateway",
            ["-m", "local_gateway"],
            {
                "HOST": "127.0.0.1",
                "PORT": str(ports["gateway"]),
                "UPSTREAM_URL": f"http://127.0.0.1:{ports['mcp']}/mcp",
                "AUTH_ISSUER": issuer,
                "AUTH_AUDIENCE": mcp_url,
            },
            gateway,
        )
        self.urls = {"mcp": mcp_url, "issuer": issuer, "lark": lark}
        print(f"MCP URL: {mcp_url}", flush=True)
        where = f"real Lark at {lark}" if real else f"the fake Lark/Feishu at {lark} (Alice)"
        print(f"  sign-in: {issuer}, with {where}")
        print(f"  pre-registered clients: {', '.join(clients) or 'none'}; logs in {self.data}/")
        print("Paste the MCP URL into your MCP client. Ctrl-C stops everything.", flush=True)

    def watch(self) -> None:
        """Block until a child exits (an error) or the chain is told to stop."""
        while True:
            for child in self.children:
                if child.process.poll() is not None:
                    raise ChainError(
                        f"{child.name} exited (code {child.process.returncode}):\n{child.tail()}"
                    )
            time.sleep(0.5)

    def stop(self) -> None:
        for child in reversed(self.children):
            if child.process.poll() is None:
                child.process.terminate()
        for child in reversed(self.children):
            try:
                child.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()


def main() -> None:
    env = dict(os.environ)
    data = Path(env.get("LOCAL_DATA", REPO / ".lark-auth")).resolve()
    data.mkdir(mode=0o700, parents=True, exist_ok=True)
    chain = Chain(env, data)

    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        # Only the first Ctrl-C or SIGTERM stops the chain: make forwards its own SIGTERM to the
        # chain a Ctrl-C already reached, and that must not end in a traceback. Later signals
        # are dropped here rather than by SIG_IGN, which Python reports as an error when the
        # signal is already pending ("ignored due to race condition").
        nonlocal stopping
        if not stopping:
            stopping = True
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    code = 0
    try:
        chain.run()
        chain.watch()
    except KeyboardInterrupt:
        print("stopping", flush=True)
    except ChainError as exc:
        stopping = True
        print(f"make local USER_AUTH=1: {exc}", file=sys.stderr, flush=True)
        code = 1
    finally:
        # Nor may a signal cut the children's stop short: stop() already kills whatever has not
        # ended within 10 s.
        stopping = True
        chain.stop()
    sys.exit(code)


if __name__ == "__main__":
    main()
