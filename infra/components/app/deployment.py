"""The AppDeployment component: the sample order pipeline on EKS, wired to its data tier.

It takes the components (cluster, database, cache, Kafka, edge), not their ids, and
creates: an ECR repository; a namespace under the ``restricted`` Pod Security Standard;
one service account with its own IRSA role per process type; the migration and topic
Jobs of the release; the API (HPA on CPU, registered in the edge's target group) and the
relay and workers (KEDA on CPU and consumer lag); PDBs and default-deny NetworkPolicies.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from infra.components.app import iam, sharding, workloads
from infra.components.app.args import AppArgs
from infra.components.app.config import app_environment
from infra.components.app.ecr import image_repository, pushed_image
from infra.components.app.keda import keda_scalers
from infra.components.app.network_policies import ANYWHERE, policies
from infra.components.app.processes import API_PORT, DEPLOYMENTS, JOBS, PROCESSES, Process
from infra.components.app.protocols import (
    CacheLike,
    ClusterLike,
    DatabaseLike,
    EdgeLike,
    IdentityLike,
    KafkaLike,
    NetworkLike,
    ShardLike,
)
from infra.components.app.topics import partitions_by_topic, replica_ceiling_problems, topic_job_env
from infra.components.cidr import plan_subnets

CONFIG_MAP = "app-config"
TOPICS_CONFIG_MAP = "app-topics"
BOOTSTRAP_CONFIG_MAP = "app-bootstrap"
PSS = "restricted"


def raw(body: Any) -> Any:
    """A Kubernetes body spelled as in YAML (camelCase keys). The SDK's typed dicts spell keys
    in snake_case but pass unknown (camelCase) keys through unchanged, which is what we want:
    the builders, the tests and ``kubectl`` all read the same spelling."""
    return body


class AppDeployment(pulumi.ComponentResource):
    """The sample app: API, outbox relay, four Kafka workers, and their migrations."""

    namespace: str
    repository_url: pulumi.Output[str]
    image: pulumi.Output[str]
    role_arns: dict[str, pulumi.Output[str]]
    """The IRSA role of each process type's service account."""

    def __init__(
        self,
        name: str,
        args: AppArgs,
        *,
        network: NetworkLike,
        cluster: ClusterLike,
        database: DatabaseLike,
        cache: CacheLike,
        kafka: KafkaLike,
        edge: EdgeLike,
        identity: IdentityLike,
        vpc_endpoints: bool,
        shards: Sequence[ShardLike] = (),
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """``database`` is the home shard; ``shards`` every shard in ring order (empty: just ``database``)."""
        super().__init__("webscale:index:AppDeployment", name, None, opts)
        # Validate against the data tier before anything exists.
        workers = [p for p in PROCESSES if p.kind == "worker"]
        maxima = {n: w.max_replicas for n, w in args.workers.by_name().items()}
        problems = replica_ceiling_problems(maxima, workers, partitions_by_topic(kafka.topics))
        if problems:
            raise ValueError("; ".join(problems))
        topic_env = topic_job_env(kafka.topics)

        self.namespace = args.namespace
        self._db_user = database.iam_database_user
        invoke = pulumi.InvokeOptions(parent=self)
        region = aws.get_region(opts=invoke).region
        account = aws.get_caller_identity(opts=invoke).account_id
        partition = aws.get_partition(opts=invoke).partition
        aws_opts = pulumi.ResourceOptions(parent=self)

        repo = image_repository(f"{name}-images", args.ecr, parent=self)
        self.repository_url = repo.repository_url
        self.role_arns = {}
        if args.image is None:
            # The first deploy: nothing can be pulled from a repository this run creates.
            pulumi.log.warn(
                "webscale:app.image is not set: the app's repository is created and nothing runs yet. "
                "Push an image to appRepositoryUrl, set webscale:app.image to its tag or digest, deploy again.",
                resource=self,
            )
            self.image = pulumi.Output.from_input("")
            self.register_outputs({"namespace": self.namespace, "repository_url": self.repository_url})
            return
        # Every pod waits for ECR to confirm the image: a missing one fails here, naming it.
        self.image = pushed_image(repo, args.image, parent=self)

        ns = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={
                "name": args.namespace,
                "labels": {f"pod-security.kubernetes.io/{mode}": PSS for mode in ("enforce", "audit", "warn")},
            },
            opts=pulumi.ResourceOptions(parent=self, provider=cluster.provider),
        )
        self._k8s = pulumi.ResourceOptions(parent=self, provider=cluster.provider, depends_on=[ns])

        # Identity: one service account and IRSA role per process type, each reaching its shards.
        all_shards: list[Any] = list(shards) or [database]
        names = [getattr(s, "shard_name", "s0") for s in all_shards]
        policy_inputs = pulumi.Output.all(
            sharding.access_inputs(all_shards),
            cache.replication_group_arn,
            cache.app_user_arn,
            kafka.cluster_arn,
            kafka.cluster_name,
        )

        policy_of = functools.partial(
            sharding.policy_json,
            names=names,
            arn_parts=(partition, region, account),
            db_user=database.iam_database_user,
        )

        self._needs: dict[str, list[pulumi.Resource]] = {}
        """What a process's pods need before they start: its account, its permissions, its config."""
        for process in PROCESSES:
            document = policy_inputs.apply(functools.partial(policy_of, process))
            role = cluster.service_account_role(
                f"{name}-{process.name}",
                namespace=args.namespace,
                service_account=process.name,
                opts=aws_opts,
            )
            # The policy is created here rather than by the helper, so pods can wait for it: a
            # Job started before its permissions exist would fail its first attempts.
            policy = aws.iam.RolePolicy(
                f"{name}-{process.name}", role=role.id, policy=document, opts=pulumi.ResourceOptions(parent=role)
            )
            self.role_arns[process.name] = role.arn
            account_ = self._service_account(name, process, role.arn, args.release)
            self._needs[process.name] = [account_, policy]

        # KEDA reads the workers' lag with its own role: describe their topics and groups only.
        aws.iam.RolePolicy(
            f"{name}-keda-msk-lag",
            role=cluster.keda_role.id,
            policy=pulumi.Output.all(kafka.cluster_arn, kafka.cluster_name).apply(
                lambda v: json.dumps(iam.keda_lag_reader_policy(v[0], workers, cluster_name=v[1]))
            ),
            opts=aws_opts,
        )

        # Configuration, from the components' outputs.
        env = pulumi.Output.all(
            database.writer_endpoint,
            pulumi.Output.all(*database.reader_endpoints),
            cache.app_user_id,
            cache.primary_endpoint,
            cache.replication_group_id,
            kafka.bootstrap_brokers_iam,
            identity.issuer,
            identity.client_id,
            sharding.endpoint_inputs(all_shards),
        ).apply(
            lambda v: (
                app_environment(
                    args,
                    region=region,
                    db_user=database.iam_database_user,
                    db_name=database.database_name,
                    db_port=database.port,
                    writer=v[0],
                    readers=v[1],
                    redis_user=v[2],
                    redis_host=v[3],
                    redis_port=cache.port,
                    redis_group_id=v[4],
                    bootstrap_brokers=v[5],
                    auth_issuer=v[6],
                    auth_client_id=v[7],
                )
                | sharding.shard_environment(names, v[8], database=database, joining=args.joining_shards)
            )
        )
        config = self._config_map(name, CONFIG_MAP, env, args.release)
        topics_config = self._config_map(name, TOPICS_CONFIG_MAP, topic_env, args.release)
        # Only the login-creating job learns where the master secret is (its role alone may read it).
        bootstrap_config = self._config_map(
            name,
            BOOTSTRAP_CONFIG_MAP,
            pulumi.Output.all(*[s.master_user_secret_arn for s in all_shards]).apply(
                lambda arns: sharding.master_secrets_environment(names, arns)
            ),
            args.release,
        )
        for process in PROCESSES:
            self._needs[process.name].append(config)
            if process.creates_topics:
                self._needs[process.name].append(topics_config)
            if process.creates_database_login:
                self._needs[process.name].append(bootstrap_config)
        config_hash = env.apply(lambda data: hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16])

        # The release's Jobs run to completion before any Deployment rolls (pulumi-kubernetes
        # waits for a Job to complete; the Deployments depend on them). The login exists before
        # any Job configured with it starts (topics reads the same ConfigMap, so it waits too).
        jobs: dict[str, k8s.batch.v1.Job] = {}
        for p in JOBS:
            jobs[p.name] = self._job(name, p, args, after=[] if p.creates_database_login else [jobs["bootstrap-db"]])

        self._network_policies(name, args, network, vpc_endpoints)

        for process in DEPLOYMENTS:
            needs = [jobs["migrate"]] if process.kind == "api" else [jobs["migrate"], jobs["topics"]]
            self._deployment(name, process, args, config_hash, needs)
            k8s.policy.v1.PodDisruptionBudget(
                f"{name}-{process.name}",
                metadata=self._meta(process.name, args.release),
                spec=raw(workloads.pdb_spec(process.name)),
                opts=self._k8s,
            )

        self._api_traffic(name, args, cluster, edge)
        keda_scalers(
            name,
            args,
            keda_release=cluster.keda_release,
            bootstrap_servers=kafka.bootstrap_brokers_iam,
            region=region,
            meta=self._meta,
            after=self._after,
        )

        self.register_outputs(
            {
                "namespace": self.namespace,
                "repository_url": self.repository_url,
                "image": self.image,
                "role_arns": self.role_arns,
            }
        )

    # -- helpers ------------------------------------------------------------------------
    def _meta(self, object_name: str, release: str, **extra: Any) -> Any:
        return {
            "name": object_name,
            "namespace": self.namespace,
            "labels": workloads.labels(object_name, release),
            **extra,
        }

    def _after(self, resources: Sequence[pulumi.Resource]) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions.merge(self._k8s, pulumi.ResourceOptions(depends_on=list(resources)))

    def _service_account(
        self, name: str, process: Process, role_arn: pulumi.Output[str], release: str
    ) -> k8s.core.v1.ServiceAccount:
        return k8s.core.v1.ServiceAccount(
            f"{name}-{process.name}",
            metadata=self._meta(
                process.name,
                release,
                annotations={
                    "eks.amazonaws.com/role-arn": role_arn,
                    "eks.amazonaws.com/sts-regional-endpoints": "true",
                },
            ),
            # Pods opt in to the token explicitly (IRSA); anything else using this account gets none.
            automount_service_account_token=False,
            opts=self._k8s,
        )

    def _config_map(
        self, name: str, object_name: str, data: pulumi.Input[Mapping[str, str]], release: str
    ) -> k8s.core.v1.ConfigMap:
        return k8s.core.v1.ConfigMap(
            f"{name}-{object_name}",
            metadata=self._meta(object_name, release),
            data=raw(data),
            opts=self._k8s,
        )

    def _job(self, name: str, process: Process, args: AppArgs, *, after: Sequence[pulumi.Resource]) -> k8s.batch.v1.Job:
        config_maps = [CONFIG_MAP]
        config_maps += [TOPICS_CONFIG_MAP] if process.creates_topics else []
        config_maps += [BOOTSTRAP_CONFIG_MAP] if process.creates_database_login else []
        return k8s.batch.v1.Job(
            f"{name}-{process.name}",
            # Named for the release: a new image is a new Job, which runs once before the rollout.
            metadata=self._meta(
                f"{process.name}-{args.release}"[:63].rstrip("-"),
                args.release,
                annotations={
                    **workloads.workload_annotations(args.image_is_digest),
                    **workloads.readiness_annotations(process, self._db_user),
                },
            ),
            spec=raw(
                workloads.job_spec(
                    process,
                    args.jobs,
                    image=self.image,
                    config_maps=config_maps,
                    release=args.release,
                )
            ),
            opts=self._after([*self._needs[process.name], *after]),
        )

    def _deployment(
        self,
        name: str,
        process: Process,
        args: AppArgs,
        config_hash: pulumi.Output[str],
        needs: Sequence[pulumi.Resource],
    ) -> None:
        spec = workloads.deployment_spec(process, args, image=self.image, config_maps=[CONFIG_MAP])
        # A changed ConfigMap rolls the pods (envFrom is read only at start).
        spec["template"]["metadata"]["annotations"]["webscale/config-hash"] = config_hash
        k8s.apps.v1.Deployment(
            f"{name}-{process.name}",
            metadata=self._meta(
                process.name,
                args.release,
                annotations={
                    **workloads.workload_annotations(args.image_is_digest),
                    **workloads.readiness_annotations(process, self._db_user),
                },
            ),
            spec=raw(spec),
            opts=self._after([*self._needs[process.name], *needs]),
        )

    def _api_traffic(self, name: str, args: AppArgs, cluster: ClusterLike, edge: EdgeLike) -> None:
        api = next(p for p in PROCESSES if p.kind == "api")
        k8s.core.v1.Service(
            f"{name}-api",
            metadata=self._meta("api", args.release),
            spec=raw(workloads.service_spec(api)),
            opts=self._k8s,
        )
        k8s.autoscaling.v2.HorizontalPodAutoscaler(
            f"{name}-api",
            metadata=self._meta("api", args.release),
            spec=raw(workloads.hpa_spec("api", args.api)),
            opts=self._k8s,
        )
        k8s.apiextensions.CustomResource(
            f"{name}-api-target-group",
            api_version="elbv2.k8s.aws/v1beta1",
            kind="TargetGroupBinding",
            metadata=self._meta("api", args.release),
            spec=workloads.target_group_binding_spec("api", edge.target_group_arn),
            opts=self._after([cluster.lb_controller_release]),
        )
        # Pods share the nodes' security group (no security groups for pods), so the ALB is
        # admitted there, on the API port only.
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-alb-to-api",
            security_group_id=cluster.node_security_group_id,
            referenced_security_group_id=edge.alb_security_group_id,
            ip_protocol="tcp",
            from_port=API_PORT,
            to_port=API_PORT,
            description="ALB to the API pods (TargetGroupBinding, target type ip)",
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _network_policies(self, name: str, args: AppArgs, network: NetworkLike, vpc_endpoints: bool) -> None:
        # The data stores live in the isolated subnets; the same plan the Network used names them.
        data_cidrs = list(plan_subnets(network.vpc_cidr, len(network.availability_zones)).isolated)
        aws_api = [network.vpc_cidr] if vpc_endpoints else [ANYWHERE]
        for policy_name, spec in policies(
            PROCESSES, vpc_cidr=network.vpc_cidr, data_cidrs=data_cidrs, aws_api_cidrs=aws_api
        ).items():
            k8s.networking.v1.NetworkPolicy(
                f"{name}-{policy_name}", metadata=self._meta(policy_name, args.release), spec=raw(spec), opts=self._k8s
            )
