"""The architecture diagram, drawn from a stack's offline resource graph (``make docs``).

Nothing here is drawn by hand: every box is a resource (or a count of resources) the program
created, and every arrow follows a reference the program wired: CloudFront's origin to the
load balancer, the listener to its target group, the TargetGroupBinding to the Service and its
pods, the app's configuration to the data stores it names, and the KEDA triggers to the topics
each worker consumes. ``python -m infra.diagram --stack prod --out docs/architecture`` writes
``architecture.dot`` (committed, and checked to be fresh by a test), ``.svg`` and ``.png``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

from infra.offline.model import Resource, StackRun

MAIN_TYPES = {
    "aws:ec2/vpc:Vpc": "VPC",
    "aws:ec2/subnet:Subnet": "subnets",
    "aws:ec2/natGateway:NatGateway": "NAT gateways",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "VPC endpoints",
    "aws:eks/cluster:Cluster": "EKS control plane",
    "aws:eks/nodeGroup:NodeGroup": "managed node group",
    "kubernetes:helm.sh/v3:Release": "add-ons (Helm)",
    "aws:rds/instance:Instance": "PostgreSQL",
    "aws:elasticache/replicationGroup:ReplicationGroup": "Redis (ElastiCache)",
    "aws:msk/cluster:Cluster": "Kafka (MSK)",
}
"""Types each component box lists (with a count); the rest are summed up as supporting resources."""

COLOURS = {"edge": "#fdf2e9", "app": "#eaf4fb", "data": "#eef7ee", "platform": "#f4f4f4"}


def _quote(text: str) -> str:
    """A DOT string; labels may hold DOT's own ``\\n`` line breaks, so backslashes stay."""
    return '"' + text.replace('"', '\\"') + '"'


def _node_id(r: Resource) -> str:
    return _quote(f"{r.type.split(':')[-1]}/{r.name}")


def _attrs(**attrs: str) -> str:
    return "[" + ", ".join(f"{k}={_quote(v)}" for k, v in attrs.items()) + "]"


class _Dot:
    """A tiny DOT writer: enough for clusters, nodes and edges, with stable output."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.depth = 1

    def add(self, line: str) -> None:
        self.lines.append("    " * self.depth + line)

    def node(self, id_: str, label: str, **attrs: str) -> None:
        self.add(f"{id_} {_attrs(label=label, **attrs)}")

    def edge(self, a: str, b: str, label: str = "", **attrs: str) -> None:
        self.add(f"{a} -> {b} {_attrs(label=label, **attrs)}" if label or attrs else f"{a} -> {b}")

    def open(self, name: str, label: str, colour: str) -> None:
        self.add(f"subgraph {_quote('cluster_' + name)} {{")
        self.depth += 1
        self.add(f"label={_quote(label)}; style=filled; fillcolor={_quote(colour)}; color={_quote('#999999')}")

    def close(self) -> None:
        self.depth -= 1
        self.add("}")


def _component(run: StackRun, type_: str) -> Resource | None:
    found = [r for r in run.resources if r.type == type_ and r.parent and r.parent.endswith("pulumi:pulumi:Stack")]
    found = found or [r for r in run.of_type(type_)]
    return found[0] if found else None


def _summary(run: StackRun, component: Resource, shown: set[str]) -> str:
    """The "+N supporting: 6 Role, 3 Key, ..." line for what the box does not draw."""
    rest = Counter(r.type.split(":")[-1] for r in run.descendants(component) if r.urn not in shown and r.custom)
    if not rest:
        return ""
    top = ", ".join(f"{n} {t}" for t, n in sorted(rest.items(), key=lambda kv: (-kv[1], kv[0]))[:4])
    more = "" if len(rest) <= 4 else ", ..."
    return f"+{sum(rest.values())} supporting: {top}{more}"


def _counted_boxes(dot: _Dot, run: StackRun, component: Resource, prefix: str, shown: set[str]) -> None:
    """One box per main type in ``component``, with its count, plus a line for the rest."""
    kids = _by_name(list(run.descendants(component)))
    for type_, label in MAIN_TYPES.items():
        of_type = [r for r in kids if r.type == type_ and r.urn not in shown]
        if of_type:
            count = f" \N{MULTIPLICATION SIGN}{len(of_type)}" if len(of_type) > 1 else ""
            dot.node(_quote(f"{prefix}/{type_}"), f"{label}{count}")
            shown.update(r.urn for r in of_type)
    summary = _summary(run, component, shown)
    if summary:
        dot.node(_quote(f"{prefix}/rest"), summary, shape="note", fontsize="9")


def _by_name(resources: list[Resource]) -> list[Resource]:
    """Registration order varies between runs (the SDK registers from threads); names do not."""
    return sorted(resources, key=lambda r: (r.type, r.name))


def _host(url: str) -> str:
    return urlsplit(url if "://" in url else f"//{url}").hostname or ""


def render_dot(run: StackRun) -> str:
    """The diagram's DOT source for ``run``: deterministic, so a committed copy can be compared."""
    dot = _Dot()
    shown: set[str] = set()
    title = f"{run.project}/{run.stack} ({run.region}): {len(run.resources)} resources, from the offline plan"
    dot.add(f"label={_quote(title)}; labelloc=t; fontname=Helvetica; rankdir=LR; compound=true; newrank=true")
    dot.add('node [shape=box, style="rounded,filled", fillcolor=white, fontname=Helvetica, fontsize=11]')
    dot.add("edge [fontname=Helvetica, fontsize=9]")
    dot.node('"viewer"', "viewers", shape="oval")

    distribution = run.one("aws:cloudfront/distribution:Distribution")
    alb = run.one("aws:lb/loadBalancer:LoadBalancer")
    target_group = run.one("aws:lb/targetGroup:TargetGroup")
    edge = _component(run, "webscale:index:Edge")
    waf = _by_name(run.of_type("aws:wafv2/webAcl:WebAcl"))
    if edge is not None:
        dot.open("edge", f"Edge ({edge.type})", COLOURS["edge"])
    if waf:
        dot.node(_node_id(waf[0]), "WAF web ACL\\n(rate limit, managed rules)")
    dot.node(_node_id(distribution), "CloudFront distribution")
    dot.node(_node_id(alb), f"ALB ({alb.inputs.get('loadBalancerType', 'application')})")
    dot.node(_node_id(target_group), f"target group ({target_group.inputs.get('targetType', 'ip')})")
    shown.update(r.urn for r in [distribution, alb, target_group, *waf])
    if edge is not None:
        _counted_boxes(dot, run, edge, "edge", shown)
        dot.close()

    dot.edge('"viewer"', _node_id(distribution), "HTTPS")
    if waf:
        dot.edge(_node_id(waf[0]), _node_id(distribution), "filters", style="dashed", arrowhead="none")
    for origin in _origins_reaching(run, distribution, alb):
        dot.edge(_node_id(distribution), _node_id(alb), f"origin {origin} (VPC origin)")
    for listener in _by_name(run.of_type("aws:lb/listener:Listener")):
        for action in listener.inputs.get("defaultActions") or []:
            if (
                action.get("targetGroupArn") == target_group["arn"]
                and listener.inputs.get("loadBalancerArn") == alb["arn"]
            ):
                dot.edge(_node_id(alb), _node_id(target_group), f"listener :{int(listener.inputs['port'])}")

    _platform(dot, run, shown)
    workloads = _app(dot, run, target_group, shown)
    _data_tier(dot, run, workloads, shown)
    return "digraph architecture {\n" + "\n".join(dot.lines) + "\n}\n"


def _origins_reaching(run: StackRun, distribution: Resource, alb: Resource) -> list[str]:
    reached = []
    for origin in distribution.inputs.get("origins") or []:
        vpc_origin_id = (origin.get("vpcOriginConfig") or {}).get("vpcOriginId")
        for vpc_origin in _by_name(run.of_type("aws:cloudfront/vpcOrigin:VpcOrigin")):
            if vpc_origin.id == vpc_origin_id and vpc_origin.inputs["vpcOriginEndpointConfig"]["arn"] == alb["arn"]:
                reached.append(origin["originId"])
    return reached


def _platform(dot: _Dot, run: StackRun, shown: set[str]) -> None:
    for type_, name in (("webscale:index:Network", "network"), ("webscale:index:EksCluster", "eks")):
        component = _component(run, type_)
        if component is not None:
            dot.open(name, f"{component.name} ({type_})", COLOURS["platform"])
            _counted_boxes(dot, run, component, name, shown)
            dot.close()
    if _component(run, "webscale:index:Network") and _component(run, "webscale:index:EksCluster"):
        dot.edge(
            _quote("eks/aws:eks/nodeGroup:NodeGroup"),
            _quote("network/aws:ec2/subnet:Subnet"),
            "nodes in private subnets",
        )


def _app(dot: _Dot, run: StackRun, target_group: Resource, shown: set[str]) -> dict[str, Resource]:
    """The app's workloads by name, drawn with the path from the target group to the api pods."""
    app = _component(run, "webscale:index:AppDeployment")
    deployments = {r.inputs["metadata"]["name"]: r for r in run.of_type("kubernetes:apps/v1:Deployment")}
    if app is None or not deployments:
        return {}
    namespace = next(iter(deployments.values())).inputs["metadata"].get("namespace", "")
    dot.open("app", f"{app.name} ({app.type}), namespace {namespace}", COLOURS["app"])
    scalers = {
        r.inputs["spec"]["scaleTargetRef"]["name"]: r for r in run.of_type("kubernetes:keda.sh/v1alpha1:ScaledObject")
    }
    hpas = {
        r.inputs["spec"]["scaleTargetRef"]["name"]: r
        for r in run.of_type("kubernetes:autoscaling/v2:HorizontalPodAutoscaler")
    }
    for name, deployment in sorted(deployments.items()):
        scaler = "HPA on CPU" if name in hpas else "KEDA" if name in scalers else "fixed"
        dot.node(_node_id(deployment), f"{name} pods\\n({scaler})")
        shown.add(deployment.urn)
    for binding in _by_name(run.of_type("kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding")):
        service_name = binding.inputs["spec"]["serviceRef"]["name"]
        services = [
            s for s in run.of_type("kubernetes:core/v1:Service") if s.inputs["metadata"]["name"] == service_name
        ]
        if binding.inputs["spec"]["targetGroupARN"] != target_group["arn"] or not services:
            continue
        service = services[0]
        dot.node(_node_id(service), f"Service {service_name}")
        shown.update([binding.urn, service.urn])
        dot.edge(_node_id(target_group), _node_id(service), "TargetGroupBinding (pod IPs)")
        selector = service.inputs["spec"].get("selector") or {}
        for deployment in deployments.values():
            labels = deployment.inputs["spec"]["template"]["metadata"].get("labels") or {}
            if selector and selector.items() <= labels.items():
                dot.edge(_node_id(service), _node_id(deployment))
    summary = _summary(run, app, shown)
    if summary:
        dot.node('"app/rest"', summary, shape="note", fontsize="9")
    dot.close()
    return deployments


def _data_tier(dot: _Dot, run: StackRun, workloads: dict[str, Resource], shown: set[str]) -> None:
    config: dict[str, str] = {}
    for config_map in _by_name(run.of_type("kubernetes:core/v1:ConfigMap")):
        config.update(config_map.inputs.get("data") or {})
    for type_, name in (
        ("webscale:index:PostgresDatabase", "database"),
        ("webscale:index:RedisCache", "cache"),
        ("webscale:index:KafkaCluster", "kafka"),
    ):
        component = _component(run, type_)
        if component is None:
            continue
        dot.open(name, f"{component.name} ({type_})", COLOURS["data"])
        for r in _by_name(run.children(component, "aws:rds/instance:Instance")):
            role = "replica" if r.inputs.get("replicateSourceDb") else "primary"
            dot.node(_node_id(r), f"PostgreSQL {role}\\n{r.inputs.get('instanceClass', '')}")
            shown.add(r.urn)
            if role == "replica":
                primary = run.by_id("aws:rds/instance:Instance", r.inputs["replicateSourceDb"])
                dot.edge(_node_id(primary), _node_id(r), "replication", style="dashed")
        for r in _by_name(run.children(component, "aws:elasticache/replicationGroup:ReplicationGroup")):
            dot.node(_node_id(r), f"Redis ({r.inputs.get('nodeType', '')})")
            shown.add(r.urn)
        for r in _by_name(run.children(component, "aws:msk/cluster:Cluster")):
            dot.node(_node_id(r), f"MSK ({int(r.inputs.get('numberOfBrokerNodes', 0))} brokers)")
            shown.add(r.urn)
            for topic in sorted(_consumers(run)):
                dot.node(_quote(f"topic/{topic}"), f"topic {topic}", shape="cylinder")
        _counted_boxes(dot, run, component, name, shown)
        dot.close()
    if not workloads:
        return
    # Every pod reads the same ConfigMap, so the arrows leave the app's box as a whole.
    anchor = _node_id(workloads.get("api") or next(iter(workloads.values())))
    for key, value in sorted(config.items()):
        if key.endswith(("_URL", "_URLS", "_SERVERS")):
            for r in _stores_at(run, {_host(part) for part in value.split(",")}):
                dot.edge(anchor, _node_id(r), key.removeprefix("APP_").lower(), ltail="cluster_app")
    _kafka_flow(dot, run, workloads)


def _stores_at(run: StackRun, hosts: set[str]) -> list[Resource]:
    found = []
    for r in _by_name(run.of_type("aws:rds/instance:Instance")):
        if r.get("address") in hosts:
            found.append(r)
    for r in _by_name(run.of_type("aws:elasticache/replicationGroup:ReplicationGroup")):
        if r.get("primaryEndpointAddress") in hosts:
            found.append(r)
    for r in _by_name(run.of_type("aws:msk/cluster:Cluster")):
        brokers = {_host(b) for b in str(r.get("bootstrapBrokersSaslIam") or "").split(",")}
        if hosts & brokers:
            found.append(r)
    return _by_name(found)


def _consumers(run: StackRun) -> dict[str, list[str]]:
    """Topic -> the workloads consuming it, as their KEDA kafka triggers name them."""
    consumes: dict[str, list[str]] = {}
    for scaler in _by_name(run.of_type("kubernetes:keda.sh/v1alpha1:ScaledObject")):
        for trigger in scaler.inputs["spec"].get("triggers") or []:
            if trigger.get("type") == "kafka":
                consumes.setdefault(trigger["metadata"]["topic"], []).append(
                    scaler.inputs["spec"]["scaleTargetRef"]["name"]
                )
    return consumes


def _kafka_flow(dot: _Dot, run: StackRun, workloads: dict[str, Resource]) -> None:
    """The relay publishes the outbox to the topics; each worker consumes its trigger's topic."""
    relay = workloads.get("relay")
    for i, (topic, consumers) in enumerate(sorted(_consumers(run).items())):
        if relay is not None:
            label = "publishes the outbox" if i == 0 else ""
            dot.edge(_node_id(relay), _quote(f"topic/{topic}"), label, color="#1f77b4")
        for name in sorted(consumers):
            if name in workloads:
                dot.edge(_quote(f"topic/{topic}"), _node_id(workloads[name]), "consumes", color="#1f77b4")


def write(run: StackRun, out: Path) -> list[Path]:
    """``out.dot`` always; ``out.svg`` and ``out.png`` with Graphviz's ``dot``."""
    dot_file = out.with_suffix(".dot")
    dot_file.parent.mkdir(parents=True, exist_ok=True)
    dot_file.write_text(render_dot(run))
    written = [dot_file]
    for fmt in ("svg", "png"):
        target = out.with_suffix(f".{fmt}")
        subprocess.run(["dot", f"-T{fmt}", "-Gdpi=110", str(dot_file), "-o", str(target)], check=True, timeout=120)
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    from infra.offline.engine import run_stack

    parser = argparse.ArgumentParser(prog="python -m infra.diagram", description=__doc__)
    parser.add_argument("--stack", default="prod")
    parser.add_argument("--out", type=Path, default=Path("docs/architecture"), help="path without suffix")
    args = parser.parse_args(argv)
    if shutil.which("dot") is None:
        print("error: Graphviz's dot is missing: apt-get install -y graphviz", file=sys.stderr)
        return 1
    for path in write(run_stack(args.stack), args.out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
