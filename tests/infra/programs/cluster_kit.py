"""What the small Kubernetes programs share: a stack provider, an EKS cluster in moto and its provider."""

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s


def cluster() -> tuple[pulumi.ResourceOptions, pulumi.ResourceOptions]:
    """Create the cluster (a new one per run); returns the options for AWS and for Kubernetes resources."""
    provider = aws.Provider("aws", region="eu-west-1", default_tags={"tags": {"project": "webscale"}})
    aws_opts = pulumi.ResourceOptions(provider=provider)
    vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16", opts=aws_opts)
    subnets = [
        aws.ec2.Subnet(
            f"s{i}", vpc_id=vpc.id, cidr_block=f"10.0.{i}.0/24", availability_zone=f"eu-west-1{z}", opts=aws_opts
        )
        for i, z in enumerate("ab")
    ]
    role = aws.iam.Role(
        "cluster",
        assume_role_policy='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole",'
        '"Principal":{"Service":"eks.amazonaws.com"}}]}',
        opts=aws_opts,
    )
    eks = aws.eks.Cluster(
        "eks", version="1.35", role_arn=role.arn, vpc_config={"subnet_ids": [s.id for s in subnets]}, opts=aws_opts
    )
    k8s_provider = k8s.Provider("k8s", kubeconfig=eks.endpoint)
    return aws_opts, pulumi.ResourceOptions(provider=k8s_provider, depends_on=[eks])


def after(opts: pulumi.ResourceOptions, *resources: pulumi.Resource) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=list(resources)))


def pod(image: str, **extra: object) -> dict:
    return {
        "serviceAccountName": "default",
        "restartPolicy": "Never",
        "containers": [{"name": "main", "image": image, **extra}],
    }
