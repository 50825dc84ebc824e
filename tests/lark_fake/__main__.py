"""`python -m tests.lark_fake --port 9999`: run the fake standalone until Ctrl+C."""

from __future__ import annotations

import argparse
import contextlib
import threading

from .fake import FakeLark
from .runner import run_fake_lark


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve a fake Lark/Feishu OpenAPI on loopback.")
    parser.add_argument("--port", type=int, default=9999, help="port on 127.0.0.1 (0: any free)")
    parser.add_argument("--app-id", default="cli_fake_app")
    parser.add_argument("--app-secret", default="fake-secret")
    parser.add_argument("--token-ttl", type=int, default=7200, help="tenant token lifetime (s)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fault dice")
    parser.add_argument(
        "--rate-429", type=float, default=0.0, help="share of requests rate-limited"
    )
    parser.add_argument("--rate-5xx", type=float, default=0.0, help="share answered 500/502/503")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to each request")
    parser.add_argument(
        "--bench-pages", action="store_true", help="add 20-item pages (make bench's result sizes)"
    )
    args = parser.parse_args()
    fake = FakeLark(
        app_id=args.app_id,
        app_secret=args.app_secret,
        token_ttl=args.token_ttl,
        seed=args.seed,
        bench_pages=args.bench_pages,
    )
    if args.rate_429 or args.rate_5xx or args.latency:
        fake.inject(rate_429=args.rate_429, rate_5xx=args.rate_5xx, latency=args.latency)
    with run_fake_lark(fake, port=args.port) as lark:
        print(f"Fake Lark OpenAPI on {lark.base_url}", flush=True)
        print(f"  LARK_DOMAIN={lark.base_url}", flush=True)
        print(f"  LARK_APP_ID={lark.app_id}", flush=True)
        print(f"  LARK_APP_SECRET={lark.app_secret}", flush=True)
        print(
            f"  control: {lark.base_url}/_fake/stats, /_fake/writes/<kind>, POST /_fake/reset,"
            " /_fake/inject, /_fake/clear_faults, /_fake/revoke_tokens, /_fake/oauth",
            flush=True,
        )
        print("Ctrl+C to stop.", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
