"""ACM certificates and their DNS validation, emulated in moto (in the provider's region)."""

from __future__ import annotations

from infra.offline.registry import Created, Ctx, translator


@translator("aws:acm/certificate:Certificate")
def certificate(ctx: Ctx) -> Created:
    acm = ctx.client("acm")
    i = ctx.inputs
    kwargs: dict[str, object] = {
        "DomainName": i["domainName"],
        "ValidationMethod": i.get("validationMethod", "DNS"),
        "Tags": ctx.tag_list(),
    }
    if i.get("subjectAlternativeNames"):
        kwargs["SubjectAlternativeNames"] = i["subjectAlternativeNames"]
    if i.get("keyAlgorithm"):
        kwargs["KeyAlgorithm"] = i["keyAlgorithm"]
    arn = acm.request_certificate(**kwargs)["CertificateArn"]
    cert = acm.describe_certificate(CertificateArn=arn)["Certificate"]
    options = [
        {
            "domainName": o["DomainName"],
            "resourceRecordName": o["ResourceRecord"]["Name"],
            "resourceRecordType": o["ResourceRecord"]["Type"],
            "resourceRecordValue": o["ResourceRecord"]["Value"],
        }
        for o in cert["DomainValidationOptions"]
    ]
    return Created(arn, {"arn": arn, "domainValidationOptions": options, "status": cert["Status"]})


@translator("aws:acm/certificateValidation:CertificateValidation")
def certificate_validation(ctx: Ctx) -> Created:
    """Checks that a validation record exists for every name on the certificate.

    moto leaves DNS-validated certificates PENDING_VALIDATION (it never resolves the records), so
    issuance itself is not emulated; what is checked is that the program wrote the right records.
    """
    arn = ctx.inputs["certificateArn"]
    cert = ctx.client("acm").describe_certificate(CertificateArn=arn)["Certificate"]
    wanted = {o["ResourceRecord"]["Name"].rstrip(".") for o in cert["DomainValidationOptions"]}
    given = {f.rstrip(".") for f in ctx.inputs.get("validationRecordFqdns") or []}
    if wanted - given:
        raise ValueError(f"no validation record for {sorted(wanted - given)} (records given: {sorted(given)})")
    return Created(
        arn,
        {"certificateArn": arn},
        note=f"validation records present; moto keeps the certificate {cert['Status']}",
    )
