"""`python -m mcp_constructs.stale_refs`: stacks still using values of a recreated stack.

Each stack records, in its ``ReferencedValues`` output, the other stacks' outputs it resolved at
its last update (mcp_constructs/references.py). This compares them with those outputs now. A
stack whose record differs is stale: it still holds, say, the old runtime's ARN after
`make destroy` of the Runtime stack and a new deploy. `make deploy` runs this with ``--fix``,
which deploys each stale stack again with its ``ReferencesRevision`` parameter set to a digest of
the current values: a change CloudFormation must apply, re-resolving every reference (the
deploy checks rerun where a resolved value moved). `make verify` runs it without ``--fix``.

Exit code 0 when nothing is stale (or nothing is deployed yet), 1 otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from mcp_constructs.references import REVISION, SEPARATOR, VALUES_OUTPUT

AWS_CONFIG = Config(connect_timeout=5, read_timeout=20, retries={"max_attempts": 3})
DEFAULT_CDK = "./node_modules/.bin/cdk"


@dataclass(frozen=True)
class Reference:
    """One output of another stack that a stack reads."""

    producer: str
    output: str


@dataclass(frozen=True)
class Stale:
    """A stack whose resolved references differ from its producers' outputs now."""

    stack: str
    changes: tuple[tuple[Reference, str | None, str | None], ...]  # (reference, used, now)
    digest: str

    def lines(self) -> list[str]:
        out = []
        for ref, used, now in self.changes:
            if now is None:
                out.append(
                    f"STALE {self.stack}: it reads output {ref.output} of {ref.producer}, which"
                    " no longer exists"
                )
            else:
                out.append(
                    f"STALE {self.stack}: {ref.producer}'s output {ref.output} is now {now!r},"
                    f" but the stack still uses {used!r}"
                )
        return out


def references(template: dict[str, Any]) -> list[Reference] | None:
    """The references a template records (None: it records none, e.g. deployed before)."""
    output = (template.get("Outputs") or {}).get(VALUES_OUTPUT)
    if output is None:
        return None
    value = output.get("Value")
    if not isinstance(value, dict) or "Fn::Join" not in value:
        return []
    _, parts = value["Fn::Join"]
    found = []
    for part in parts:
        get = part.get("Fn::GetStackOutput") if isinstance(part, dict) else None
        if not get or not isinstance(get.get("StackName"), str):
            raise ValueError(f"{VALUES_OUTPUT} holds something other than Fn::GetStackOutput")
        found.append(Reference(get["StackName"], get["OutputName"]))
    return found


class Deployed:
    """What CloudFormation says now, each stack asked once."""

    def __init__(self, cfn: Any) -> None:
        self._cfn = cfn
        self._outputs: dict[str, dict[str, str] | None] = {}

    def outputs(self, stack: str) -> dict[str, str] | None:
        """The stack's outputs, or None when it does not exist."""
        if stack not in self._outputs:
            try:
                found = self._cfn.describe_stacks(StackName=stack)["Stacks"][0]
            except ClientError as exc:
                if "does not exist" not in str(exc):
                    raise
                self._outputs[stack] = None
            else:
                self._outputs[stack] = {
                    o["OutputKey"]: o.get("OutputValue", "") for o in found.get("Outputs", [])
                }
        return self._outputs[stack]

    def fresh(self) -> Deployed:
        """Asks CloudFormation again (after an update)."""
        return Deployed(self._cfn)

    def template(self, stack: str) -> dict[str, Any]:
        body = self._cfn.get_template(StackName=stack, TemplateStage="Original")["TemplateBody"]
        return body if isinstance(body, dict) else json.loads(body)

    def stacks_with_prefix(self, prefix: str) -> list[str]:
        names = []
        for page in self._cfn.get_paginator("describe_stacks").paginate():
            for stack in page["Stacks"]:
                if stack["StackName"].startswith(f"{prefix}-"):
                    names.append(stack["StackName"])
        return sorted(names)


def find_stale(deployed: Deployed, stacks: Sequence[str]) -> list[Stale]:
    """Every deployed stack among ``stacks`` whose recorded references differ from now."""
    stale = []
    for stack in stacks:
        outputs = deployed.outputs(stack)
        if outputs is None or VALUES_OUTPUT not in outputs:
            continue  # not deployed yet, or deployed before it recorded (its next deploy will)
        refs = references(deployed.template(stack))
        if not refs:
            continue
        used: list[str | None] = outputs[VALUES_OUTPUT].split(SEPARATOR)
        used += [None] * (len(refs) - len(used))
        now = [(deployed.outputs(r.producer) or {}).get(r.output) for r in refs]
        changes = tuple(
            (ref, was, current)
            for ref, was, current in zip(refs, used, now, strict=False)
            if was != current
        )
        if changes:
            digest = hashlib.sha256(SEPARATOR.join(map(str, now)).encode()).hexdigest()[:12]
            stale.append(Stale(stack, changes, digest))
    return stale


def fix_command(stale: Sequence[Stale], assembly: str, cdk: str = DEFAULT_CDK) -> list[str]:
    """Deploy the stale stacks again with a new ``ReferencesRevision`` (dependency order is
    the CLI's)."""
    argv = [cdk, "deploy", *(s.stack for s in stale), "--app", assembly]
    argv += ["--require-approval", "never", "--no-notices"]
    for s in stale:
        argv += ["--parameters", f"{s.stack}:{REVISION}={s.digest}"]
    return argv


def stack_names(assembly: Path) -> list[str]:
    manifest = json.loads((assembly / "manifest.json").read_text(encoding="utf-8"))
    return sorted(
        artifact.get("displayName") or name
        for name, artifact in (manifest.get("artifacts") or {}).items()
        if artifact.get("type") == "aws:cloudformation:stack"
    )


def run(
    deployed: Deployed,
    stacks: Sequence[str],
    *,
    assembly: str,
    fix: bool,
    cdk: str,
    execute: Callable[[list[str]], int],
) -> int:
    stale = find_stale(deployed, stacks)
    if not stale:
        print(f"references: every stack uses its producers' current outputs ({len(stacks)} read)")
        return 0
    for s in stale:
        print("\n".join(s.lines()))
    command = fix_command(stale, assembly, cdk)
    if not fix:
        print(
            f"references: {len(stale)} stale stack{'s' if len(stale) > 1 else ''}. Fix: `make"
            f" deploy` (it updates them), or `{' '.join(command)}` after `make synth`"
        )
        return 1
    print(f"references: updating {', '.join(s.stack for s in stale)}: {' '.join(command)}")
    if execute(command) != 0:
        print("references: the update failed (see above); `make deploy` again")
        return 1
    left = find_stale(deployed.fresh(), stacks)
    for s in left:
        print("\n".join(s.lines()))
    return 1 if left else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mcp_constructs.stale_refs",
        description="Find (and with --fix update) stacks still using a recreated stack's values.",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--assembly", help="the stacks of this cloud assembly (e.g. cdk.out)")
    where.add_argument(
        "--stack-prefix", help="stacks named <prefix>-* (default: cdk.json's stackPrefix)"
    )
    parser.add_argument("--region", help="default: AWS_REGION / the profile's")
    parser.add_argument("--fix", action="store_true", help="deploy stale stacks again")
    parser.add_argument("--cdk", default=DEFAULT_CDK, help="the CDK CLI (for --fix)")
    args = parser.parse_args(argv)
    if args.fix and not args.assembly:
        parser.error("--fix needs --assembly (the synthesized app it deploys)")
    import boto3

    try:
        cfn = boto3.Session(region_name=args.region).client("cloudformation", config=AWS_CONFIG)
        deployed = Deployed(cfn)
        if args.assembly:
            if not (Path(args.assembly) / "manifest.json").is_file():
                print(f"references: no synthesized app in {args.assembly}: `make synth` first")
                return 1
            stacks = stack_names(Path(args.assembly))
        else:
            from mcp_constructs.verify import configured_stack_prefix

            stacks = deployed.stacks_with_prefix(args.stack_prefix or configured_stack_prefix())
        return run(
            deployed,
            stacks,
            assembly=args.assembly or "cdk.out",
            fix=args.fix,
            cdk=args.cdk,
            execute=lambda command: subprocess.run(command, check=False).returncode,
        )
    except NoCredentialsError:
        print("references: no AWS credentials found: `aws configure`, or `aws sso login`")
    except NoRegionError:
        print("references: no AWS region: pass REGION=... (--region), or set AWS_REGION")
    except (ClientError, BotoCoreError) as exc:
        print(f"references: cannot read the stacks from CloudFormation ({exc})")
    except (OSError, ValueError) as exc:
        print(f"references: {exc}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
