"""Key policies: who may use a key, named so that KMS and the service accept them."""

from infra.components.kms import key_policy

SLR = "arn:aws:iam::111122223333:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"


def _statements(policy: dict) -> dict[str, dict]:
    return {s["Sid"]: s for s in policy["Statement"]}


def test_service_linked_roles_are_named_as_principals_not_through_a_condition():
    """The account root only delegates to IAM, and the role's managed policy grants nothing on the key."""
    statements = _statements(key_policy("111122223333", "aws", service_linked_role_arns=(SLR,)))
    for sid in ("ServiceLinkedRolesUseKey", "ServiceLinkedRolesGrantToAwsResources"):
        statement = statements[sid]
        assert statement["Principal"] == {"AWS": [SLR]}, sid
        assert "aws:PrincipalArn" not in str(statement.get("Condition")), sid


def test_service_linked_roles_may_grant_the_key_only_to_aws_resources():
    grant = _statements(key_policy("111122223333", "aws", service_linked_role_arns=(SLR,)))[
        "ServiceLinkedRolesGrantToAwsResources"
    ]
    assert grant["Action"] == "kms:CreateGrant"
    assert grant["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}


def test_keys_without_service_linked_roles_have_no_such_statements():
    assert "ServiceLinkedRolesUseKey" not in _statements(key_policy("111122223333", "aws"))
