"""A Secrets Manager secret with a fixed name that survives `cdk destroy` and is picked up again.

A plain `AWS::SecretsManager::Secret` with a fixed name and `RETAIN` breaks the next deploy
after a destroy: the retained secret still holds the name and `CreateSecret` answers
`ResourceExistsException`. Without `RETAIN`, a destroy would delete the credentials the
operator stored. `AdoptedSecret` is a custom resource instead that, on create and update,
adopts the named secret when it exists (restoring it if it is scheduled for deletion) and
creates it with a placeholder value otherwise; on delete it does nothing. The name stays
deterministic, so other stacks may look the secret up by name without a CloudFormation
dependency; its full ARN is available as `secret.secret_arn`.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import ArnFormat, CustomResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from mcp_constructs.deploy_checks.botocore_models import LAMBDA_DATA_PATH, staged_asset
from mcp_constructs.deploy_checks.constructs import PYTHON_RUNTIME

HANDLER_DIR = Path(__file__).resolve().parent / "adopted_secret_handler"
#: The services the handler calls: their models ship with it (AWS_DATA_PATH), whatever boto3
#: the Lambda runtime has.
HANDLER_SERVICES = ("secretsmanager",)
#: The custom resource type, as templates show it.
RESOURCE_TYPE = "Custom::LarkSecret"


class AdoptedSecret(Construct):
    """The secret `secret_name`: adopted if it exists, else created with a placeholder value.

    Never deleted by CloudFormation (the custom resource's delete is a no-op and it is
    retained). Its value never appears in a template: a new secret holds
    `{"app_id": "", "app_secret": ""}` until the operator fills it.

    Attributes:
        secret: the secret, by its full ARN (grant_read gives GetSecretValue on it alone).
        secret_name: its name.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        secret_name: str,
        description: str,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
    ) -> None:
        super().__init__(scope, id)
        stack = Stack.of(self)
        self.secret_name = secret_name
        # `-??????`: Secrets Manager appends six random characters to the name in the ARN.
        arn_pattern = stack.format_arn(
            service="secretsmanager",
            resource="secret",
            resource_name=f"{secret_name}-??????",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        log_group = logs.LogGroup(self, "Logs", retention=log_retention)
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Creates or adopts the secret {secret_name}; never deletes it",
        )
        log_group.grant_write(role)
        role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "secretsmanager:DescribeSecret",
                    "secretsmanager:CreateSecret",
                    "secretsmanager:RestoreSecret",
                ],
                resources=[arn_pattern],
            )
        )
        function = lambda_.Function(
            self,
            "Handler",
            runtime=PYTHON_RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler="index.handler",
            code=lambda_.Code.from_asset(str(staged_asset(HANDLER_DIR, HANDLER_SERVICES))),
            environment={"AWS_DATA_PATH": LAMBDA_DATA_PATH},
            role=role,
            timeout=Duration.minutes(2),
            memory_size=128,
            log_group=log_group,
            description=f"Adopts or creates the secret {secret_name} (never deletes it)",
        )
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=function.function_arn,
            resource_type=RESOURCE_TYPE,
            properties={"SecretName": secret_name, "Description": description},
            removal_policy=RemovalPolicy.RETAIN,
        )
        # Its permissions must be in place before CloudFormation calls the handler.
        self.resource.node.add_dependency(role)
        self.secret: secretsmanager.ISecret = secretsmanager.Secret.from_secret_complete_arn(
            self, "Secret", self.resource.get_att_string("Arn")
        )
