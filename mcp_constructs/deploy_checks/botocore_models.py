"""The botocore service models shipped inside the deploy checks' Lambda asset.

The Lambda Python runtime brings its own boto3, which lags the services: a runtime whose
botocore predates ``SynchronizeGatewayTargets`` has no ``synchronize_gateway_targets`` method
and the deploy fails. So the asset carries the models of every service the handlers call,
copied at synth time from the botocore pinned in ``requirements.txt``, and the functions set
``AWS_DATA_PATH`` to them: botocore searches ``AWS_DATA_PATH`` before its own ``data/``, so the
handlers load exactly the models the tests validate against, whatever boto3 the runtime ships.

The files are written uncompressed (older botocore reads only ``.json``) and byte-for-byte as
botocore ships them, so the asset hash is the same in every synth and moves only when a model
(or the handler code) moves. No Docker, no pip at synth.
"""

from __future__ import annotations

import atexit
import functools
import gzip
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from botocore.loaders import Loader

RUNTIME_DIR = Path(__file__).resolve().parent / "runtime"
#: Where the models sit inside the asset, and where the Lambda finds the asset.
DATA_DIR_NAME = "botocore_data"
LAMBDA_TASK_ROOT = "/var/task"
LAMBDA_DATA_PATH = f"{LAMBDA_TASK_ROOT}/{DATA_DIR_NAME}"
#: Every service the handlers in ``runtime/`` call (tests/deploy_checks/test_aws_calls.py
#: fails when a handler calls a service missing here).
SHIPPED_SERVICES = ("bedrock-agentcore-control", "cloudformation", "cognito-idp")
#: What a client needs: the API and how to find its endpoint. Paginators and waiters are not
#: used by the handlers.
MODEL_TYPES = ("service-2", "endpoint-rule-set-1")


def builtin_loader() -> Loader:
    """A loader over the installed botocore's own ``data/`` only (no AWS_DATA_PATH, no ~/.aws)."""
    return Loader(extra_search_paths=[Loader.BUILTIN_DATA_PATH], include_default_search_paths=False)


def write_models(
    dest: Path, services: Iterable[str] = SHIPPED_SERVICES, source: Path | None = None
) -> list[Path]:
    """Copy ``<service>/<api-version>/<type>.json`` for ``services`` from ``source`` into ``dest``.

    ``source`` defaults to the installed botocore's ``data/`` directory. Returns the files written.
    """
    source = source or Path(Loader.BUILTIN_DATA_PATH)
    loader = Loader(extra_search_paths=[str(source)], include_default_search_paths=False)
    written = []
    for service in services:
        version = loader.determine_latest_version(service, "service-2")
        for type_name in MODEL_TYPES:
            stem = source / service / version / type_name
            target = dest / service / version / f"{type_name}.json"
            target.parent.mkdir(parents=True, exist_ok=True)
            if stem.with_name(f"{type_name}.json").is_file():
                target.write_bytes(stem.with_name(f"{type_name}.json").read_bytes())
            else:
                target.write_bytes(
                    gzip.decompress(stem.with_name(f"{type_name}.json.gz").read_bytes())
                )
            written.append(target)
    return written


def stage_asset(
    dest: Path,
    code_dir: Path = RUNTIME_DIR,
    services: Iterable[str] = SHIPPED_SERVICES,
    source: Path | None = None,
    extra_modules: Iterable[Path] = (),
) -> Path:
    """A Lambda asset in ``dest``: the ``*.py`` of ``code_dir`` and ``extra_modules`` (modules
    shared with another asset, e.g. ``runtime/rollback.py``) plus ``botocore_data/``."""
    dest.mkdir(parents=True, exist_ok=True)
    for module in [*sorted(code_dir.glob("*.py")), *extra_modules]:
        shutil.copyfile(module, dest / module.name)
    write_models(dest / DATA_DIR_NAME, services=services, source=source)
    return dest


@functools.cache
def staged_asset(
    code_dir: Path = RUNTIME_DIR,
    services: tuple[str, ...] = SHIPPED_SERVICES,
    extra_modules: tuple[Path, ...] = (),
) -> Path:
    """This process's staged asset of ``code_dir`` (removed at exit).

    CDK copies it into ``cdk.out`` when the app synthesizes, hashing content only, so the
    temporary path never reaches a template. Any other Lambda of ours that calls AWS can ship
    its models the same way: ``Code.from_asset(str(staged_asset(dir, services)))`` and the
    environment ``AWS_DATA_PATH=LAMBDA_DATA_PATH``.
    """
    root = Path(tempfile.mkdtemp(prefix="lambda-asset-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return stage_asset(root / "asset", code_dir, services, extra_modules=extra_modules)
