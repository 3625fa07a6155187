"""A program that renders an IAM policy document through the provider function."""

import pulumi
import pulumi_aws as aws

doc = aws.iam.get_policy_document(
    statements=[
        aws.iam.GetPolicyDocumentStatementArgs(
            effect="Allow",
            actions=["sts:AssumeRoleWithWebIdentity"],
            principals=[
                aws.iam.GetPolicyDocumentStatementPrincipalArgs(
                    type="Federated", identifiers=["arn:aws:iam::123456789012:oidc-provider/x"]
                )
            ],
            conditions=[
                aws.iam.GetPolicyDocumentStatementConditionArgs(
                    test="StringEquals", variable="x:sub", values=["system:serviceaccount:a:b"]
                )
            ],
        )
    ]
)
pulumi.export("policy", doc.json)
