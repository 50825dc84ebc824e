"""`make doctor` (``python -m mcp_constructs.doctor``): can this machine deploy the app now?

`make deploy` runs it first, so a missing prerequisite stops the deploy with one readable line
and the command that fixes it, before the first stack changes, instead of half-way through a
CloudFormation deployment. It checks

- **credentials**: STS ``GetCallerIdentity`` answers (and the account is cdk.json's, if set);
- **bootstrap**: the CDK bootstrap stack (``CDKToolkit``, or cdk.json's ``toolkitStackName``,
  with the app's bootstrap qualifier) exists in that account and region, is healthy, and is at
  least the version this CDK's templates require;
- **docker**: a Docker daemon answers and can build ``linux/arm64`` (the runtime image):
  natively on an arm64 host, through buildx + QEMU emulation on an x86_64 one;
- **partition**: the region's partition (``aws``, ``aws-cn``, ``aws-us-gov``) and its URLs;
- **agentcore**: Amazon Bedrock AgentCore answers in the region (``ListGateways``);
- **concurrency**: the account's Lambda concurrency (``GetAccountSettings``) leaves room for
  every reservation the synthesized templates make (Lambda keeps 100 unreserved); on a
  redeploy, what the deployed functions already reserve (``DescribeStackResource``,
  ``GetFunctionConcurrency``) is not counted twice;
- **resource types**: the region offers every resource type the synthesized templates use
  (CloudFormation registry, ``DescribeType``): AgentCore's types reach regions one by one.

The last two read the cloud assembly (``cdk.out``, which `make doctor` synthesizes first).
Every check runs, whatever the others found. Exit code 0 when all pass, 1 otherwise.
Docker is the one CDK uses: ``CDK_DOCKER`` if set, else ``docker`` on PATH.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    SSOError,
    TokenRetrievalError,
)

#: aws-cdk-lib's DefaultStackSynthesizer writes the bootstrap version each artifact needs into
#: cdk.out/manifest.json (``requiresBootstrapStackVersion``: 6 for stacks and assets, 8 for the
#: lookup role the CLI assumes). tests/deploy_checks/test_doctor.py keeps this equal to the
#: highest one a real synth asks for.
MIN_BOOTSTRAP_VERSION = 8
DEFAULT_TOOLKIT_STACK = "CDKToolkit"
DEFAULT_QUALIFIER = "hnb659fds"
QUALIFIER_CONTEXT = "@aws-cdk/core:bootstrapQualifier"
ARM64 = "linux/arm64"
AGENTCORE_REGIONS_URL = (
    "https://docs.aws.amazon.com/bedrock-agentcore/latest/devguide/agentcore-regions.html"
)
#: A doctor should answer in seconds, not wait out botocore's default retries.
AWS_CONFIG = Config(connect_timeout=5, read_timeout=15, retries={"max_attempts": 2})
DOCKER_TIMEOUT_SECONDS = 30
#: Lambda refuses a reservation that leaves fewer unreserved executions than this.
UNRESERVED_MINIMUM = 100
#: Service Quotas code of "Concurrent executions" (Lambda).
LAMBDA_CONCURRENCY_QUOTA = "L-B99A9384"
#: Types CloudFormation handles itself, never in the registry.
_NOT_REGISTRY = ("AWS::CDK::Metadata", "AWS::CloudFormation::", "Custom::")
#: Each partition's console (the endpoints follow from its DNS suffix).
CONSOLES = {
    "aws": "https://console.aws.amazon.com",
    "aws-cn": "https://console.amazonaws.cn",
    "aws-us-gov": "https://console.amazonaws-us-gov.com",
}
_HEALTHY = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE"}


@dataclass(frozen=True)
class Finding:
    """The outcome of one check: ``ok``, a problem (with its fix), or skipped."""

    check: str
    status: str  # "ok" | "problem" | "skipped"
    message: str
    fix: str = ""

    @property
    def problem(self) -> bool:
        return self.status == "problem"

    def line(self) -> str:
        if self.problem:
            return f"PROBLEM {self.check}: {self.message}. Fix: {self.fix}"
        return f"{self.status:<7} {self.check}: {self.message}"


def ok(check: str, message: str) -> Finding:
    return Finding(check, "ok", message)


def problem(check: str, message: str, fix: str) -> Finding:
    return Finding(check, "problem", message, fix)


def skipped(check: str, why: str) -> Finding:
    return Finding(check, "skipped", why)


@dataclass(frozen=True)
class CdkSettings:
    """What the deploy will target, from cdk.json (context ``account``/``region`` win)."""

    account: str | None = None
    region: str | None = None
    toolkit_stack: str = DEFAULT_TOOLKIT_STACK
    qualifier: str = DEFAULT_QUALIFIER

    @classmethod
    def read(cls, cdk_json: Path) -> CdkSettings:
        try:
            settings = json.loads(cdk_json.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls()
        context = settings.get("context") or {}
        return cls(
            account=str(context["account"]) if context.get("account") else None,
            region=str(context["region"]) if context.get("region") else None,
            toolkit_stack=settings.get("toolkitStackName") or DEFAULT_TOOLKIT_STACK,
            qualifier=context.get(QUALIFIER_CONTEXT) or DEFAULT_QUALIFIER,
        )

    def bootstrap_command(self, account: str, region: str) -> str:
        extra = ""
        if self.qualifier != DEFAULT_QUALIFIER:
            extra += f" --qualifier {self.qualifier}"
        if self.toolkit_stack != DEFAULT_TOOLKIT_STACK:
            extra += f" --toolkit-stack-name {self.toolkit_stack}"
        return f"`npx cdk bootstrap aws://{account}/{region}{extra}`"


@dataclass(frozen=True)
class AppNeeds:
    """What the synthesized templates ask of the account and region."""

    resource_types: frozenset[str]
    #: function logical id (``stack/id``) -> ReservedConcurrentExecutions
    reservations: tuple[tuple[str, int], ...] = ()

    @property
    def reserved(self) -> int:
        return sum(count for _, count in self.reservations)

    @classmethod
    def read(cls, assembly: Path) -> AppNeeds | None:
        """The stacks of a cloud assembly (``cdk.out``); None when there is none."""
        try:
            manifest = json.loads((assembly / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        types: set[str] = set()
        reservations: list[tuple[str, int]] = []
        for name, artifact in sorted((manifest.get("artifacts") or {}).items()):
            if artifact.get("type") != "aws:cloudformation:stack":
                continue
            template_file = assembly / artifact["properties"]["templateFile"]
            template = json.loads(template_file.read_text(encoding="utf-8"))
            for logical_id, resource in (template.get("Resources") or {}).items():
                kind = str(resource.get("Type", ""))
                if kind and not kind.startswith(_NOT_REGISTRY):
                    types.add(kind)
                reserved = (resource.get("Properties") or {}).get("ReservedConcurrentExecutions")
                if kind == "AWS::Lambda::Function" and isinstance(reserved, int) and reserved:
                    reservations.append((f"{name}/{logical_id}", reserved))
        return cls(frozenset(types), tuple(reservations))


@dataclass(frozen=True)
class Partition:
    """The AWS partition of a region and the URLs that differ between partitions."""

    name: str
    dns_suffix: str

    @classmethod
    def of(cls, region: str) -> Partition:
        import botocore.loaders
        import botocore.regions

        resolver = botocore.regions.EndpointResolver(
            botocore.loaders.create_loader().load_data("endpoints")
        )
        try:
            name = resolver.get_partition_for_region(region)
        except Exception:  # a region newer than this botocore: its commercial default
            name = "aws"
        return cls(name, resolver.get_partition_dns_suffix(name) or "amazonaws.com")

    def endpoint(self, service: str, region: str) -> str:
        return f"https://{service}.{region}.{self.dns_suffix}"

    @property
    def console(self) -> str:
        return CONSOLES.get(self.name, CONSOLES["aws"])


# --- AWS -----------------------------------------------------------------------------------


def check_credentials(
    session: Any, settings: CdkSettings, region: str | None = None
) -> tuple[Finding, str | None]:
    """STS GetCallerIdentity; returns the finding and the account id when it answered."""
    profile = os.environ.get("AWS_PROFILE")
    login = f"`aws sso login --profile {profile}`" if profile else "`aws sso login --profile NAME`"
    try:
        sts = session.client("sts", region_name=region or "us-east-1", config=AWS_CONFIG)
        identity = sts.get_caller_identity()
    except NoCredentialsError:
        return problem(
            "credentials",
            "no AWS credentials found",
            f"`aws configure` (access keys), or {login} then `export AWS_PROFILE=NAME`",
        ), None
    except (SSOError, TokenRetrievalError) as exc:
        return problem("credentials", f"AWS SSO sign-in expired or missing ({exc})", login), None
    except ClientError as exc:
        code, message = _error(exc)
        if "Expired" in code:
            return problem(
                "credentials",
                f"AWS credentials expired ({code})",
                f"{login}, or fresh keys with `aws configure`",
            ), None
        return problem(
            "credentials",
            f"AWS rejected the credentials ({code}: {message})",
            "`aws configure` with valid keys, or pick the right profile: `export AWS_PROFILE=NAME`",
        ), None
    except BotoCoreError as exc:
        return problem(
            "credentials",
            f"cannot ask AWS STS who you are ({exc})",
            "check the network / proxy, then `aws sts get-caller-identity`",
        ), None
    account = identity["Account"]
    if settings.account and settings.account != account:
        return problem(
            "credentials",
            f"cdk.json deploys to account {settings.account}, your credentials are for {account}",
            f"use a profile of account {settings.account} (`export AWS_PROFILE=NAME`), or change"
            " `account` in cdk.json",
        ), None
    return ok("credentials", f"account {account} as {identity['Arn']}"), account


def check_bootstrap(session: Any, settings: CdkSettings, account: str, region: str) -> Finding:
    """The bootstrap stack: present, healthy, our qualifier, recent enough."""
    name = settings.toolkit_stack
    bootstrap = settings.bootstrap_command(account, region)
    where = f"account {account}, region {region}"
    cfn = session.client("cloudformation", region_name=region, config=AWS_CONFIG)
    try:
        stacks = cfn.describe_stacks(StackName=name)["Stacks"]
    except ClientError as exc:
        code, message = _error(exc)
        if "does not exist" in message:
            return problem(
                "bootstrap", f"CDK bootstrap stack {name} not found in {where}", bootstrap
            )
        return problem(
            "bootstrap",
            f"cannot read stack {name} in {where} ({code}: {message})",
            "use credentials allowed `cloudformation:DescribeStacks` (the ones that deploy)",
        )
    except BotoCoreError as exc:
        return problem(
            "bootstrap", f"cannot read stack {name} in {region} ({exc})", "check the network"
        )
    stack = stacks[0]
    status = stack.get("StackStatus", "")
    if status.endswith("_IN_PROGRESS"):
        return problem(
            "bootstrap",
            f"CDK bootstrap stack {name} is {status}",
            "wait until it finishes, then `make doctor` again",
        )
    if status not in _HEALTHY:
        return problem(
            "bootstrap",
            f"CDK bootstrap stack {name} in {where} is {status}",
            f"see its events in the CloudFormation console, `aws cloudformation delete-stack"
            f" --stack-name {name} --region {region}`, then {bootstrap}",
        )
    parameters = {p["ParameterKey"]: p.get("ParameterValue") for p in stack.get("Parameters", [])}
    qualifier = parameters.get("Qualifier")
    if qualifier and qualifier != settings.qualifier:
        return problem(
            "bootstrap",
            f"{name} was bootstrapped with qualifier {qualifier}, the app uses"
            f" {settings.qualifier}",
            f'set "{QUALIFIER_CONTEXT}": "{qualifier}" in cdk.json\'s context, or bootstrap with'
            f" `npx cdk bootstrap aws://{account}/{region} --qualifier {settings.qualifier}"
            f" --toolkit-stack-name {name}-{settings.qualifier}` and set toolkitStackName",
        )
    outputs = {o["OutputKey"]: o.get("OutputValue") for o in stack.get("Outputs", [])}
    try:
        version = int(outputs.get("BootstrapVersion") or 0)
    except ValueError:
        version = 0
    if version < MIN_BOOTSTRAP_VERSION:
        return problem(
            "bootstrap",
            f"CDK bootstrap stack {name} is version {version or 'unknown'}; this CDK needs at"
            f" least {MIN_BOOTSTRAP_VERSION}",
            f"{bootstrap} (upgrades it in place)",
        )
    return ok("bootstrap", f"{name} version {version} in {where}")


def check_agentcore(session: Any, region: str) -> Finding:
    """A cheap AgentCore control-plane call: the service answers in ``region``."""
    control = session.client("bedrock-agentcore-control", region_name=region, config=AWS_CONFIG)
    endpoint = Partition.of(region).endpoint("bedrock-agentcore-control", region)
    try:
        control.list_gateways(maxResults=1)
    except EndpointConnectionError:
        return problem(
            "agentcore",
            f"Amazon Bedrock AgentCore does not answer in {region} (no endpoint"
            f" {endpoint.removeprefix('https://')})",
            f"deploy to a region that has AgentCore, e.g. `export AWS_REGION=us-east-1`"
            f" (list: {AGENTCORE_REGIONS_URL})",
        )
    except ClientError as exc:
        code, message = _error(exc)
        if code == "AccessDeniedException":
            # The service answered; the deploy itself runs as CloudFormation's execution role.
            return ok("agentcore", f"answers in {region} (your credentials may not list gateways)")
        return problem(
            "agentcore",
            f"AgentCore in {region} refused ListGateways ({code}: {message})",
            f"check the account can use AgentCore in {region} (console: Amazon Bedrock"
            " AgentCore), or pick another region with `export AWS_REGION=...`",
        )
    except BotoCoreError as exc:
        return problem(
            "agentcore", f"cannot reach AgentCore in {region} ({exc})", "check the network"
        )
    return ok("agentcore", f"available in {region}")


def check_partition(region: str) -> Finding:
    """Which partition the region is in, and the URLs that differ there (console, endpoints)."""
    partition = Partition.of(region)
    return ok(
        "partition",
        f"{partition.name} (endpoints *.{region}.{partition.dns_suffix}, e.g."
        f" {partition.endpoint('bedrock-agentcore', region)}; console {partition.console})",
    )


def _deployed_reservation(session: Any, region: str, name: str) -> int | None:
    """What the deployed function ``stack/logical id`` reserves now: 0 when it is not deployed
    (or reserves nothing), None when that cannot be read (then the whole reservation counts)."""
    stack, _, logical_id = name.partition("/")
    cloudformation = session.client("cloudformation", region_name=region, config=AWS_CONFIG)
    try:
        detail = cloudformation.describe_stack_resource(
            StackName=stack, LogicalResourceId=logical_id
        )["StackResourceDetail"]
    except ClientError as exc:
        # "Stack with id X does not exist" / "Resource Y does not exist for stack X".
        return 0 if _error(exc)[0] == "ValidationError" else None
    except BotoCoreError:
        return None
    function = detail.get("PhysicalResourceId")
    if not function:
        return 0
    lambda_ = session.client("lambda", region_name=region, config=AWS_CONFIG)
    try:
        current = lambda_.get_function_concurrency(FunctionName=function)
    except ClientError as exc:
        return 0 if _error(exc)[0] == "ResourceNotFoundException" else None
    except BotoCoreError:
        return None
    return int(current.get("ReservedConcurrentExecutions") or 0)


def check_concurrency(session: Any, region: str, needs: AppNeeds) -> Finding:
    """The account's Lambda concurrency leaves room for the app's reservations."""
    client = session.client("lambda", region_name=region, config=AWS_CONFIG)
    try:
        limits = client.get_account_settings()["AccountLimit"]
    except ClientError as exc:
        code, message = _error(exc)
        return problem(
            "concurrency",
            f"cannot read the Lambda account settings in {region} ({code}: {message})",
            "use credentials allowed `lambda:GetAccountSettings` (the ones that deploy)",
        )
    except BotoCoreError as exc:
        return problem(
            "concurrency", f"cannot reach Lambda in {region} ({exc})", "check the network"
        )
    total = int(limits.get("ConcurrentExecutions", 0))
    unreserved = int(limits.get("UnreservedConcurrentExecutions", total))
    have = f"the account's Lambda concurrency in {region} is {total} ({unreserved} unreserved)"
    if not needs.reserved:
        return ok("concurrency", f"{have}; the app reserves none")
    if unreserved - needs.reserved >= UNRESERVED_MINIMUM:
        return ok("concurrency", f"{have}; the app reserves {needs.reserved}, which fits")
    # A redeploy: what the deployed functions already reserve is outside `unreserved` already,
    # so only the growth of each reservation must fit.
    held = {name: _deployed_reservation(session, region, name) for name, _ in needs.reservations}
    growth = sum(max(count - (held[name] or 0), 0) for name, count in needs.reservations)
    in_place = needs.reserved - growth
    if in_place and unreserved - growth >= UNRESERVED_MINIMUM:
        return ok(
            "concurrency",
            f"{have}; the app reserves {needs.reserved}, {in_place} of it already in place"
            " (deployed), which fits",
        )
    which = ", ".join(
        f"{name} {count}" + (f" ({held[name]} in place)" if held[name] else "")
        for name, count in needs.reservations
    )
    return problem(
        "concurrency",
        f"{have}; the app reserves {needs.reserved} ({which}) and Lambda keeps"
        f" {UNRESERVED_MINIMUM} unreserved, so the deploy would fail",
        f'set "userAuthConcurrency": 0 in cdk.json\'s context (reserves none), or raise the'
        f" quota: `aws service-quotas request-service-quota-increase --service-code lambda"
        f" --quota-code {LAMBDA_CONCURRENCY_QUOTA} --desired-value 1000 --region {region}`",
    )


def check_resource_types(session: Any, region: str, needs: AppNeeds) -> Finding:
    """The CloudFormation registry of the region has every resource type the app uses."""
    cfn = session.client("cloudformation", region_name=region, config=AWS_CONFIG)
    missing = []
    for kind in sorted(needs.resource_types):
        try:
            cfn.describe_type(Type="RESOURCE", TypeName=kind)
        except ClientError as exc:
            code, message = _error(exc)
            if code in ("TypeNotFoundException", "TypeNotFound"):
                missing.append(kind)
                continue
            return problem(
                "resource-types",
                f"cannot read the CloudFormation registry in {region} ({code}: {message})",
                "use credentials allowed `cloudformation:DescribeType` (the ones that deploy)",
            )
        except BotoCoreError as exc:
            return problem(
                "resource-types",
                f"cannot reach CloudFormation in {region} ({exc})",
                "check the network",
            )
    if missing:
        return problem(
            "resource-types",
            f"CloudFormation in {region} does not offer {len(missing)} resource"
            f" type{'s' if len(missing) > 1 else ''} the app uses: {', '.join(missing)}",
            f"deploy to a region that offers them (`make doctor REGION=us-east-1` checks one;"
            f" list: {AGENTCORE_REGIONS_URL}), or turn off the feature that adds them"
            " (docs/configuration.md)",
        )
    return ok("resource-types", f"all {len(needs.resource_types)} offered in {region}")


def _error(exc: ClientError) -> tuple[str, str]:
    error = exc.response.get("Error", {})
    return str(error.get("Code", "Error")), str(error.get("Message", exc))


# --- Docker --------------------------------------------------------------------------------


def _run(argv: list[str]) -> subprocess.CompletedProcess[str] | None:
    try:
        return subprocess.run(
            argv, capture_output=True, text=True, timeout=DOCKER_TIMEOUT_SECONDS, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None


def _first_line(result: subprocess.CompletedProcess[str] | None) -> str:
    if result is None:
        return f"no answer within {DOCKER_TIMEOUT_SECONDS} s"
    text = (result.stderr or result.stdout or "").strip()
    return text.splitlines()[0] if text else f"exit code {result.returncode}"


def check_docker(docker: str | None = None) -> Finding:
    """A daemon that builds ``linux/arm64``: native on arm64, else buildx with emulation."""
    name = docker or os.environ.get("CDK_DOCKER") or "docker"
    path = shutil.which(name)
    if path is None:
        return problem(
            "docker",
            f"`{name}` not found on PATH (the runtime image is built locally)",
            "install Docker (https://docs.docker.com/get-docker/), or set CDK_DOCKER to a"
            " docker-compatible CLI",
        )
    info = _run([path, "info", "--format", "{{.OSType}}/{{.Architecture}}"])
    if info is None or info.returncode != 0:
        return problem(
            "docker",
            f"the Docker daemon does not answer ({_first_line(info)})",
            "start Docker Desktop, or `sudo systemctl start docker` (Linux)",
        )
    arch = info.stdout.strip().rsplit("/", 1)[-1]
    if arch in ("aarch64", "arm64"):
        return ok("docker", f"daemon on {arch}: builds {ARM64} natively")
    buildx = _run([path, "buildx", "inspect"])
    if buildx is None or buildx.returncode != 0:
        return problem(
            "docker",
            f"`{name} buildx` does not work on this {arch} host ({_first_line(buildx)}); building"
            f" {ARM64} here needs buildx",
            "install the Docker buildx plugin (https://docs.docker.com/go/buildx/), e.g. `sudo"
            " apt-get install docker-buildx-plugin`",
        )
    platforms = {
        platform.strip()
        for line in buildx.stdout.splitlines()
        if line.strip().startswith("Platforms:")
        for platform in line.split(":", 1)[1].split(",")
    }
    if not platforms:  # a docker-container builder that is not running lists none
        return problem(
            "docker",
            f"the current buildx builder lists no platforms on this {arch} host (not started?)",
            f"`{name} buildx inspect --bootstrap`, then `make doctor` again",
        )
    if not any(p == ARM64 or p.startswith(f"{ARM64}/") for p in platforms):
        return problem(
            "docker",
            f"Docker on this {arch} host cannot build {ARM64} (no arm64 emulation; builder"
            f" platforms: {', '.join(sorted(platforms)) or 'none listed'})",
            "`docker run --privileged --rm tonistiigi/binfmt --install arm64`",
        )
    return ok("docker", f"daemon on {arch}: builds {ARM64} through emulation (buildx)")


# --- all together --------------------------------------------------------------------------


def region_of(session: Any, settings: CdkSettings, flag: str | None) -> str | None:
    """The deploy's region: --region, else cdk.json's, else AWS_REGION, else the profile's."""
    return flag or settings.region or os.environ.get("AWS_REGION") or session.region_name


def run_checks(
    session: Any,
    settings: CdkSettings,
    region: str | None,
    docker: str | None = None,
    needs: AppNeeds | None = None,
) -> list[Finding]:
    """Every check, in order; none stops the others (only those needing what failed skip)."""
    findings = []
    credentials, account = check_credentials(session, settings, region)
    findings.append(credentials)
    if region is None:
        findings.append(
            problem(
                "region",
                "no AWS region",
                "`export AWS_REGION=us-east-1` (or `aws configure set region us-east-1`)",
            )
        )
    # Without credentials or a region these would fail for the same reason: one line is enough.
    missing = "working credentials" if account is None else "a region" if region is None else ""
    if missing:
        findings.append(skipped("bootstrap", f"needs {missing}"))
    else:
        findings.append(check_bootstrap(session, settings, account, region))
    findings.append(check_docker(docker))
    if region is not None:
        findings.append(check_partition(region))
    for check, run in (
        ("agentcore", lambda: check_agentcore(session, region)),
        ("concurrency", lambda: check_concurrency(session, region, needs)),
        ("resource-types", lambda: check_resource_types(session, region, needs)),
    ):
        if missing:
            findings.append(skipped(check, f"needs {missing}"))
        elif needs is None and check != "agentcore":
            findings.append(skipped(check, "no synthesized templates: `make synth` first"))
        else:
            findings.append(run())
    return findings


def report(findings: Sequence[Finding]) -> str:
    lines = [finding.line() for finding in findings]
    problems = sum(finding.problem for finding in findings)
    if problems:
        lines.append(
            f"doctor: {problems} problem{'s; fix them' if problems > 1 else '; fix it'}, then"
            " `make doctor` again (nothing was deployed)"
        )
    else:
        lines.append("doctor: ready to deploy")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mcp_constructs.doctor",
        description="Check AWS credentials, CDK bootstrap, Docker (linux/arm64) and AgentCore"
        " before a deploy.",
    )
    parser.add_argument("--region", help="region to check (default: cdk.json, AWS_REGION, profile)")
    parser.add_argument("--cdk-json", default="cdk.json", help="the app's cdk.json")
    parser.add_argument(
        "--assembly", default="cdk.out", help="the synthesized app (`make synth` writes cdk.out)"
    )
    args = parser.parse_args(argv)
    import boto3

    settings = CdkSettings.read(Path(args.cdk_json))
    try:
        session = boto3.Session()
        region = region_of(session, settings, args.region)
    except BotoCoreError as exc:  # e.g. AWS_PROFILE names a profile that does not exist
        print(
            f"PROBLEM credentials: {exc}. Fix: `aws configure list-profiles`, then set AWS_PROFILE"
            " to one of them"
        )
        return 1
    findings = run_checks(session, settings, region, needs=AppNeeds.read(Path(args.assembly)))
    print(report(findings))
    return 1 if any(finding.problem for finding in findings) else 0


if __name__ == "__main__":
    sys.exit(main())
