"""A program that exports a secret, which no report may print."""

import pulumi

pulumi.export("token", pulumi.Output.secret("s3cr3t-value-for-tests"))
pulumi.export("visible", "plain")
