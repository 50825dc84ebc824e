"""How an area module declares tools, and how they are bound to the MCP server.

An area module (`im.py`, ...) creates `TOOLS = ToolSet()` and decorates plain async functions
with `@TOOLS.tool(...)`. Such a function takes a `LarkCall` as its first parameter, then its
arguments as `Annotated[T, Field(description=...)]`, and returns a JSON-able dict. Binding wraps
it so that every call gets: its own `LarkCall` (45 s deadline, idempotency keys reused across
retries), Lark errors turned into tool errors, a compact JSON result, and one log line.

A call runs as the signed-in person whose caller JWT the request carries, else as the bot
(`identity.py`). A tool declared `needs_user=True` only makes sense as a person (Lark serves
it to user tokens only) and answers a bot call with a tool error.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp_types import CallToolResult, ToolAnnotations
from pydantic import ConfigDict, Field, PrivateAttr

from .caller_jwt import CALLER_JWT_HEADER
from .config import Settings
from .credentials import AppCredentials
from .formatting import to_result
from .identity import UserAuth, caller
from .lark_client import LarkCall, LarkClient, LarkError, SignInRequired
from .paths import check_text

log = logging.getLogger("lark_mcp_server.calls")

ToolFn = Callable[..., Awaitable[dict[str, Any]]]


@dataclass
class AppState:
    """Process-wide objects, created once in the server's lifespan."""

    lark: LarkClient
    users: UserAuth | None = None
    """Set when user sign-in is configured: verifies caller JWTs, hands out user tokens."""

    @classmethod
    def create(cls, settings: Settings) -> AppState:
        credentials = AppCredentials(settings)
        lark = LarkClient(
            settings.lark_domain,
            credentials,
            http_timeout=settings.http_timeout,
            call_deadline=settings.call_deadline,
            retry_base=settings.retry_base,
            rate_limit_cap=settings.rate_limit_cap,
        )
        users = UserAuth(settings, lark, credentials) if settings.user_auth else None
        return cls(lark=lark, users=users)

    async def aclose(self) -> None:
        if self.users is not None:
            await self.users.aclose()
        await self.lark.aclose()


@dataclass(frozen=True)
class ToolSpec:
    name: str
    title: str
    description: str
    read_only: bool
    destructive: bool
    idempotent: bool
    fn: ToolFn
    needs_user: bool = False
    """Only a signed-in person can use it (Lark serves it to user tokens only)."""
    app_only: bool = False
    """Lark serves it to the app's token only: a signed-in person's call is verified, then
    runs with the app's token (the log line says so). With `needs_user` too: only for a
    signed-in person, whose open_id the tool gets as `lark.acting_for` (approvals)."""

    @property
    def annotations(self) -> ToolAnnotations:
        return ToolAnnotations(
            title=self.title,
            read_only_hint=self.read_only,
            destructive_hint=self.destructive,
            idempotent_hint=self.idempotent,
            open_world_hint=True,
        )

    def to_tool(self, schema: dict[str, Any] | None = None) -> Tool:
        """The MCP tool: the bound function plus a tidied input schema.

        Given the schema `to_tool()` computed earlier (`tool_schemas.py`), the tool is a
        `LazyTool` that builds the rest when it is first called.
        """
        if schema is not None:
            return LazyTool.model_construct(
                fn=_unbuilt,
                name=self.name,
                title=self.title,
                description=self.description,
                parameters=schema,
                fn_metadata=None,
                is_async=True,
                context_kwarg="ctx",
                resolved_params={},
                resolver_plans={},
                annotations=self.annotations,
                icons=None,
                meta=None,
                spec=self,
            )
        tool = Tool.from_function(
            _bind(self),
            name=self.name,
            title=self.title,
            description=self.description,
            annotations=self.annotations,
            structured_output=False,
        )
        tool.parameters = tidy_schema(tool.parameters)
        return tool


async def _unbuilt(**_: Any) -> None:
    raise RuntimeError("a LazyTool's function is never called directly")


class LazyTool(Tool):
    """A tool listed from its precomputed schema; `run` builds the real `Tool` (argument
    model, bound function) on the first call and hands every call to it."""

    model_config = ConfigDict(defer_build=True)  # only ever model_construct()ed: no schema

    spec: Any = Field(default=None, exclude=True)
    _built: Tool | None = PrivateAttr(default=None)

    @property
    def output_schema(self) -> dict[str, Any] | None:  # type: ignore[override]
        return None  # structured_output=False, as in to_tool()

    async def run(
        self, arguments: dict[str, Any], context: Any, convert_result: bool = False
    ) -> Any:
        if self._built is None:
            # Two first calls at once may both build it: the same tool, and no harm.
            self._built = self.spec.to_tool()
        return await self._built.run(arguments, context, convert_result)


def tidy_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Smaller tools/list: drop pydantic's generated titles and the `null` branch of optionals.

    Optional arguments are simply left out of `required`; the server still accepts an explicit
    null for them. `required` stays an array at the root, as Quick Suite demands.
    """
    out = {k: v for k, v in schema.items() if k != "title"}
    out["type"] = "object"
    out["required"] = list(schema.get("required") or [])
    properties = {}
    for name, prop in (schema.get("properties") or {}).items():
        prop = {k: v for k, v in prop.items() if k != "title"}
        branches = prop.get("anyOf")
        if isinstance(branches, list):
            kept = [b for b in branches if b != {"type": "null"}]
            if len(kept) == 1 and len(kept) < len(branches):
                del prop["anyOf"]
                prop = {**kept[0], **prop}
        if "default" in prop and prop["default"] is None:
            del prop["default"]
        properties[name] = prop
    out["properties"] = properties
    return out


class ToolSet(list[ToolSpec]):
    """The tools of one area module, in declaration order."""

    def tool(
        self,
        *,
        title: str,
        description: str,
        read_only: bool,
        destructive: bool = False,
        idempotent: bool | None = None,
        name: str | None = None,
        needs_user: bool = False,
        app_only: bool = False,
    ) -> Callable[[ToolFn], ToolFn]:
        """Declare a tool. Read-only tools default to idempotent, writes to not.

        `needs_user`: the tool only works as a signed-in person; through the bot it answers
        with a tool error pointing to the signed-in integration. `app_only`: Lark serves the
        API to the app's token only, so even a verified signed-in call uses it. Both: a
        person's action that Lark takes from the app on their behalf (`lark.acting_for`).
        """

        def decorate(fn: ToolFn) -> ToolFn:
            self.append(
                ToolSpec(
                    name=name or fn.__name__,
                    title=title,
                    description=description,
                    read_only=read_only,
                    destructive=destructive,
                    idempotent=read_only if idempotent is None else idempotent,
                    fn=fn,
                    needs_user=needs_user,
                    app_only=app_only,
                )
            )
            return fn

        return decorate


def _needs_user(spec: ToolSpec) -> str:
    return (
        f"{spec.name} works only for a signed-in person: Lark answers it with the person's own "
        "access, which the team bot does not have. Use it through the Lark integration that "
        'acts as you ("Lark as me"), connected once with your Lark account.'
    )


def _bind(spec: ToolSpec) -> Callable[..., Awaitable[CallToolResult]]:
    """The function MCPServer sees: the tool's own parameters, with `ctx` in place of `lark`."""
    signature = inspect.signature(spec.fn, eval_str=True)
    params = list(signature.parameters.values())
    if not params or params[0].annotation is not LarkCall:
        raise TypeError(f"tool {spec.name}: first parameter must be `lark: LarkCall`")
    arguments = params[1:]

    async def call(ctx: Context, **kwargs: Any) -> CallToolResult:
        state: AppState = ctx.request_context.lifespan_context
        lark = state.lark.start_call(spec.name)
        started = time.monotonic()
        status, extra = "ok", {}
        who: dict[str, Any] = {"as": "bot"}
        try:
            check_text(kwargs)  # before any tool code: no argument may break the HTTP client
            if ctx.headers is not None and CALLER_JWT_HEADER in ctx.headers:
                who = {"as": "user"}
            lark.user = await caller(state.users, ctx.headers)
            if lark.user is not None:
                who["open_id"] = lark.user.open_id
                if spec.app_only:
                    # The app's token, but only for a person whose Lark sign-in still stands
                    # (not one with no stored sign-in, or one Lark refused to renew).
                    await lark.user.tokens.require_sign_in(lark.user.open_id)
                    who["token"] = "app"
                    lark.acting_for = lark.user.open_id
                    lark.user = None
            elif spec.needs_user:
                raise ToolError(_needs_user(spec))
            result = await spec.fn(lark, **kwargs)
        except SignInRequired as exc:
            status = "sign_in_required"
            extra = {"event": "reconnect_required"}  # the person is asked to sign in again
            raise ToolError(str(exc)) from None
        except LarkError as exc:
            status = "lark_error"
            extra = {"lark_code": exc.code, "http_status": exc.http_status}
            raise ToolError(str(exc)) from None
        except ToolError:
            status = "tool_error"
            raise
        except Exception:
            status = "crash"
            raise
        finally:
            log.info(
                "tool call",
                extra={
                    "tool": spec.name,
                    **who,
                    "status": status,
                    "endpoints": lark.endpoints,
                    "attempts": lark.attempts,
                    "duration_ms": round((time.monotonic() - started) * 1000),
                    **extra,
                },
            )
        return to_result(result)

    ctx_param = inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context)
    call.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in arguments]
        + [ctx_param],
        return_annotation=CallToolResult,
    )
    call.__annotations__ = {
        **{p.name: p.annotation for p in arguments},
        "ctx": Context,
        "return": CallToolResult,
    }
    call.__name__ = spec.name
    call.__doc__ = spec.description
    return call
