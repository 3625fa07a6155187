"""Key policies: who may use a key, and that they stay valid in a brand-new account."""

from infra.components.kms import key_policy

SLR = "autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"


def _statements(policy: dict) -> dict[str, dict]:
    return {s["Sid"]: s for s in policy["Statement"]}


def test_service_linked_roles_are_named_by_condition_not_as_principals():
    """KMS rejects a principal that does not exist yet; a new account has no Auto Scaling role."""
    statements = _statements(key_policy("111122223333", "aws", service_linked_roles=(SLR,)))
    for sid in ("ServiceLinkedRolesUseKey", "ServiceLinkedRolesGrantToAwsResources"):
        statement = statements[sid]
        assert statement["Principal"] == {"AWS": "arn:aws:iam::111122223333:root"}, sid
        assert statement["Condition"]["ArnEquals"]["aws:PrincipalArn"] == [
            "arn:aws:iam::111122223333:role/aws-service-role/" + SLR
        ], sid


def test_service_linked_roles_may_grant_the_key_only_to_aws_resources():
    grant = _statements(key_policy("111122223333", "aws", service_linked_roles=(SLR,)))[
        "ServiceLinkedRolesGrantToAwsResources"
    ]
    assert grant["Action"] == "kms:CreateGrant"
    assert grant["Condition"]["Bool"] == {"kms:GrantIsForAWSResource": "true"}


def test_keys_without_service_linked_roles_have_no_such_statements():
    assert "ServiceLinkedRolesUseKey" not in _statements(key_policy("111122223333", "aws"))
