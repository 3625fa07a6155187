"""The EksCluster component: control plane, OIDC for IRSA, nodes, add-ons and a provider."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from infra.components.eks import addons, nodes
from infra.components.eks.args import EksArgs
from infra.components.eks.autoscaling_role import autoscaling_service_linked_role
from infra.components.eks.irsa import service_account_role
from infra.components.eks.kubeconfig import kubeconfig
from infra.components.eks.policies import (
    CLUSTER_ADMIN_ACCESS_POLICY,
    CLUSTER_POLICY,
    access_policy_arn,
    assume_role_by_service,
    cluster_encryption_policy,
    managed_policy_arn,
)
from infra.components.eks.security import security_groups
from infra.components.kms import encryption_key
from infra.components.network import Network
from infra.naming import stack_name


class EksCluster(pulumi.ComponentResource):
    """A private EKS cluster with managed nodes, IRSA, the usual controllers and a provider."""

    cluster_name: str
    cluster_arn: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    kubernetes_version: str
    oidc_provider_arn: pulumi.Output[str]
    oidc_issuer: pulumi.Output[str]
    """The issuer without ``https://``, as IAM condition keys spell it."""
    cluster_security_group_id: pulumi.Output[str]
    node_security_group_id: pulumi.Output[str]
    """Nodes and pods (no security groups for pods): what data stores must admit."""
    node_role_arn: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    provider: k8s.Provider
    keda_role: aws.iam.Role
    lb_controller_role: aws.iam.Role
    autoscaler_role: aws.iam.Role
    vpc_cni_role: aws.iam.Role
    keda_release: k8s.helm.v3.Release
    """KEDA (CRDs ScaledObject, TriggerAuthentication): custom resources of keda.sh wait for it."""
    lb_controller_release: k8s.helm.v3.Release
    """The Load Balancer Controller (CRD TargetGroupBinding and its webhook): elbv2.k8s.aws waits for it."""
    max_nodes: int
    """The node group's maxSize: the most nodes the cluster autoscaler may run."""

    def __init__(
        self,
        name: str,
        args: EksArgs,
        *,
        network: Network,
        cluster_name: str | None = None,
        owner_tags: Mapping[str, str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """``owner_tags``: the stack's default tags, by which it recognises an Auto Scaling
        service-linked role it created itself (see ``autoscaling_role.stack_owns_role``)."""
        super().__init__("webscale:index:EksCluster", name, None, opts)
        self.cluster_name = cluster_name or stack_name()
        self.kubernetes_version = args.kubernetes_version
        self.max_nodes = args.nodes.max_size
        invoke = pulumi.InvokeOptions(parent=self)
        partition = aws.get_partition(opts=invoke).partition
        region = aws.get_region(opts=invoke).region

        cluster_role, cluster_policy = self._cluster_role(name, partition)
        secrets_key = encryption_key(
            f"{name}-secrets",
            description=f"Envelope-encrypts the Kubernetes secrets of {self.cluster_name}",
            alias=stack_name("eks-secrets"),
            parent=self,
        )
        encryption_policy = aws.iam.RolePolicy(
            f"{name}-cluster-kms",
            role=cluster_role.id,
            policy=secrets_key.arn.apply(lambda arn: json.dumps(cluster_encryption_policy(arn))),
            opts=pulumi.ResourceOptions(parent=cluster_role),
        )
        log_group = self._log_group(name, args)
        cluster_sg, node_sg = security_groups(
            name,
            cluster_name=self.cluster_name,
            vpc_id=network.vpc_id,
            api_access_cidrs=args.api_access_cidrs if args.api_access_cidrs is not None else [network.vpc_cidr],
            parent=self,
        )

        cluster = aws.eks.Cluster(
            name,
            name=self.cluster_name,
            version=args.kubernetes_version,
            role_arn=cluster_role.arn,
            vpc_config={
                "subnet_ids": network.private_subnet_ids,
                "security_group_ids": [cluster_sg.id],
                "endpoint_private_access": True,
                "endpoint_public_access": args.endpoint_public_access,
                # EKS reads an empty list as 0.0.0.0/0, so a private endpoint sends none.
                "public_access_cidrs": args.public_access_cidrs if args.endpoint_public_access else None,
            },
            access_config={"authentication_mode": "API", "bootstrap_cluster_creator_admin_permissions": False},
            encryption_config={"provider": {"key_arn": secrets_key.arn}, "resources": ["secrets"]},
            enabled_cluster_log_types=args.log_types,
            # The managed add-ons below replace the self-managed copies EKS would install.
            bootstrap_self_managed_addons=False,
            # Leave at the end of standard support (upgrade) rather than pay for extended support.
            upgrade_policy={"support_type": "STANDARD"},
            deletion_protection=args.deletion_protection,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[log_group, encryption_policy, cluster_policy]),
        )
        self.cluster_arn = cluster.arn
        self.endpoint = cluster.endpoint
        self.cluster_security_group_id = cluster_sg.id
        self.node_security_group_id = node_sg.id

        issuer_url = cluster.identities.apply(lambda ids: ids[0]["oidcs"][0]["issuer"])
        # No thumbprint: IAM verifies EKS's OIDC endpoint against its own trusted CAs, and
        # the provider no longer requires one (a pinned thumbprint breaks on CA rotation).
        oidc = aws.iam.OpenIdConnectProvider(
            f"{name}-oidc",
            url=issuer_url,
            client_id_lists=["sts.amazonaws.com"],
            opts=pulumi.ResourceOptions(parent=cluster),
        )
        self.oidc_provider_arn = oidc.arn
        self.oidc_issuer = issuer_url.apply(lambda url: url.removeprefix("https://"))

        admin_access = self._access_entries(name, cluster, args.cluster_admins, partition)

        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(cluster.endpoint, cluster.certificate_authority).apply(
                lambda a: json.dumps(
                    kubeconfig(
                        cluster_name=self.cluster_name,
                        endpoint=a[0],
                        certificate_authority=a[1]["data"],
                        region=region,
                    )
                )
            )
        )
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            # Server-side apply: field ownership is tracked, so controllers (the HPA changing
            # replicas) and Pulumi do not fight over the same fields unnoticed.
            enable_server_side_apply=True,
            # With no implicit creator admin, the deploying role gets in through these: every
            # Kubernetes object (they all use this provider) waits for them.
            opts=pulumi.ResourceOptions(parent=self, depends_on=admin_access),
        )

        # Networking first (nodes cannot become Ready without the CNI), then nodes, then the rest.
        self.vpc_cni_role = addons.vpc_cni_role(name, partition=partition, role_for=self.service_account_role)
        addon_opts = pulumi.ResourceOptions(parent=cluster)
        early = [
            addons.eks_addon(
                name,
                "vpc-cni",
                cluster=cluster,
                args=args,
                role=self.vpc_cni_role,
                configuration=addons.VPC_CNI_CONFIGURATION,
                opts=addon_opts,
            ),
            addons.eks_addon(name, "kube-proxy", cluster=cluster, args=args, opts=addon_opts),
        ]
        node_role, node_policies = nodes.node_role(name, partition=partition, parent=self)
        self.node_role_arn = node_role.arn
        account_id = aws.get_caller_identity(opts=invoke).account_id
        autoscaling_role, autoscaling_role_created = autoscaling_service_linked_role(
            name, partition=partition, account_id=account_id, owner_tags=owner_tags or {}, parent=self
        )
        disk_key = encryption_key(
            f"{name}-node-disks",
            description=f"Encrypts the root volumes of the nodes of {self.cluster_name}",
            alias=stack_name("eks-node-disks"),
            parent=self,
            service_linked_role_arns=(autoscaling_role,),
            depends_on=autoscaling_role_created,
        )
        template = nodes.launch_template(
            name, args.nodes, node_security_group_id=node_sg.id, disk_key_arn=disk_key.arn, parent=self
        )
        group = nodes.node_group(
            name,
            args.nodes,
            cluster=cluster,
            role=node_role,
            template=template,
            subnet_ids=network.private_subnet_ids,
            depends_on=[*early, *node_policies],
            parent=self,
        )
        coredns = addons.eks_addon(
            name, "coredns", cluster=cluster, args=args, opts=pulumi.ResourceOptions(parent=cluster, depends_on=[group])
        )
        roles, releases = addons.helm_releases(
            name,
            args=args,
            cluster_name=self.cluster_name,
            region=region,
            partition=partition,
            account_id=account_id,
            vpc_id=network.vpc_id,
            role_for=self.service_account_role,
            provider=self.provider,
            depends_on=[group, coredns],
            parent=self,
        )
        self.lb_controller_role = roles["aws-load-balancer-controller"]
        self.autoscaler_role = roles["cluster-autoscaler"]
        self.keda_role = roles["keda"]
        self.keda_release = releases["keda"]
        self.lb_controller_release = releases["aws-load-balancer-controller"]

        self.register_outputs(
            {
                "cluster_name": self.cluster_name,
                "cluster_arn": self.cluster_arn,
                "endpoint": self.endpoint,
                "kubernetes_version": self.kubernetes_version,
                "oidc_provider_arn": self.oidc_provider_arn,
                "oidc_issuer": self.oidc_issuer,
                "cluster_security_group_id": self.cluster_security_group_id,
                "node_security_group_id": self.node_security_group_id,
                "node_role_arn": self.node_role_arn,
                "kubeconfig": self.kubeconfig,
                "keda_role_arn": self.keda_role.arn,
                "lb_controller_role_arn": self.lb_controller_role.arn,
            }
        )

    def service_account_role(
        self,
        name: str,
        *,
        namespace: str,
        service_account: str,
        policy_documents: Sequence[pulumi.Input[str]] | None = None,
        managed_policy_arns: Sequence[str] = (),
        opts: pulumi.ResourceOptions | None = None,
    ) -> aws.iam.Role:
        """An IRSA role for one service account of this cluster (see :func:`irsa.service_account_role`).

        Without ``opts`` the role is a child of the cluster, so it inherits its AWS provider.
        """
        return service_account_role(
            name,
            oidc_provider_arn=self.oidc_provider_arn,
            oidc_issuer=self.oidc_issuer,
            namespace=namespace,
            service_account=service_account,
            policy_documents=policy_documents,
            managed_policy_arns=managed_policy_arns,
            opts=opts or pulumi.ResourceOptions(parent=self),
        )

    def _cluster_role(self, name: str, partition: str) -> tuple[aws.iam.Role, aws.iam.RolePolicyAttachment]:
        role = aws.iam.Role(
            f"{name}-cluster",
            description="EKS control plane",
            assume_role_policy=json.dumps(assume_role_by_service("eks.amazonaws.com")),
            opts=pulumi.ResourceOptions(parent=self),
        )
        attachment = aws.iam.RolePolicyAttachment(
            f"{name}-cluster-{CLUSTER_POLICY}",
            role=role.name,
            policy_arn=managed_policy_arn(partition, CLUSTER_POLICY),
            opts=pulumi.ResourceOptions(parent=role),
        )
        return role, attachment

    def _log_group(self, name: str, args: EksArgs) -> aws.cloudwatch.LogGroup:
        """Created before the cluster: EKS would otherwise create it, unencrypted and kept forever."""
        key = encryption_key(
            f"{name}-logs",
            description=f"Encrypts the control-plane logs of {self.cluster_name}",
            alias=stack_name("eks-logs"),
            parent=self,
            for_logs=True,
        )
        return aws.cloudwatch.LogGroup(
            f"{name}-control-plane",
            name=f"/aws/eks/{self.cluster_name}/cluster",
            retention_in_days=args.log_retention_days,
            kms_key_id=key.arn,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _access_entries(
        self, name: str, cluster: aws.eks.Cluster, role_arns: dict[str, str], partition: str
    ) -> list[pulumi.Resource]:
        associations: list[pulumi.Resource] = []
        for suffix, arn in role_arns.items():
            entry = aws.eks.AccessEntry(
                f"{name}-{suffix}",
                cluster_name=cluster.name,
                principal_arn=arn,
                type="STANDARD",
                opts=pulumi.ResourceOptions(parent=cluster),
            )
            association = aws.eks.AccessPolicyAssociation(
                f"{name}-{suffix}",
                cluster_name=cluster.name,
                principal_arn=entry.principal_arn,
                policy_arn=access_policy_arn(partition, CLUSTER_ADMIN_ACCESS_POLICY),
                access_scope={"type": "cluster"},
                opts=pulumi.ResourceOptions(parent=entry),
            )
            associations.append(association)
        return associations
