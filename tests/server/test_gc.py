"""The server process's garbage-collector settings: off during start-up (`__main__`), then
what start-up built frozen and the collector back on, with a larger young generation."""

from __future__ import annotations

import asyncio
import gc

from mcp.client import Client

from lark_mcp_server.config import Settings
from lark_mcp_server.server import GC_YOUNG_THRESHOLD, build_server


def test_the_lifespan_freezes_start_up_and_turns_the_collector_back_on():
    threshold = gc.get_threshold()
    settings = Settings(app_id="cli_fake_app", app_secret="fake-secret")

    async def started() -> tuple[bool, int, int, int]:
        async with Client(build_server(settings, freeze_heap=True)) as client:
            await client.list_tools()
            return (
                gc.isenabled(),
                gc.get_freeze_count(),
                gc.get_threshold()[0],
                len((await client.list_tools()).tools),
            )

    gc.disable()  # as __main__ does before start-up
    try:
        enabled, frozen, young, tools = asyncio.run(started())
    finally:
        gc.unfreeze()  # this test process builds more servers: let them be collected
        gc.set_threshold(*threshold)
        gc.enable()
    assert enabled and frozen > 10_000 and young == GC_YOUNG_THRESHOLD and tools > 30


def test_without_freeze_heap_the_collector_is_left_alone():
    threshold = gc.get_threshold()
    settings = Settings(app_id="cli_fake_app", app_secret="fake-secret")

    async def started() -> None:
        async with Client(build_server(settings)) as client:
            await client.list_tools()

    asyncio.run(started())
    assert gc.isenabled() and gc.get_freeze_count() == 0 and gc.get_threshold() == threshold
