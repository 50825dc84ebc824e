"""Every command the docs show runs: a brand-new user copying it gets no traceback or typo.

Each `make ...`, `npx cdk ...`, `./node_modules/.bin/cdk ...`, `.venv/bin/python -m ...` and
`python -m ...` in README.md and docs/*.md (fenced blocks, inline code, tables) runs in its own
scratch copy of the repo (``.venv`` and ``node_modules`` shared by symlink) as a user with no
AWS account at all: no credentials, no region, no instance metadata, every AWS endpoint a closed
loopback port, and a fresh-shell PATH without the venv (`python -m` runs as in an activated
venv). A command passes when it succeeds, or when it stops on that missing account (or on the
missing server a `make verify URL=...` points at) with a readable line; it fails on a
traceback, a missing module, an unknown make target or flag, a wrong path or a configuration
error in a documented value. The CDK commands run the real CLI, which runs the app (cdk.json's
launcher) up to the point where it needs the account. Servers run until a time limit; a
command that runs the whole suite is listed in ``NOT_RUN`` with its reason.

Placeholders (``aws://A/R``, ``TEAM=<name>``, ``URL=...``, ``[OPTIONAL=1]``) become concrete
values (``PLACEHOLDERS``); an optional ``[...]`` part is run included. A command documented
on several pages runs once; its test id names the first page and line. Spellings that become the
same shell command (``make local [USER_AUTH=1]`` and ``make local USER_AUTH=1``) run once too,
and each keeps its own test.

Every scratch HOME shares one thing with the runner: jsii's package cache (tests/jsii_cache.py).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.jsii_cache import package_cache_root, shared_cache_env

REPO = Path(__file__).resolve().parents[2]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
#: Shared with the checkout, never copied (the venv, the pinned CLI, the Lambda wheels).
SHARED = (".venv", "node_modules", "build/wheelhouse")

_RUNNABLE = re.compile(
    r"^(make\s|npx cdk\b|\./node_modules/\.bin/cdk\b|\.venv/bin/python\s|python3? -m\s)"
)
_FENCE = re.compile(r"^\s*(```|~~~)")
_INLINE = re.compile(r"(?<!`)`([^`]+)`(?!`)")
#: ``make bench  (= .venv/bin/python -m bench.run)``: a command and its spelled-out equivalent.
_EQUIVALENT = re.compile(r"\s+\(=\s*([^)]+)\)\s*$")

#: The account the doc examples' placeholders stand for: never contacted (no credentials).
ACCOUNT, REGION = "123456789012", "us-east-1"
PLACEHOLDERS: tuple[tuple[str, str], ...] = (
    (r"aws://(A|ACCOUNT)/(R|REGION)\b", f"aws://{ACCOUNT}/{REGION}"),
    (r"\bREGION=R\b", f"REGION={REGION}"),
    (r"<user gateway MCP URL>", "http://127.0.0.1:{closed}/mcp"),
    (r"TEAM=<name>", "TEAM=support"),
    (r"\b(URL|ISSUER)=\.\.\.", r"\1=http://127.0.0.1:{closed}"),
    # The sign-in check against a local issuer needs a client's redirect URI (line above it).
    (
        r"(ISSUER=\S+.*)\bVERIFY_ARGS=\.\.\.",
        r'\1VERIFY_ARGS="--client-id dev --redirect-uri http://127.0.0.1:8765/cb"',
    ),
    (r"\bVERIFY_ARGS=\.\.\.", 'VERIFY_ARGS="--json"'),
    (r'larkUserScopes="\.\.\."', 'larkUserScopes="contact:user.base:readonly"'),
    (r"\[([^\]\[]*=[^\]\[]*)\]", r"\1"),  # `make verify [TEAM=name]`: run with the option
)

#: Commands not run here, and why (each must still be documented: see the last test).
NOT_RUN = {
    "make test": "runs the whole suite, this test included (CI runs it: `make lint` then `make"
    " test`)",
}
#: Commands that run until stopped: each must still be running after SERVER_SECONDS.
SERVERS = re.compile(
    r"^(make (local|fake-lark|bench)\b|(\.venv/bin/)?python3? -m"
    r" (lark_mcp_server|lark_auth_server|local_gateway(\.chain)?|tests\.lark_fake|bench\.run)"
    r"(?![.\w]))"  # `python -m lark_mcp_server.tool_schemas` is a module of it, not the server
)
#: A server may also stop at once on a setting the docs tell you to set (one line, no traceback).
SERVER_SETTING = re.compile(r"\b[A-Z][A-Z0-9_]+ is (not set|required)\b")
#: Servers on fixed ports (the fake Lark on 9999; the sign-in chain on 8001, 8002) run one at
#: a time.
FIXED_PORT = re.compile(
    r"fake-lark|tests\.lark_fake|local_gateway\.chain|make local.*USER_AUTH"
    # A command pointed at those ports must meet nothing there (servers have a lane of their own).
    r"|127\.0\.0\.1:(8001|8002|9999)\b"
)
_FIXED_PORT_LOCK = threading.Lock()
#: ... and one at a time on the machine: another checkout's suite may run these commands too.
_FIXED_PORT_FILE = Path(tempfile.gettempdir()) / "lark-mcp-doc-commands-fixed-ports.lock"
SERVER_SECONDS = 8.0
COMMAND_SECONDS = 240.0
#: A stop on the absent account (or the absent server a local URL names) is the expected end.
ABSENT = re.compile(
    r"no AWS credentials|no AWS region|Need to perform AWS calls|Unable to resolve AWS account"
    r"|Unable to locate credentials|NoCredentials|could not be resolved|Connection refused"
    r"|does not answer"
    # The CLI ran the app and stops before destroying anything without a terminal to confirm.
    r"|terminal \(TTY\) is not attached"
)
#: These fail a command whatever its exit code: the docs or the code are wrong.
BROKEN = re.compile(
    r"Traceback \(most recent call last\)|ModuleNotFoundError|No module named"
    r"|No rule to make target|unrecognized arguments|Unknown arguments?:|Unknown command"
    r"|command not found|No such file or directory|syntax error|Configuration error"
    r"|Missing Lambda packages|Address already in use"
)
#: make's own install stamps are the checkout's (`make setup` ran before the suite).
MAKE_SKIP_INSTALL = (
    "-o .venv/.installed -o node_modules/.installed"
    " -o build/wheelhouse/lark_auth_server/requirements.txt"
)


@dataclass
class DocCommand:
    """One distinct command and every place the docs show it."""

    command: str
    places: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"{self.places[0]}: {self.command}"


def _inline_commands(text: str) -> Iterator[tuple[int, str]]:
    """Inline code spans in prose and tables (they may wrap lines: a newline is a space)."""
    for match in _INLINE.finditer(text):
        code = " ".join(match.group(1).split())
        if _RUNNABLE.match(code):
            yield text.count("\n", 0, match.start()) + 1, code


def _block_commands(lines: list[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    """Lines of a fenced block (``$ `` prompts dropped, ``\\`` continuations joined)."""
    pending, start = "", 0
    for number, raw in lines:
        line = raw.strip().removeprefix("$ ")
        if not pending:
            start = number
        pending = f"{pending} {line.rstrip(chr(92)).strip()}".strip()
        if line.endswith("\\"):
            continue
        if _RUNNABLE.match(pending):
            yield start, pending
        pending = ""


def page_commands(text: str) -> Iterator[tuple[int, str]]:
    """(line, command) for every runnable command a Markdown page shows."""
    prose: list[str] = []
    block: list[tuple[int, str]] = []
    in_block = False
    for number, line in enumerate(text.splitlines(), 1):
        if _FENCE.match(line):
            if in_block:
                yield from _block_commands(block)
                block = []
            in_block = not in_block
            prose.append("")
        elif in_block:
            block.append((number, line))
            prose.append("")
        else:
            prose.append(line)
    yield from _inline_commands("\n".join(prose))


def _normalize(command: str) -> list[str]:
    """Comments dropped, an ``(= equivalent)`` split off, whitespace collapsed."""
    command = re.sub(r"\s+#\s.*$", "", command)
    equivalent = _EQUIVALENT.search(command)
    found = [command[: equivalent.start()], equivalent.group(1)] if equivalent else [command]
    return [" ".join(part.split()) for part in found]


def documented_commands() -> list[DocCommand]:
    commands: dict[str, DocCommand] = {}
    for page in PAGES:
        name = page.relative_to(REPO).as_posix()
        for line, raw in page_commands(page.read_text(encoding="utf-8")):
            for command in _normalize(raw):
                commands.setdefault(command, DocCommand(command)).places.append(f"{name}:{line}")
    return sorted(commands.values(), key=lambda c: c.command)


# --- running one command ------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def concrete(command: str, closed: int) -> str:
    """The command with its placeholders filled in, as a shell would be given it."""
    for pattern, replacement in PLACEHOLDERS:
        command = re.sub(pattern, replacement, command)
    return command.replace("{closed}", str(closed))


def scratch_copy(target: Path) -> Path:
    """The checkout's files (tracked and new, not ignored), mtimes kept; shared dirs linked."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    for name in SHARED:
        if (REPO / name).exists():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            (target / name).symlink_to((REPO / name).resolve())
    # A clone is a git repository (`make bench` exports the server at HEAD).
    git = ["git", "-c", "user.name=docs", "-c", "user.email=docs@example.invalid"]
    for argv in (["init", "-q"], ["add", "-A"], ["commit", "-q", "--no-verify", "-m", "clone"]):
        subprocess.run([*git, *argv], cwd=target, check=True, capture_output=True)
    return target


def no_account_env(home: Path, closed: int, *, venv_on_path: bool) -> dict[str, str]:
    """A fresh shell of a user who has no AWS set-up (and has not activated the venv)."""
    venv_bin = str((REPO / ".venv" / "bin").resolve())
    path = [
        entry
        for entry in os.environ.get("PATH", "").split(os.pathsep)
        if entry and Path(entry).resolve() != Path(venv_bin)
    ]
    if venv_on_path:
        path.insert(0, venv_bin)
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "CDK_", "VIRTUAL_ENV", "PYTHON", "PYTEST", "MAKE"))
        and name not in ("MFLAGS", "CI_AWS")
    }
    endpoint = f"http://127.0.0.1:{closed}"
    env |= {
        "PATH": os.pathsep.join(path),
        "HOME": str(home),
        "AWS_CONFIG_FILE": str(home / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_MAX_ATTEMPTS": "1",
        "CDK_DISABLE_CLI_TELEMETRY": "true",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "npm_config_offline": "true",
        "npm_config_update_notifier": "false",
        # A server started by `make local` must not take a port another test uses.
        "HOST": "127.0.0.1",
        "PORT": str(_closed_port()),
    }
    return env | shared_cache_env()


@dataclass(frozen=True)
class Outcome:
    command: str
    shell: str
    returncode: int | None  # None: still running at the time limit (then stopped)
    output: str

    def verdict(self) -> str:
        """'' when the command worked as far as it can without an account, else why not."""
        broken = BROKEN.search(self.output)
        if broken:
            return f"it broke ({broken.group(0)!r})"
        server = SERVERS.match(self.command) is not None
        if self.returncode is None:
            return "" if server else f"it was still running after {COMMAND_SECONDS:.0f} s"
        if self.returncode == 0:
            return "" if not server else "a server that exited at once, with status 0"
        if ABSENT.search(self.output):
            return ""
        if server and SERVER_SETTING.search(self.output):
            return ""
        return f"it exited with status {self.returncode} and no word of the missing account"


#: Targets that start with `make synth`: given the documented `make synth`'s cdk.out instead
#: (two cores; each synth costs seconds), the rest of their recipe runs for real.
AFTER_SYNTH = re.compile(r"^make (deploy|doctor)\b")


def _make(shell: str, *, synthesized: bool) -> str:
    """`make T` as run here: install stamps kept, and `make deploy` past its doctor."""
    if not shell.startswith("make "):
        return shell
    extra = MAKE_SKIP_INSTALL
    if synthesized:
        extra += " -o synth"
    if re.match(r"make deploy\b", shell):
        # The doctor stops on the missing credentials (run as `make doctor` itself): past it,
        # the CDK CLI deploys for real up to where it needs the account.
        extra += " -o doctor"
    return re.sub(r"^make\b", f"make {extra}", shell, count=1)


@contextlib.contextmanager
def fixed_ports() -> Iterator[None]:
    """Hold the fixed ports: against the other threads here, and other runs on this machine."""
    with _FIXED_PORT_LOCK, _FIXED_PORT_FILE.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file is closed
        yield


def run_documented(command: str, workdir: Path, assembly: Future[Path] | None = None) -> Outcome:
    closed = _closed_port()
    root = scratch_copy(workdir / "repo")
    synthesized = assembly is not None and AFTER_SYNTH.match(command) is not None
    if synthesized:
        shutil.copytree(assembly.result(), root / "cdk.out", symlinks=True)
    home = workdir / "home"
    home.mkdir()
    shell = concrete(command, closed)
    activated = bool(re.match(r"python3? -m\b", shell))
    env = no_account_env(home, closed, venv_on_path=activated)
    limit = SERVER_SECONDS if SERVERS.match(command) else COMMAND_SECONDS
    with fixed_ports() if FIXED_PORT.search(command) else contextlib.nullcontext():
        return _run(command, shell, root, env, limit, synthesized=synthesized)


def _run(
    command: str, shell: str, root: Path, env: dict[str, str], limit: float, *, synthesized: bool
) -> Outcome:
    with subprocess.Popen(
        ["bash", "-c", _make(shell, synthesized=synthesized)],
        cwd=root,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    ) as process:
        try:
            output, _ = process.communicate(timeout=limit)
            code: int | None = process.returncode
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                output, _ = process.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                output, _ = process.communicate()
            code = None
    return Outcome(command, shell, code, output)


def _assembly_of(outcome: Future[Outcome], workdir: Path) -> Future[Path]:
    """The cdk.out `make synth` wrote in ``workdir``, once it has."""
    assembly: Future[Path] = Future()

    def done(finished: Future[Outcome]) -> None:
        if finished.exception() is not None:
            assembly.set_exception(finished.exception())  # type: ignore[arg-type]
        else:
            assembly.set_result(workdir / "repo" / "cdk.out")

    outcome.add_done_callback(done)
    return assembly


# --- the tests ----------------------------------------------------------------------------

COMMANDS = documented_commands()
#: Commands that work (CDK ones spend seconds in synth) share two threads, one per core; servers
#: idle after starting, so they take turns on a lane of their own meanwhile.
WORKERS = 2
#: The app synthesizes in these: started first, so the quick ones fill the gaps at the end.
SYNTHESIZES = re.compile(r"\bcdk\b|^make (synth|bootstrap|diff|destroy)\b")
#: Each test waits for its command, queued behind the others on a machine with two cores.
pytestmark = pytest.mark.timeout(1200)


def same_shell(command: str) -> str:
    """What a shell is given for ``command``: two spellings that agree run once."""
    return concrete(command, 0)


def _start_order(doc: DocCommand) -> tuple[bool, bool, bool]:
    """`make synth` first (its cdk.out serves `make deploy` / `make doctor`), those last; the
    commands that synthesize before the rest."""
    command = doc.command
    return (
        command != "make synth",
        bool(AFTER_SYNTH.match(command)),
        not SYNTHESIZES.search(command),
    )


@pytest.fixture(scope="module")
def outcomes(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Future[Outcome]]]:
    """Every selected command started at once; `make synth` too when a selected `make deploy` /
    `make doctor` needs its cdk.out. Keyed by documented command."""
    selected = {
        item.callspec.params["doc"].command
        for item in request.session.items
        if hasattr(item, "callspec") and "doc" in item.callspec.params
    }
    if any(AFTER_SYNTH.match(command) for command in selected):
        selected.add("make synth")
    base = tmp_path_factory.mktemp("doc-commands")
    workers = ThreadPoolExecutor(max_workers=WORKERS)
    servers = ThreadPoolExecutor(max_workers=1)
    futures: dict[str, Future[Outcome]] = {}
    runs: dict[str, Future[Outcome]] = {}
    synth: Future[Path] | None = None
    for number, doc in sorted(enumerate(COMMANDS), key=lambda c: _start_order(c[1])):
        if doc.command in NOT_RUN or doc.command not in selected:
            continue
        shell = same_shell(doc.command)
        if shell not in runs:
            workdir = base / f"c{number}"
            workdir.mkdir()
            pool = servers if SERVERS.match(doc.command) else workers
            runs[shell] = pool.submit(run_documented, doc.command, workdir, synth)
            if doc.command == "make synth":
                synth = _assembly_of(runs[shell], workdir)
        futures[doc.command] = runs[shell]
    yield futures
    for pool in (workers, servers):
        pool.shutdown(wait=True, cancel_futures=True)


@pytest.mark.parametrize("doc", COMMANDS, ids=[c.id for c in COMMANDS])
def test_documented_command_runs(doc: DocCommand, outcomes: dict[str, Future[Outcome]]) -> None:
    if doc.command in NOT_RUN:
        pytest.skip(NOT_RUN[doc.command])
    outcome = outcomes[doc.command].result()
    problem = outcome.verdict()
    tail = "\n".join(outcome.output.splitlines()[-25:])
    assert not problem, (
        f"`{doc.command}` (documented at {', '.join(doc.places)}; run as `{outcome.shell}`):"
        f" {problem}. Its last lines:\n{tail}"
    )


def test_the_docs_show_commands_of_every_kind() -> None:
    """The extraction itself: code blocks, inline code, tables, wrapped spans, placeholders."""
    shown = {c.command for c in COMMANDS}
    for expected in (
        "make deploy",
        "make doctor",
        "make synth",
        "npx cdk bootstrap aws://A/R",
        "./node_modules/.bin/cdk deploy --all -c larkDomain=lark",
        "make verify URL=http://127.0.0.1:8000/mcp",
    ):
        assert expected in shown, expected
    assert any(c.startswith("./node_modules/.bin/cdk deploy --all -c extraServers=") for c in shown)
    assert all(not c.endswith("\\") for c in shown)
    for command in NOT_RUN:
        assert command in shown, f"{command} is no longer documented: drop it from NOT_RUN"


def test_placeholders_become_values() -> None:
    assert (
        concrete("npx cdk bootstrap aws://A/R", 9) == f"npx cdk bootstrap aws://{ACCOUNT}/{REGION}"
    )
    assert concrete("make quicksuite [TEAM=name]", 9) == "make quicksuite TEAM=name"
    assert concrete("make verify URL=... VERIFY_ARGS=...", 9) == (
        'make verify URL=http://127.0.0.1:9 VERIFY_ARGS="--json"'
    )
    assert _normalize("make bench  (= .venv/bin/python -m bench.run)") == [
        "make bench",
        ".venv/bin/python -m bench.run",
    ]
    assert _normalize("make local   # another terminal") == ["make local"]
    # Spellings a shell is given alike run once (each keeps its test); others do not merge.
    assert same_shell("make local [USER_AUTH=1]") == same_shell("make local USER_AUTH=1")
    assert same_shell("make quicksuite [TEAM=<name>]") == same_shell("make quicksuite TEAM=support")
    assert same_shell("npx cdk bootstrap aws://A/R") != same_shell(
        "./node_modules/.bin/cdk bootstrap aws://ACCOUNT/REGION"
    )


def test_the_fresh_shell_has_no_venv_and_no_account(tmp_path: Path) -> None:
    env = no_account_env(tmp_path, 9, venv_on_path=False)
    venv_bin = (REPO / ".venv" / "bin").resolve()
    assert all(Path(p).resolve() != venv_bin for p in env["PATH"].split(os.pathsep) if p)
    assert not {k for k in env if k.startswith("AWS_ACCESS") or k == "AWS_PROFILE"}
    # Only jsii's unpacked packages are the runner's (not under the fresh HOME).
    assert env["JSII_RUNTIME_PACKAGE_CACHE_ROOT"] == package_cache_root()
    assert not Path(package_cache_root()).is_relative_to(tmp_path)


def test_without_a_venv_the_cdk_app_says_to_run_make_setup(tmp_path: Path) -> None:
    """cdk.json's app in a clone where `make setup` has not run: one line, no traceback."""
    bare = tmp_path / "bare-python"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    root = tmp_path / "clone"
    root.mkdir()
    for name in ("app.py", "scripts/cdk_app.py"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, root / name)
    env = no_account_env(tmp_path, 9, venv_on_path=False)
    env["PATH"] = f"{bare / 'bin'}{os.pathsep}{env['PATH']}"  # a python3 without aws_cdk
    app = json.loads((REPO / "cdk.json").read_text())["app"]
    result = subprocess.run(
        ["bash", "-c", app], cwd=root, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"cdk app: no .venv in {root}: run `make setup` (trying {bare / 'bin' / 'python3'})",
        f"cdk app: No module named 'aws_cdk' in {bare / 'bin' / 'python3'}: run `make setup`,"
        " then this command again",
    ]


def test_cdk_json_runs_the_app_through_the_launcher() -> None:
    assert json.loads((REPO / "cdk.json").read_text())["app"] == "python3 scripts/cdk_app.py"
