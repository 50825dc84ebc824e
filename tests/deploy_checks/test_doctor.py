"""`make doctor`: every problem it can report, offline.

AWS answers come from botocore Stubbers on real clients (each call is checked against the
service model), or from a real client pointed at a closed loopback port; Docker is a small
shell script named ``docker`` first on PATH, answering ``info`` and ``buildx inspect`` the way
the real CLI does.
"""

from __future__ import annotations

import functools
import json
import os
import shlex
import socket
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber

from mcp_constructs import doctor
from mcp_constructs.doctor import AppNeeds, CdkSettings, Finding

REPO = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"
REGION = "us-east-1"
ARN = f"arn:aws:sts::{ACCOUNT}:assumed-role/Admin/dev"
DOCKER_DOWN = (
    "Cannot connect to the Docker daemon at unix:///var/run/docker.sock."
    " Is the docker daemon running?"
)
BUILDX_AMD64_ONLY = """Name:          default
Driver:        docker

Nodes:
Name:             default
Endpoint:         default
Status:           running
BuildKit version: v0.20.2
Platforms:        linux/amd64, linux/amd64/v2, linux/amd64/v3, linux/386
"""
BUILDX_WITH_ARM64 = BUILDX_AMD64_ONLY.replace("linux/386", "linux/386, linux/arm64, linux/arm/v7")


# --- fakes ---------------------------------------------------------------------------------


def fake_docker(
    bin_dir: Path,
    *,
    info: tuple[int, str, str] = (0, "linux/x86_64", ""),
    buildx: tuple[int, str, str] = (0, BUILDX_WITH_ARM64, ""),
) -> Path:
    """Write ``bin_dir/docker``: answers ``info`` and ``buildx inspect`` as given (rc, out, err)."""
    bin_dir.mkdir(parents=True, exist_ok=True)

    def answer(rc: int, out: str, err: str) -> str:
        return f"printf '%s' {shlex.quote(out)}; printf '%s' {shlex.quote(err)} >&2; exit {rc}"

    script = bin_dir / "docker"
    script.write_text(
        "#!/bin/sh\n"
        'case "$1 $2" in\n'
        f"  'info --format') {answer(*info)};;\n"
        f"  'buildx inspect') {answer(*buildx)};;\n"
        '  *) echo "fake docker: unexpected arguments: $*" >&2; exit 64;;\n'
        "esac\n"
    )
    script.chmod(0o755)
    return script


@pytest.fixture
def bin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty directory that is the whole PATH (no real docker), CDK_DOCKER unset."""
    path = tmp_path / "bin"
    path.mkdir()
    monkeypatch.setenv("PATH", str(path))
    monkeypatch.delenv("CDK_DOCKER", raising=False)
    return path


@functools.cache
def base_session() -> boto3.Session:
    """Fake credentials; one per test run so the service models are parsed once."""
    return boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )


class StubbedSession:
    """What the doctor uses of a boto3 Session: real clients whose answers come from Stubbers."""

    SERVICES = ("sts", "cloudformation", "bedrock-agentcore-control", "lambda")

    def __init__(self, region: str | None = REGION) -> None:
        self.region_name = region
        base = base_session()
        self.clients: dict[str, Any] = {name: base.client(name) for name in self.SERVICES}
        self.stubbers = {name: Stubber(client) for name, client in self.clients.items()}
        self.asked: dict[str, str | None] = {}

    def client(self, name: str, region_name: str | None = None, config: Any = None) -> Any:
        self.asked[name] = region_name
        return self.clients[name]

    def unreachable_agentcore(self) -> None:
        """Point AgentCore at a closed loopback port: a real EndpointConnectionError."""
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.clients["bedrock-agentcore-control"] = base_session().client(
            "bedrock-agentcore-control",
            endpoint_url=f"http://127.0.0.1:{port}",
            config=Config(retries={"max_attempts": 1}, connect_timeout=2),
        )
        del self.stubbers["bedrock-agentcore-control"]


@pytest.fixture
def session() -> Iterator[StubbedSession]:
    stubbed = StubbedSession()
    yield stubbed
    for stubber in stubbed.stubbers.values():
        stubber.assert_no_pending_responses()


def activate(session: StubbedSession) -> None:
    for stubber in session.stubbers.values():
        stubber.activate()


def expect_identity(session: StubbedSession, account: str = ACCOUNT) -> None:
    session.stubbers["sts"].add_response(
        "get_caller_identity",
        {"UserId": "AROAEXAMPLE:dev", "Account": account, "Arn": ARN.replace(ACCOUNT, account)},
        {},
    )


def toolkit(
    status: str = "UPDATE_COMPLETE",
    version: str | None = "30",
    qualifier: str = "hnb659fds",
    name: str = "CDKToolkit",
) -> dict[str, Any]:
    """A DescribeStacks answer for the bootstrap stack, as CloudFormation returns it."""
    stack: dict[str, Any] = {
        "StackName": name,
        "StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{name}/0a1b2c",
        "CreationTime": datetime(2026, 1, 5, tzinfo=UTC),
        "StackStatus": status,
        "Parameters": [{"ParameterKey": "Qualifier", "ParameterValue": qualifier}],
        "Outputs": [{"OutputKey": "BucketName", "OutputValue": "cdk-hnb659fds-assets"}],
    }
    if version is not None:
        stack["Outputs"].append({"OutputKey": "BootstrapVersion", "OutputValue": version})
    return {"Stacks": [stack]}


def expect_toolkit(session: StubbedSession, name: str = "CDKToolkit", **kwargs: Any) -> None:
    session.stubbers["cloudformation"].add_response(
        "describe_stacks", toolkit(name=name, **kwargs), {"StackName": name}
    )


def expect_gateways(session: StubbedSession) -> None:
    session.stubbers["bedrock-agentcore-control"].add_response(
        "list_gateways", {"items": []}, {"maxResults": 1}
    )


#: What a small app asks of the account: two resource types, one reservation of 5.
NEEDS = AppNeeds(
    frozenset({"AWS::BedrockAgentCore::Gateway", "AWS::Lambda::Function"}),
    (("LarkMcp-UserAuth/Server", 5),),
)


def expect_account_settings(
    session: StubbedSession, limit: int = 1000, unreserved: int | None = None
) -> None:
    """Lambda GetAccountSettings, as Lambda answers it (a new account's limit is 10)."""
    session.stubbers["lambda"].add_response(
        "get_account_settings",
        {
            "AccountLimit": {
                "TotalCodeSize": 80530636800,
                "CodeSizeUnzipped": 262144000,
                "CodeSizeZipped": 52428800,
                "ConcurrentExecutions": limit,
                "UnreservedConcurrentExecutions": limit if unreserved is None else unreserved,
            },
            "AccountUsage": {"TotalCodeSize": 0, "FunctionCount": 0},
        },
        {},
    )


def expect_deployed(
    session: StubbedSession,
    reserved: int | None = None,
    name: str = "LarkMcp-UserAuth/Server",
    error: str | None = None,
) -> None:
    """What a deployed function reserves: DescribeStackResource then GetFunctionConcurrency.

    ``reserved=None`` and no ``error``: the stack is not deployed (CloudFormation's
    ValidationError). ``error``: CloudFormation refuses with that code.
    """
    stack, _, logical_id = name.partition("/")
    cloudformation = session.stubbers["cloudformation"]
    asked = {"StackName": stack, "LogicalResourceId": logical_id}
    if error or reserved is None:
        cloudformation.add_client_error(
            "describe_stack_resource",
            service_error_code=error or "ValidationError",
            service_message=f"Stack with id {stack} does not exist",
            http_status_code=400,
            expected_params=asked,
        )
        return
    function = f"{stack}-{logical_id}ABC123"
    cloudformation.add_response(
        "describe_stack_resource",
        {
            "StackResourceDetail": {
                "LogicalResourceId": logical_id,
                "PhysicalResourceId": function,
                "ResourceType": "AWS::Lambda::Function",
                "LastUpdatedTimestamp": "2026-12-01T00:00:00Z",
                "ResourceStatus": "UPDATE_COMPLETE",
            }
        },
        asked,
    )
    session.stubbers["lambda"].add_response(
        "get_function_concurrency",
        {"ReservedConcurrentExecutions": reserved} if reserved else {},
        {"FunctionName": function},
    )


def expect_types(
    session: StubbedSession, needs: AppNeeds = NEEDS, missing: frozenset[str] = frozenset()
) -> None:
    """CloudFormation DescribeType for each type, in order; ``missing`` ones not found."""
    for kind in sorted(needs.resource_types):
        params = {"Type": "RESOURCE", "TypeName": kind}
        if kind in missing:
            session.stubbers["cloudformation"].add_client_error(
                "describe_type",
                service_error_code="TypeNotFoundException",
                service_message=f"The type '{kind}' cannot be found.",
                http_status_code=404,
                expected_params=params,
            )
        else:
            session.stubbers["cloudformation"].add_response(
                "describe_type",
                {
                    "Arn": f"arn:aws:cloudformation:{REGION}::type/resource/"
                    + kind.replace("::", "-"),
                    "Type": "RESOURCE",
                    "TypeName": kind,
                    "Visibility": "PUBLIC",
                },
                params,
            )


def ready(session: StubbedSession, bin_dir: Path, **docker: Any) -> None:
    """Everything answers as on a machine that can deploy."""
    expect_identity(session)
    expect_toolkit(session)
    expect_gateways(session)
    expect_account_settings(session)
    expect_types(session)
    fake_docker(bin_dir, **docker)


def run(
    session: StubbedSession, settings: CdkSettings | None = None, needs: AppNeeds | None = None
) -> list[Finding]:
    activate(session)
    return doctor.run_checks(session, settings or CdkSettings(), session.region_name, needs=needs)


def by_check(findings: list[Finding]) -> dict[str, Finding]:
    return {finding.check: finding for finding in findings}


def problems(findings: list[Finding]) -> list[str]:
    return [finding.line() for finding in findings if finding.problem]


def only_problem(findings: list[Finding], check: str) -> str:
    """The single problem line, which must belong to ``check``."""
    lines = problems(findings)
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"PROBLEM {check}: "), lines[0]
    assert ". Fix: " in lines[0]
    return lines[0]


# --- a ready machine -----------------------------------------------------------------------


def test_a_ready_machine_passes_every_check(session: StubbedSession, bin_dir: Path) -> None:
    ready(session, bin_dir)
    findings = run(session, needs=NEEDS)
    assert problems(findings) == []
    assert [f.check for f in findings] == [
        "credentials",
        "bootstrap",
        "docker",
        "partition",
        "agentcore",
        "concurrency",
        "resource-types",
    ]
    assert all(f.status == "ok" for f in findings)
    assert by_check(findings)["bootstrap"].message == (
        f"CDKToolkit version 30 in account {ACCOUNT}, region {REGION}"
    )
    assert "through emulation" in by_check(findings)["docker"].message
    assert session.asked["cloudformation"] == REGION
    assert session.asked["bedrock-agentcore-control"] == REGION
    assert doctor.report(findings).endswith("doctor: ready to deploy")


def test_an_arm64_daemon_needs_no_emulation(session: StubbedSession, bin_dir: Path) -> None:
    # buildx would say "no arm64": it must not even be asked on a native arm64 daemon.
    ready(session, bin_dir, info=(0, "linux/aarch64", ""), buildx=(1, "", "must not run"))
    findings = run(session, needs=NEEDS)
    assert problems(findings) == []
    assert by_check(findings)["docker"].message == "daemon on aarch64: builds linux/arm64 natively"


# --- credentials ---------------------------------------------------------------------------


def test_no_credentials_is_one_line_and_docker_is_still_checked(
    no_aws: Path,
    tmp_path: Path,
    bin_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    """`main()` as `make doctor` runs it, on a machine with no AWS setup and Docker stopped."""
    monkeypatch.setenv("AWS_REGION", REGION)
    fake_docker(bin_dir, info=(1, "", DOCKER_DOWN))
    cdk_json = tmp_path / "cdk.json"
    cdk_json.write_text(json.dumps({"app": "python3 app.py", "context": {}}))

    assert doctor.main(["--cdk-json", str(cdk_json)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "PROBLEM credentials: no AWS credentials found. Fix: `aws configure` (access keys), or"
        " `aws sso login --profile NAME` then `export AWS_PROFILE=NAME`",
        "skipped bootstrap: needs working credentials",
        f"PROBLEM docker: the Docker daemon does not answer ({DOCKER_DOWN}). Fix: start Docker"
        " Desktop, or `sudo systemctl start docker` (Linux)",
        "ok      partition: aws (endpoints *.us-east-1.amazonaws.com, e.g."
        " https://bedrock-agentcore.us-east-1.amazonaws.com; console"
        " https://console.aws.amazon.com)",
        "skipped agentcore: needs working credentials",
        "skipped concurrency: needs working credentials",
        "skipped resource-types: needs working credentials",
        "doctor: 2 problems; fix them, then `make doctor` again (nothing was deployed)",
    ]


def test_sso_profile_without_a_sign_in(
    tmp_path: Path, bin_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """A real IAM Identity Center profile with no cached token: botocore's own error."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    config = tmp_path / "config"
    config.write_text(
        "[profile dev]\nsso_start_url = https://example.awsapps.com/start\n"
        "sso_region = us-east-1\nsso_account_id = 123456789012\nsso_role_name = Admin\n"
        "region = us-east-1\n"
    )
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.aws/sso/cache
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_PROFILE", "dev")
    fake_docker(bin_dir)
    assert doctor.main(["--cdk-json", str(tmp_path / "no-cdk.json")]) == 1
    assert capsys.readouterr().out.splitlines()[0] == (
        "PROBLEM credentials: AWS SSO sign-in expired or missing (Error loading SSO Token: Token"
        " for https://example.awsapps.com/start does not exist). Fix: `aws sso login --profile"
        " dev`"
    )


def test_expired_credentials_name_the_profile_to_sign_in_again(
    session: StubbedSession, bin_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "dev-admin")
    fake_docker(bin_dir)
    session.stubbers["sts"].add_client_error(
        "get_caller_identity",
        service_error_code="ExpiredToken",
        service_message="The security token included in the request is expired",
        http_status_code=403,
    )
    line = only_problem(run(session), "credentials")
    assert line == (
        "PROBLEM credentials: AWS credentials expired (ExpiredToken). Fix: `aws sso login"
        " --profile dev-admin`, or fresh keys with `aws configure`"
    )


def test_rejected_credentials_say_what_aws_said(session: StubbedSession, bin_dir: Path) -> None:
    fake_docker(bin_dir)
    session.stubbers["sts"].add_client_error(
        "get_caller_identity",
        service_error_code="InvalidClientTokenId",
        service_message="The security token included in the request is invalid.",
        http_status_code=403,
    )
    line = only_problem(run(session), "credentials")
    assert "AWS rejected the credentials (InvalidClientTokenId: The security token" in line
    assert "Fix: `aws configure` with valid keys" in line


def test_credentials_of_another_account_than_cdk_json(
    session: StubbedSession, bin_dir: Path
) -> None:
    fake_docker(bin_dir)
    expect_identity(session, account="999988887777")
    line = only_problem(run(session, CdkSettings(account=ACCOUNT)), "credentials")
    assert line.startswith(
        f"PROBLEM credentials: cdk.json deploys to account {ACCOUNT}, your credentials are for"
        " 999988887777. Fix: use a profile of account"
    )


def test_no_region(bin_dir: Path) -> None:
    session = StubbedSession(region=None)
    fake_docker(bin_dir)
    expect_identity(session)
    findings = run(session)
    assert only_problem(findings, "region") == (
        "PROBLEM region: no AWS region. Fix: `export AWS_REGION=us-east-1` (or `aws configure"
        " set region us-east-1`)"
    )
    assert by_check(findings)["bootstrap"].status == "skipped"
    assert by_check(findings)["agentcore"].status == "skipped"
    assert session.asked["sts"] == "us-east-1"  # STS still answers who you are


def test_region_comes_from_the_flag_then_cdk_json_then_aws_region(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    session = StubbedSession(region="eu-north-1")  # the profile's region
    monkeypatch.delenv("AWS_REGION", raising=False)
    assert doctor.region_of(session, CdkSettings(), None) == "eu-north-1"
    monkeypatch.setenv("AWS_REGION", "ap-southeast-2")
    assert doctor.region_of(session, CdkSettings(), None) == "ap-southeast-2"
    assert doctor.region_of(session, CdkSettings(region="eu-west-1"), None) == "eu-west-1"
    assert doctor.region_of(session, CdkSettings(region="eu-west-1"), "us-west-2") == "us-west-2"


# --- bootstrap -----------------------------------------------------------------------------


def _bootstrap_problem(session: StubbedSession, bin_dir: Path, settings: CdkSettings) -> str:
    expect_identity(session)
    expect_gateways(session)
    fake_docker(bin_dir)
    return only_problem(run(session, settings), "bootstrap")


def test_bootstrap_stack_missing(session: StubbedSession, bin_dir: Path) -> None:
    session.stubbers["cloudformation"].add_client_error(
        "describe_stacks",
        service_error_code="ValidationError",
        service_message="Stack with id CDKToolkit does not exist",
        expected_params={"StackName": "CDKToolkit"},
    )
    assert _bootstrap_problem(session, bin_dir, CdkSettings()) == (
        f"PROBLEM bootstrap: CDK bootstrap stack CDKToolkit not found in account {ACCOUNT},"
        f" region {REGION}. Fix: `npx cdk bootstrap aws://{ACCOUNT}/{REGION}`"
    )


def test_bootstrap_with_the_apps_own_qualifier_and_toolkit_name(
    session: StubbedSession, bin_dir: Path, tmp_path: Path
) -> None:
    cdk_json = tmp_path / "cdk.json"
    cdk_json.write_text(
        json.dumps(
            {
                "app": "python3 app.py",
                "toolkitStackName": "LarkToolkit",
                "context": {"@aws-cdk/core:bootstrapQualifier": "lark01"},
            }
        )
    )
    settings = CdkSettings.read(cdk_json)
    session.stubbers["cloudformation"].add_client_error(
        "describe_stacks",
        service_error_code="ValidationError",
        service_message="Stack with id LarkToolkit does not exist",
        expected_params={"StackName": "LarkToolkit"},
    )
    assert _bootstrap_problem(session, bin_dir, settings).endswith(
        f"Fix: `npx cdk bootstrap aws://{ACCOUNT}/{REGION} --qualifier lark01"
        " --toolkit-stack-name LarkToolkit`"
    )


def test_bootstrap_stack_too_old(session: StubbedSession, bin_dir: Path) -> None:
    expect_toolkit(session, version="5")
    assert _bootstrap_problem(session, bin_dir, CdkSettings()) == (
        "PROBLEM bootstrap: CDK bootstrap stack CDKToolkit is version 5; this CDK needs at least"
        f" {doctor.MIN_BOOTSTRAP_VERSION}. Fix: `npx cdk bootstrap aws://{ACCOUNT}/{REGION}`"
        " (upgrades it in place)"
    )


def test_bootstrap_stack_without_a_version(session: StubbedSession, bin_dir: Path) -> None:
    expect_toolkit(session, version=None)
    assert "is version unknown; this CDK needs" in _bootstrap_problem(
        session, bin_dir, CdkSettings()
    )


def test_bootstrap_stack_broken(session: StubbedSession, bin_dir: Path) -> None:
    expect_toolkit(session, status="UPDATE_ROLLBACK_FAILED")
    line = _bootstrap_problem(session, bin_dir, CdkSettings())
    assert line.startswith(
        f"PROBLEM bootstrap: CDK bootstrap stack CDKToolkit in account {ACCOUNT}, region {REGION}"
        " is UPDATE_ROLLBACK_FAILED. Fix: see its events"
    )
    assert f"`aws cloudformation delete-stack --stack-name CDKToolkit --region {REGION}`" in line


def test_bootstrap_stack_still_deploying(session: StubbedSession, bin_dir: Path) -> None:
    expect_toolkit(session, status="UPDATE_IN_PROGRESS")
    assert _bootstrap_problem(session, bin_dir, CdkSettings()) == (
        "PROBLEM bootstrap: CDK bootstrap stack CDKToolkit is UPDATE_IN_PROGRESS. Fix: wait until"
        " it finishes, then `make doctor` again"
    )


def test_bootstrap_with_another_qualifier(session: StubbedSession, bin_dir: Path) -> None:
    expect_toolkit(session, qualifier="custom99")
    line = _bootstrap_problem(session, bin_dir, CdkSettings())
    assert line.startswith(
        "PROBLEM bootstrap: CDKToolkit was bootstrapped with qualifier custom99, the app uses"
        ' hnb659fds. Fix: set "@aws-cdk/core:bootstrapQualifier": "custom99"'
    )


def test_bootstrap_stack_unreadable(session: StubbedSession, bin_dir: Path) -> None:
    session.stubbers["cloudformation"].add_client_error(
        "describe_stacks",
        service_error_code="AccessDenied",
        service_message="User is not authorized to perform: cloudformation:DescribeStacks",
        http_status_code=403,
    )
    line = _bootstrap_problem(session, bin_dir, CdkSettings())
    assert "cannot read stack CDKToolkit" in line
    assert "(AccessDenied: User is not authorized" in line


# --- docker --------------------------------------------------------------------------------


def _docker_problem(session: StubbedSession) -> str:
    expect_identity(session)
    expect_toolkit(session)
    expect_gateways(session)
    return only_problem(run(session), "docker")


def test_docker_not_installed(session: StubbedSession, bin_dir: Path) -> None:
    assert _docker_problem(session) == (
        "PROBLEM docker: `docker` not found on PATH (the runtime image is built locally). Fix:"
        " install Docker (https://docs.docker.com/get-docker/), or set CDK_DOCKER to a"
        " docker-compatible CLI"
    )


def test_docker_daemon_not_running(session: StubbedSession, bin_dir: Path) -> None:
    fake_docker(bin_dir, info=(1, "", DOCKER_DOWN + "\n"))
    assert _docker_problem(session) == (
        f"PROBLEM docker: the Docker daemon does not answer ({DOCKER_DOWN}). Fix: start Docker"
        " Desktop, or `sudo systemctl start docker` (Linux)"
    )


def test_docker_without_buildx_on_x86(session: StubbedSession, bin_dir: Path) -> None:
    fake_docker(bin_dir, buildx=(1, "", "docker: 'buildx' is not a docker command."))
    line = _docker_problem(session)
    assert line.startswith(
        "PROBLEM docker: `docker buildx` does not work on this x86_64 host (docker: 'buildx' is"
        " not a docker command.); building linux/arm64 here needs buildx. Fix: install the"
        " Docker buildx plugin"
    )


def test_docker_without_arm64_emulation(session: StubbedSession, bin_dir: Path) -> None:
    fake_docker(bin_dir, buildx=(0, BUILDX_AMD64_ONLY, ""))
    line = _docker_problem(session)
    assert line.startswith(
        "PROBLEM docker: Docker on this x86_64 host cannot build linux/arm64 (no arm64"
        " emulation; builder platforms: linux/386, linux/amd64,"
    )
    assert line.endswith("Fix: `docker run --privileged --rm tonistiigi/binfmt --install arm64`")


def test_docker_builder_not_started(session: StubbedSession, bin_dir: Path) -> None:
    inactive = "Name:   multiarch\nDriver: docker-container\n\nNodes:\nName:   multiarch0\n"
    fake_docker(bin_dir, buildx=(0, inactive + "Status: inactive\n", ""))
    assert _docker_problem(session) == (
        "PROBLEM docker: the current buildx builder lists no platforms on this x86_64 host (not"
        " started?). Fix: `docker buildx inspect --bootstrap`, then `make doctor` again"
    )


def test_cdk_docker_names_the_cli(
    session: StubbedSession, bin_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CDK builds with $CDK_DOCKER when set (finch, podman): the doctor checks that one."""
    fake_docker(bin_dir, info=(0, "linux/aarch64", "")).rename(bin_dir / "finch")
    monkeypatch.setenv("CDK_DOCKER", "finch")
    expect_identity(session)
    expect_toolkit(session)
    expect_gateways(session)
    findings = run(session)
    assert problems(findings) == []
    assert by_check(findings)["docker"].status == "ok"


# --- agentcore -----------------------------------------------------------------------------


def _agentcore(session: StubbedSession, bin_dir: Path) -> list[Finding]:
    expect_identity(session)
    expect_toolkit(session)
    fake_docker(bin_dir)
    return run(session)


def test_agentcore_not_in_the_region(session: StubbedSession, bin_dir: Path) -> None:
    session.unreachable_agentcore()
    line = only_problem(_agentcore(session, bin_dir), "agentcore")
    assert line == (
        f"PROBLEM agentcore: Amazon Bedrock AgentCore does not answer in {REGION} (no endpoint"
        f" bedrock-agentcore-control.{REGION}.amazonaws.com). Fix: deploy to a region that has"
        f" AgentCore, e.g. `export AWS_REGION=us-east-1` (list: {doctor.AGENTCORE_REGIONS_URL})"
    )


def test_agentcore_refusing_the_account(session: StubbedSession, bin_dir: Path) -> None:
    session.stubbers["bedrock-agentcore-control"].add_client_error(
        "list_gateways",
        service_error_code="UnrecognizedClientException",
        service_message="The security token included in the request is invalid",
        http_status_code=403,
    )
    line = only_problem(_agentcore(session, bin_dir), "agentcore")
    assert line.startswith(
        f"PROBLEM agentcore: AgentCore in {REGION} refused ListGateways"
        " (UnrecognizedClientException: The security token"
    )


def test_agentcore_access_denied_still_proves_the_service(
    session: StubbedSession, bin_dir: Path
) -> None:
    session.stubbers["bedrock-agentcore-control"].add_client_error(
        "list_gateways",
        service_error_code="AccessDeniedException",
        service_message="not authorized to perform: bedrock-agentcore:ListGateways",
        http_status_code=403,
    )
    findings = _agentcore(session, bin_dir)
    assert problems(findings) == []
    assert by_check(findings)["agentcore"].message.startswith(f"answers in {REGION}")


# --- Lambda concurrency, resource types, partition ----------------------------------------


def _needs_findings(
    session: StubbedSession, bin_dir: Path, needs: AppNeeds | None, *then: Any
) -> list[Finding]:
    """Identity, toolkit and AgentCore answer; then ``then`` add their answers (in order)."""
    expect_identity(session)
    expect_toolkit(session)
    expect_gateways(session)
    for expect in then:
        expect()
    fake_docker(bin_dir)
    return run(session, needs=needs)


def test_a_new_accounts_concurrency_cannot_hold_a_reservation(
    session: StubbedSession, bin_dir: Path
) -> None:
    """Limit 10, as a new account has: Lambda would refuse reserving even 1 (keeps 100)."""
    findings = _needs_findings(
        session,
        bin_dir,
        NEEDS,
        functools.partial(expect_account_settings, session, limit=10),
        functools.partial(expect_deployed, session),  # not deployed yet
        functools.partial(expect_types, session),
    )
    line = only_problem(findings, "concurrency")
    assert line == (
        f"PROBLEM concurrency: the account's Lambda concurrency in {REGION} is 10 (10"
        " unreserved); the app reserves 5 (LarkMcp-UserAuth/Server 5) and Lambda keeps 100"
        ' unreserved, so the deploy would fail. Fix: set "userAuthConcurrency": 0 in'
        " cdk.json's context (reserves none), or raise the quota: `aws service-quotas"
        " request-service-quota-increase --service-code lambda --quota-code L-B99A9384"
        f" --desired-value 1000 --region {REGION}`"
    )


@pytest.mark.parametrize(
    ("limit", "unreserved", "fits"),
    [(1000, 1000, True), (1000, 105, True), (1000, 104, False), (200, 50, False)],
)
def test_a_reservation_fits_only_leaving_100_unreserved(
    session: StubbedSession, bin_dir: Path, limit: int, unreserved: int, fits: bool
) -> None:
    findings = _needs_findings(
        session,
        bin_dir,
        NEEDS,
        functools.partial(expect_account_settings, session, limit=limit, unreserved=unreserved),
        *([] if fits else [functools.partial(expect_deployed, session)]),  # not deployed yet
        functools.partial(expect_types, session),
    )
    finding = by_check(findings)["concurrency"]
    assert finding.problem is not fits
    if fits:
        assert finding.message.endswith("the app reserves 5, which fits")


def test_a_redeploy_does_not_count_its_own_reservation_twice(
    session: StubbedSession, bin_dir: Path
) -> None:
    """102 unreserved with the app's 5 already reserved: nothing new to fit, so it fits."""
    findings = _needs_findings(
        session,
        bin_dir,
        NEEDS,
        functools.partial(expect_account_settings, session, unreserved=102),
        functools.partial(expect_deployed, session, reserved=5),
        functools.partial(expect_types, session),
    )
    assert problems(findings) == []
    assert by_check(findings)["concurrency"].message == (
        f"the account's Lambda concurrency in {REGION} is 1000 (102 unreserved); the app"
        " reserves 5, 5 of it already in place (deployed), which fits"
    )


def test_a_redeploy_that_grows_its_reservation_must_fit_the_growth(
    session: StubbedSession, bin_dir: Path
) -> None:
    """5 in place, 8 wanted, 102 unreserved: 3 more would leave 99, below Lambda's 100."""
    needs = AppNeeds(NEEDS.resource_types, (("LarkMcp-UserAuth/Server", 8),))
    findings = _needs_findings(
        session,
        bin_dir,
        needs,
        functools.partial(expect_account_settings, session, unreserved=102),
        functools.partial(expect_deployed, session, reserved=5),
        functools.partial(expect_types, session, needs),
    )
    line = only_problem(findings, "concurrency")
    assert "the app reserves 8 (LarkMcp-UserAuth/Server 8 (5 in place))" in line


def test_an_unreadable_deployed_reservation_counts_in_full(
    session: StubbedSession, bin_dir: Path
) -> None:
    findings = _needs_findings(
        session,
        bin_dir,
        NEEDS,
        functools.partial(expect_account_settings, session, unreserved=102),
        functools.partial(expect_deployed, session, error="AccessDenied"),
        functools.partial(expect_types, session),
    )
    assert "the app reserves 5 (LarkMcp-UserAuth/Server 5) and Lambda keeps 100" in (
        only_problem(findings, "concurrency")
    )


def test_an_app_without_reservations_deploys_on_a_new_account(
    session: StubbedSession, bin_dir: Path
) -> None:
    needs = AppNeeds(NEEDS.resource_types)
    findings = _needs_findings(
        session,
        bin_dir,
        needs,
        functools.partial(expect_account_settings, session, limit=10),
        functools.partial(expect_types, session, needs),
    )
    assert problems(findings) == []
    assert by_check(findings)["concurrency"].message == (
        f"the account's Lambda concurrency in {REGION} is 10 (10 unreserved); the app reserves none"
    )
    assert session.asked["lambda"] == REGION


def test_a_region_without_a_resource_type(session: StubbedSession, bin_dir: Path) -> None:
    needs = AppNeeds(
        frozenset(
            {
                "AWS::BedrockAgentCore::GatewayTarget",
                "AWS::BedrockAgentCore::PolicyEngine",
                "AWS::Lambda::Function",
            }
        )
    )
    missing = frozenset(
        {"AWS::BedrockAgentCore::GatewayTarget", "AWS::BedrockAgentCore::PolicyEngine"}
    )
    findings = _needs_findings(
        session,
        bin_dir,
        needs,
        functools.partial(expect_account_settings, session),
        functools.partial(expect_types, session, needs, missing),
    )
    line = only_problem(findings, "resource-types")
    assert line.startswith(
        f"PROBLEM resource-types: CloudFormation in {REGION} does not offer 2 resource types the"
        " app uses: AWS::BedrockAgentCore::GatewayTarget, AWS::BedrockAgentCore::PolicyEngine."
        " Fix: deploy to a region that offers them (`make doctor REGION=us-east-1` checks one;"
    )


def test_registry_unreadable(session: StubbedSession, bin_dir: Path) -> None:
    findings = _needs_findings(
        session,
        bin_dir,
        NEEDS,
        functools.partial(expect_account_settings, session),
        functools.partial(
            session.stubbers["cloudformation"].add_client_error,
            "describe_type",
            service_error_code="AccessDenied",
            service_message="not authorized to perform: cloudformation:DescribeType",
            http_status_code=403,
        ),
    )
    line = only_problem(findings, "resource-types")
    assert "cannot read the CloudFormation registry in us-east-1 (AccessDenied: not author" in line


def test_without_an_assembly_the_template_checks_say_to_synth(
    session: StubbedSession, bin_dir: Path
) -> None:
    findings = _needs_findings(session, bin_dir, None)
    assert problems(findings) == []
    for check in ("concurrency", "resource-types"):
        assert by_check(findings)[check].line() == (
            f"skipped {check}: no synthesized templates: `make synth` first"
        )


@pytest.mark.parametrize(
    ("region", "partition", "suffix", "console"),
    [
        ("eu-west-1", "aws", "amazonaws.com", "https://console.aws.amazon.com"),
        ("cn-north-1", "aws-cn", "amazonaws.com.cn", "https://console.amazonaws.cn"),
        ("cn-northwest-1", "aws-cn", "amazonaws.com.cn", "https://console.amazonaws.cn"),
        ("us-gov-west-1", "aws-us-gov", "amazonaws.com", "https://console.amazonaws-us-gov.com"),
    ],
)
def test_the_partitions_urls(region: str, partition: str, suffix: str, console: str) -> None:
    finding = doctor.check_partition(region)
    assert finding.message == (
        f"{partition} (endpoints *.{region}.{suffix}, e.g."
        f" https://bedrock-agentcore.{region}.{suffix}; console {console})"
    )


def test_agentcore_in_china_names_the_china_endpoint(bin_dir: Path) -> None:
    session = StubbedSession(region="cn-north-1")
    session.unreachable_agentcore()
    expect_identity(session)
    session.stubbers["cloudformation"].add_response(
        "describe_stacks", toolkit(), {"StackName": "CDKToolkit"}
    )
    fake_docker(bin_dir)
    line = only_problem(run(session), "agentcore")
    assert "(no endpoint bedrock-agentcore-control.cn-north-1.amazonaws.com.cn)" in line


def _assembly(tmp_path: Path, resources: dict[str, Any]) -> Path:
    """A cloud assembly as `cdk synth` writes it: manifest.json naming each stack's template."""
    out = tmp_path / "cdk.out"
    out.mkdir()
    (out / "Old.template.json").write_text(  # left by an earlier synth: not in the manifest
        json.dumps({"Resources": {"X": {"Type": "AWS::Old::Thing"}}})
    )
    (out / "LarkMcp-Gateway.template.json").write_text(json.dumps({"Resources": resources}))
    (out / "manifest.json").write_text(
        json.dumps(
            {
                "version": "48.0.0",
                "artifacts": {
                    "LarkMcp-Gateway": {
                        "type": "aws:cloudformation:stack",
                        "environment": "aws://unknown-account/unknown-region",
                        "properties": {"templateFile": "LarkMcp-Gateway.template.json"},
                    },
                    "Tree": {"type": "cdk:tree", "properties": {"file": "tree.json"}},
                },
            }
        )
    )
    return out


def test_needs_are_read_from_the_assembly(tmp_path: Path) -> None:
    out = _assembly(
        tmp_path,
        {
            "Gateway": {"Type": "AWS::BedrockAgentCore::Gateway"},
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {"ReservedConcurrentExecutions": 3},
            },
            "Free": {"Type": "AWS::Lambda::Function", "Properties": {}},
            "Sync": {"Type": "Custom::ToolSync"},
            "CR": {"Type": "AWS::CloudFormation::CustomResource"},
            "CDKMetadata": {"Type": "AWS::CDK::Metadata"},
        },
    )
    needs = AppNeeds.read(out)
    assert needs == AppNeeds(
        frozenset({"AWS::BedrockAgentCore::Gateway", "AWS::Lambda::Function"}),
        (("LarkMcp-Gateway/Fn", 3),),
    )
    assert AppNeeds.read(tmp_path / "nothing") is None


def test_main_reads_the_assembly_it_is_given(
    no_aws: Path, tmp_path: Path, bin_dir: Path, capsys: pytest.CaptureFixture
) -> None:
    fake_docker(bin_dir)
    out = _assembly(tmp_path, {"Gateway": {"Type": "AWS::BedrockAgentCore::Gateway"}})
    doctor.main(["--cdk-json", str(tmp_path / "none.json"), "--assembly", str(out)])
    assert "skipped resource-types: needs working credentials" in capsys.readouterr().out


# --- every check runs ----------------------------------------------------------------------


def test_every_check_runs_and_reports_its_own_line(session: StubbedSession, bin_dir: Path) -> None:
    expect_identity(session)
    expect_toolkit(session, version="4")
    session.unreachable_agentcore()
    fake_docker(bin_dir, info=(1, "", DOCKER_DOWN))
    findings = run(session)
    assert [line.split(":")[0] for line in problems(findings)] == [
        "PROBLEM bootstrap",
        "PROBLEM docker",
        "PROBLEM agentcore",
    ]
    assert doctor.report(findings).splitlines()[-1] == (
        "doctor: 3 problems; fix them, then `make doctor` again (nothing was deployed)"
    )


# --- wiring: make, CDK, docs ---------------------------------------------------------------


def _make(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    # The stamps are the shared checkout's: keep make from reinstalling the venv/node_modules.
    return subprocess.run(
        ["make", "-o", ".venv/.installed", "-o", "node_modules/.installed", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_make_deploy_runs_the_doctor_before_cdk() -> None:
    commands = _make("-n", "deploy").stdout.splitlines()
    doctor_at = next(i for i, c in enumerate(commands) if "-m mcp_constructs.doctor" in c)
    deploy_at = next(i for i, c in enumerate(commands) if " deploy --all" in c)
    assert doctor_at < deploy_at


def test_make_doctor_fails_with_readable_lines(tmp_path: Path) -> None:
    """The target users run: no AWS setup, a docker that cannot reach its daemon."""
    fake_docker(tmp_path / "bin", info=(1, "", DOCKER_DOWN))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_"))}
    env |= {
        "PATH": f"{tmp_path / 'bin'}{os.pathsep}{env['PATH']}",
        "HOME": str(tmp_path),
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    result = _make("-o", "synth", "doctor", "REGION=eu-west-1", env=env)
    assert result.returncode != 0
    assert "PROBLEM credentials: no AWS credentials found. Fix: `aws configure`" in result.stdout
    assert "PROBLEM docker: the Docker daemon does not answer" in result.stdout
    assert "doctor: 2 problems" in result.stdout


def test_min_bootstrap_version_covers_what_the_synth_requires(tmp_path: Path) -> None:
    """The assets the app has (a Lambda zip, a Docker image) with the default synthesizer."""
    import aws_cdk as cdk
    from aws_cdk import aws_ecr_assets as ecr_assets
    from aws_cdk import aws_s3_assets as s3_assets

    context = tmp_path / "image"
    context.mkdir()
    (context / "Dockerfile").write_text("FROM scratch\n")
    app = cdk.App(outdir=str(tmp_path / "out"))
    stack = cdk.Stack(app, "Bootstrapped", env=cdk.Environment(account=ACCOUNT, region=REGION))
    ecr_assets.DockerImageAsset(stack, "Image", directory=str(context))
    s3_assets.Asset(stack, "Code", path=str(context))
    cdk.CfnWaitConditionHandle(stack, "Something")  # a template needs one resource
    app.synth()
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    required = set()

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "requiresBootstrapStackVersion":
                    required.add(int(value))
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(manifest)
    assert required, "the synthesizer no longer states a bootstrap version: update the doctor"
    # Not lower (the deploy would fail), not higher (the doctor would ask for needless upgrades).
    assert max(required) == doctor.MIN_BOOTSTRAP_VERSION


def test_troubleshooting_documents_every_problem_and_fix() -> None:
    text = (REPO / "docs" / "troubleshooting.md").read_text()
    assert "## Preflight: make doctor" in text
    for needle in (
        "PROBLEM credentials: no AWS credentials found",
        "AWS credentials expired",
        "AWS SSO sign-in expired or missing",
        "AWS rejected the credentials",
        "cdk.json deploys to account",
        "PROBLEM region: no AWS region",
        "CDK bootstrap stack CDKToolkit not found",
        "is version",
        "was bootstrapped with qualifier",
        "UPDATE_ROLLBACK_FAILED",
        "cannot read stack CDKToolkit",
        "`docker` not found on PATH",
        "the Docker daemon does not answer",
        "`docker buildx` does not work",
        "cannot build linux/arm64",
        "lists no platforms",
        "does not answer in",
        "refused ListGateways",
        "npx cdk bootstrap aws://",
        "tonistiigi/binfmt --install arm64",
        "sudo systemctl start docker",
        "aws sso login",
        "the app reserves 5",
        "Lambda keeps 100 unreserved",
        "L-B99A9384",
        "cannot read the Lambda account settings",
        "does not offer 2 resource types the app uses",
        "cannot read the CloudFormation registry",
        "no synthesized templates",
        "console.amazonaws.cn",
        "make bootstrap",
    ):
        assert needle in text, needle
