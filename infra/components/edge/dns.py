"""ACM certificates validated through Route 53, and alias records."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws


def validated_certificate(
    name: str, *, domain: str, zone_id: str, parent: pulumi.Resource, provider: aws.Provider | None = None
) -> pulumi.Output[str]:
    """A DNS-validated certificate for ``domain``; returns its ARN once ACM has issued it.

    ``provider`` places it in another region (CloudFront only takes certificates from us-east-1).
    """
    cert = aws.acm.Certificate(
        name,
        domain_name=domain,
        validation_method="DNS",
        key_algorithm="EC_prime256v1",
        tags={"Name": domain},
        opts=pulumi.ResourceOptions(parent=parent, provider=provider),
    )
    option = cert.domain_validation_options[0]  # one name per certificate, so one record
    record = aws.route53.Record(
        f"{name}-validation",
        zone_id=zone_id,
        name=option.resource_record_name,
        type=option.resource_record_type,
        records=[option.resource_record_value],
        ttl=300,
        allow_overwrite=True,
        opts=pulumi.ResourceOptions(parent=cert),
    )
    validation = aws.acm.CertificateValidation(
        name,
        certificate_arn=cert.arn,
        validation_record_fqdns=[record.fqdn],
        opts=pulumi.ResourceOptions(parent=cert),  # children inherit the certificate's provider
    )
    return validation.certificate_arn


def alias_records(
    name: str,
    *,
    domain: str,
    zone_id: str,
    target_name: pulumi.Input[str],
    target_zone_id: pulumi.Input[str],
    parent: pulumi.Resource,
    ipv6: bool = True,
) -> None:
    """``A`` (and ``AAAA``) alias records pointing ``domain`` at a CloudFront or ELB name."""
    for record_type in ("A", "AAAA") if ipv6 else ("A",):
        aws.route53.Record(
            f"{name}-{record_type.lower()}",
            zone_id=zone_id,
            name=domain,
            type=record_type,
            aliases=[{"name": target_name, "zone_id": target_zone_id, "evaluate_target_health": False}],
            opts=pulumi.ResourceOptions(parent=parent),
        )
