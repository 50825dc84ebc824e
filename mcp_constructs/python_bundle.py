"""Lambda code with third-party wheels, bundled for linux/arm64 without Docker and offline.

``make setup`` downloads the pinned wheels of a Lambda's ``requirements.txt`` for the Lambda's
platform (manylinux, aarch64, its Python version) into a local *wheelhouse* (the only step that
needs PyPI). ``cdk synth`` then bundles locally (jsii ``ILocalBundling``, never Docker): pip
installs from that wheelhouse alone (``--no-index``) into the asset directory, and the Lambda's
own packages are copied beside them.

The asset hash is computed here, not by CDK: a SHA-256 over the Lambda's own files (path and
bytes), the wheel file names the requirements resolved to, and this bundling recipe. Two synths
give the same hash in any checkout directory, and it moves only when what goes into the Lambda
moves (editing a stack, a test or the README does not redeploy it).

    python -m mcp_constructs.python_bundle download <requirements.txt> <wheelhouse dir>
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

from mcp_constructs.deploy_checks.constructs import PYTHON_RUNTIME

REPO = Path(__file__).resolve().parent.parent
#: The wheels are downloaded for exactly the Python of every Lambda of this app (PYTHON_RUNTIME).
PYTHON_VERSION = PYTHON_RUNTIME.name.removeprefix("python")
#: Lambda Python 3.12+ runs on Amazon Linux 2023 (glibc 2.34): every manylinux tag up to 2_34.
PLATFORMS = ("manylinux2014_aarch64", "manylinux_2_28_aarch64", "manylinux_2_34_aarch64")
#: Where `make setup` puts the wheels (git-ignored), one directory per Lambda.
WHEELHOUSE_ROOT = REPO / "build" / "wheelhouse"
#: Bump when the recipe below changes what ends up in the asset.
RECIPE_VERSION = "1"
_SKIP = {"__pycache__", ".pytest_cache", "tests"}


class WheelhouseMissing(RuntimeError):
    """The wheels a Lambda needs are not downloaded; the message names the make target."""


def _pip_platform_args() -> list[str]:
    args = []
    for platform in PLATFORMS:
        args += ["--platform", platform]
    args += ["--python-version", PYTHON_VERSION, "--implementation", "cp"]
    return [*args, "--only-binary=:all:"]


def download(requirements: Path, wheelhouse: Path) -> None:
    """Fetch the wheels of ``requirements`` for the Lambda's platform (needs PyPI)."""
    fresh = wheelhouse.with_name(wheelhouse.name + ".partial")
    shutil.rmtree(fresh, ignore_errors=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--disable-pip-version-check",
            "--dest",
            str(fresh),
            *_pip_platform_args(),
            "-r",
            str(requirements),
        ],
        check=True,
    )
    (fresh / "requirements.txt").write_bytes(requirements.read_bytes())
    shutil.rmtree(wheelhouse, ignore_errors=True)
    fresh.rename(wheelhouse)


def _own_files(packages: Sequence[Path]) -> list[Path]:
    files = []
    for package in packages:
        for path in sorted(package.rglob("*")):
            rel = path.relative_to(package.parent)
            if path.is_file() and not _SKIP.intersection(rel.parts) and path.suffix != ".pyc":
                files.append(path)
    return files


def _display(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


@dataclass(frozen=True)
class PythonBundle:
    """What goes into one Lambda: its own packages and the wheels of its requirements.

    Attributes:
        packages: top-level package directories copied into the asset (e.g. ``lark_auth_server``).
        requirements: the pinned requirements file the wheelhouse was downloaded from.
        wheelhouse: directory of wheels ``make setup`` downloaded for ``requirements``.
        make_target: what to run when the wheelhouse is missing or stale.
    """

    packages: tuple[Path, ...]
    requirements: Path
    wheelhouse: Path
    make_target: str = "make setup"

    def check(self) -> list[str]:
        """The wheel file names, after checking the wheelhouse matches the requirements."""
        stamp = self.wheelhouse / "requirements.txt"
        rel = _display(self.requirements)
        if not stamp.is_file():
            raise WheelhouseMissing(
                f"the Lambda wheels for {rel} are not downloaded ({_display(self.wheelhouse)} is "
                "missing): "
                f"run `{self.make_target}` (needs PyPI once; synth stays offline afterwards)"
            )
        if stamp.read_bytes() != self.requirements.read_bytes():
            raise WheelhouseMissing(
                f"{rel} changed since its Lambda wheels were downloaded: run `{self.make_target}`"
            )
        return sorted(p.name for p in self.wheelhouse.glob("*.whl"))

    def asset_hash(self) -> str:
        """SHA-256 of the Lambda's own files, the resolved wheel names and this recipe."""
        digest = hashlib.sha256()
        for part in (RECIPE_VERSION, PYTHON_VERSION, *PLATFORMS, *self.check()):
            digest.update(part.encode() + b"\0")
        for path in _own_files(self.packages):
            name = self._relative(path)
            digest.update(name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
        return digest.hexdigest()

    def _relative(self, path: Path) -> str:
        for package in self.packages:
            if path.is_relative_to(package):
                return path.relative_to(package.parent).as_posix()
        raise ValueError(path)

    def code(self) -> lambda_.Code:
        """``lambda.Code`` bundled locally from the wheelhouse (raises WheelhouseMissing)."""
        asset_hash = self.asset_hash()
        return lambda_.Code.from_asset(
            str(self.packages[0]),
            asset_hash_type=AssetHashType.CUSTOM,
            asset_hash=asset_hash,
            bundling=BundlingOptions(
                # Never run: local bundling always succeeds or raises. CDK requires an image.
                image=DockerImage.from_registry("docker-bundling-is-not-used"),
                local=_WheelhouseBundling(self),
            ),
        )

    def bundle_into(self, output_dir: Path) -> None:
        """pip install the wheels (offline) into ``output_dir`` and copy the own packages."""
        self.check()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-index",
                "--no-compile",
                "--find-links",
                str(self.wheelhouse),
                "--target",
                str(output_dir),
                *_pip_platform_args(),
                "-r",
                str(self.requirements),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        # Console scripts carry this machine's interpreter path and are never used by Lambda.
        shutil.rmtree(output_dir / "bin", ignore_errors=True)
        for path in _own_files(self.packages):
            dest = output_dir / self._relative(path)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest)


@jsii.implements(ILocalBundling)
class _WheelhouseBundling:
    def __init__(self, bundle: PythonBundle) -> None:
        self._bundle = bundle

    def try_bundle(self, output_dir: str, *_options: object, **_kw: object) -> bool:
        self._bundle.bundle_into(Path(output_dir))
        return True


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mcp_constructs.python_bundle")
    sub = parser.add_subparsers(dest="command", required=True)
    get = sub.add_parser("download", help="fetch the Lambda wheels of a requirements file")
    get.add_argument("requirements", type=Path)
    get.add_argument("wheelhouse", type=Path)
    args = parser.parse_args(argv)
    download(args.requirements, args.wheelhouse)
    return 0


if __name__ == "__main__":
    sys.exit(main())
