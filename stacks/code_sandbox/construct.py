"""CodeSandboxNetwork: where the code executor runs the policy's programs, with no way out.

- The executor attaches to isolated subnets: the VPC the stack creates has no internet
  gateway, no NAT and no VPC endpoints, so no route to AWS APIs or anywhere else (an
  existing VPC can be given in config: its subnets must be the same);
- DNS resolution is off in that VPC (``enableDnsSupport: false``): security groups cannot
  block DNS requests to the Route 53 Resolver (Amazon VPC guide, "Security group rules"),
  which would otherwise resolve any name for the program and carry data out in the queries;
- the security group allows no inbound and no outbound traffic;
- the network-interface permissions Lambda uses to attach a function here
  (``network_interface_statements``) are for the executor's role, which denies them to its
  own code (``executor.network_interface_denial``);
- rejected traffic is recorded by VPC flow logs, so an exfiltration attempt leaves a trace.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment, Annotations, ArnFormat, Stack, Token, Validations
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.config import CodeSandboxConfig
from stacks.config.code_sandbox import SUBNET_PREFIX
from stacks.lambda_plumbing import log_group
from stacks.nag import acknowledge_iam5_resource

# What Lambda does with the execution role to attach a function to a VPC (AWS Lambda guide,
# "Giving Lambda functions access to resources in an Amazon VPC"); nothing else.
ENI_ACTIONS = (
    "ec2:AssignPrivateIpAddresses",
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:UnassignPrivateIpAddresses",
)
ENI_DESCRIBE_ACTIONS = ("ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets")
CREATE_ENI_ACTION = "ec2:CreateNetworkInterface"  # the one that names subnets and security groups too
SUBNET_GROUP = "sandbox"
SUBNET_MASK = SUBNET_PREFIX
MAX_AZS = 2


class CodeSandboxNetwork(Construct):
    """Isolated subnets (created or imported) and a security group that lets nothing through."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: CodeSandboxConfig, log_retention_days: int,
        retain_logs: bool = True,
    ) -> None:
        """``retain_logs``: the environment's log-group removal policy (``log_group_removal_policy``)."""
        super().__init__(scope, construct_id)
        self.config = config
        if config.creates_vpc:
            self.vpc: ec2.IVpc = self._build_vpc(log_retention_days, retain_logs)
            self.subnets = self.vpc.select_subnets(subnet_group_name=SUBNET_GROUP).subnets
            if not config.availability_zones:
                _name_the_key_when_the_zone_lookup_fails(self, config)
        else:
            self.vpc = self._import_vpc()
            self.subnets = self.vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED).subnets
        self.security_group = ec2.SecurityGroup(
            self,
            "NoTraffic",
            vpc=self.vpc,
            description="Code sandbox functions: no inbound, no outbound",  # changing it replaces the group
            allow_all_outbound=False,  # CDK adds a rule that matches no traffic
            allow_all_ipv6_outbound=False,
        )

    def _build_vpc(self, log_retention_days: int, retain_logs: bool) -> ec2.Vpc:
        """Isolated subnets only, no resolver, rejected traffic in flow logs."""
        vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(self.config.cidr),
            # Zones given in config need no lookup (an environment with an account synthesizes offline).
            **({"availability_zones": list(self.config.availability_zones)} if self.config.availability_zones
               else {"max_azs": MAX_AZS}),
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name=SUBNET_GROUP, subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=SUBNET_MASK
                )
            ],
            restrict_default_security_group=False,  # unused by the functions; avoids a custom resource
            # No resolver at all: nothing inside needs a name (no endpoint, no route), and a
            # resolver answers every name, for free and unfiltered by the security group.
            enable_dns_support=False,
            enable_dns_hostnames=False,  # requires DNS support
        )
        # Unnamed (CloudFormation names it): a retained group never collides with a redeploy.
        flow_log_group = log_group(self, "FlowLogGroup", retention_days=log_retention_days, retain=retain_logs)
        self.flow_log = vpc.add_flow_log(
            "RejectedTraffic",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_log_group),
            traffic_type=ec2.FlowLogTrafficType.REJECT,
        )
        return vpc

    def _import_vpc(self) -> ec2.IVpc:
        """The VPC given in config: its subnets must be isolated as ours are (the owner's to ensure)."""
        assert self.config.vpc_id is not None
        vpc = ec2.Vpc.from_vpc_attributes(
            self,
            "Vpc",
            vpc_id=self.config.vpc_id,
            availability_zones=list(self.config.availability_zones),
            isolated_subnet_ids=list(self.config.subnet_ids),
        )
        Validations.of(vpc).acknowledge(
            Acknowledgment(
                id="Annotation::@aws-cdk/aws-ec2:noSubnetRouteTableId",
                reason="The functions only attach to the given subnets; nothing here reads or changes their "
                "route tables (that they have no route out is the VPC owner's to ensure)",
            )
        )
        return vpc

    def function_options(self) -> dict[str, Any]:
        """``lambda_.Function`` keyword arguments that attach a function to the sandbox network."""
        return {
            "vpc": self.vpc,
            "vpc_subnets": ec2.SubnetSelection(subnets=self.subnets),
            "security_groups": [self.security_group],
        }

    def _ec2_arn(self, resource: str, resource_name: str) -> str:
        return Stack.of(self).format_arn(
            service="ec2", resource=resource, resource_name=resource_name, arn_format=ArnFormat.SLASH_RESOURCE_NAME
        )

    def _any_network_interface(self) -> str:
        return self._ec2_arn("network-interface", "*")

    def network_interface_statements(self) -> list[iam.PolicyStatement]:
        """What a role needs for Lambda to attach its function here, as tightly as IAM allows:
        CreateNetworkInterface in these subnets with this security group only; the interface
        actions on network interfaces of this account and region (Lambda creates them later,
        so their ids are unknown); the two Describe calls, which support no resource-level
        permissions. The role's own function must deny all of them to its code."""
        subnets = [self._ec2_arn("subnet", subnet.subnet_id) for subnet in self.subnets]
        return [
            iam.PolicyStatement(
                sid="CreateInterfacesInSandboxSubnets", actions=[CREATE_ENI_ACTION],
                resources=[self._any_network_interface(), *subnets,
                           self._ec2_arn("security-group", self.security_group.security_group_id)],
            ),
            iam.PolicyStatement(
                sid="ManageSandboxInterfaces", actions=sorted(set(ENI_ACTIONS) - {CREATE_ENI_ACTION}),
                resources=[self._any_network_interface()],
            ),
            iam.PolicyStatement(sid="DescribeSandboxNetwork", actions=list(ENI_DESCRIBE_ACTIONS), resources=["*"]),
        ]

    def acknowledge_network_interface_statements(self, role: iam.IRole) -> None:
        """The two wildcard resources of ``network_interface_statements``, on ``role`` only."""
        acknowledge_iam5_resource(
            role,
            self._any_network_interface(),
            "Lambda's VPC attachment: CreateNetworkInterface, DeleteNetworkInterface and the private IP "
            "assignments name network interfaces Lambda creates later, so their ids are unknown at deploy "
            "time; network interfaces of this account and region only, and denied to the function's own code "
            "(lambda:SourceFunctionArn)",
        )
        acknowledge_iam5_resource(
            role,
            "*",
            "ec2:DescribeNetworkInterfaces and ec2:DescribeSubnets support no resource-level permissions; "
            "Lambda needs them to attach the function to its isolated subnets",
        )


def pin_stack_zones(stack: Stack, config: CodeSandboxConfig) -> None:
    """Zones given in config are the stack's zones: set as the stack's own lookup context, so CDK
    (which checks a VPC's zones against the stack's) never looks them up in the account. Call before
    the stack has children (``node.set_context``)."""
    if config.availability_zones and not (Token.is_unresolved(stack.account) or Token.is_unresolved(stack.region)):
        stack.node.set_context(f"availability-zones:account={stack.account}:region={stack.region}",
                               list(config.availability_zones))


def _name_the_key_when_the_zone_lookup_fails(scope: Construct, config: CodeSandboxConfig) -> None:
    """CDK looks up the zones of an environment with an account (``cdk synth`` with credentials,
    cached in cdk.context.json). Without credentials the CLI's lookup fails with an error that
    names no setting: add one that names the key that avoids the lookup."""
    stack = Stack.of(scope)
    if Token.is_unresolved(stack.account) or Token.is_unresolved(stack.region):
        return  # an environment-agnostic stack: CloudFormation picks the zones (Fn::GetAZs)
    value = scope.node.try_get_context(f"availability-zones:account={stack.account}:region={stack.region}")
    if isinstance(value, dict) and "$providerError" in value:
        Annotations.of(scope).add_error(
            f"{config.path}.availability_zones: CDK could not look up the availability zones of account "
            f"{stack.account} in {stack.region} (no AWS credentials?); set it to the zones for the code sandbox's "
            f"subnets, e.g. ['{stack.region}a', '{stack.region}b'], or synthesize once with credentials and "
            "commit cdk.context.json"
        )
