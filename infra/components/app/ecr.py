"""The app's image repository: scanned on push, immutable tags, KMS-encrypted, pruned."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.components.app.args import EcrArgs
from infra.components.kms import encryption_key
from infra.naming import stack_name


def lifecycle_policy(args: EcrArgs) -> dict[str, Any]:
    """Expire untagged images after a few days, and keep only the newest tagged ones.

    The untagged rule comes first (lower priority number): ECR requires a rule matching
    ``any`` or ``tagged`` with a wildcard to be evaluated after narrower rules.
    """
    return {
        "rules": [
            {
                "rulePriority": 1,
                "description": f"Expire untagged images after {args.untagged_expiry_days} days",
                "selection": {
                    "tagStatus": "untagged",
                    "countType": "sinceImagePushed",
                    "countUnit": "days",
                    "countNumber": args.untagged_expiry_days,
                },
                "action": {"type": "expire"},
            },
            {
                "rulePriority": 2,
                "description": f"Keep the last {args.keep_tagged_images} tagged images",
                "selection": {
                    "tagStatus": "tagged",
                    "tagPatternList": ["*"],
                    "countType": "imageCountMoreThan",
                    "countNumber": args.keep_tagged_images,
                },
                "action": {"type": "expire"},
            },
        ]
    }


def image_reference(repository_url: str, image: str) -> str:
    """``<repo>:<tag>``, or ``<repo>@sha256:<digest>`` when the configured image is a digest."""
    separator = "@" if image.startswith("sha256:") else ":"
    return f"{repository_url}{separator}{image}"


def image_repository(name: str, args: EcrArgs, *, parent: pulumi.Resource) -> aws.ecr.Repository:
    key = encryption_key(
        f"{name}-ecr",
        description=f"Encrypts the app images of {stack_name()}",
        alias=stack_name("app-images"),
        parent=parent,
    )
    repo = aws.ecr.Repository(
        name,
        name=stack_name("app"),
        image_tag_mutability="IMMUTABLE",  # a tag always means the image that was scanned and tested
        image_scanning_configuration={"scan_on_push": True},
        encryption_configurations=[{"encryption_type": "KMS", "kms_key": key.arn}],
        force_delete=False,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    aws.ecr.LifecyclePolicy(
        name,
        repository=repo.name,
        policy=json.dumps(lifecycle_policy(args)),
        opts=pulumi.ResourceOptions(parent=repo),
    )
    return repo


def pushed_image(repo: aws.ecr.Repository, image: str, *, parent: pulumi.Resource) -> pulumi.Output[str]:
    """The image reference, resolved only once ECR confirms the repository holds ``image``.

    ``aws.ecr.get_image`` fails when the tag or digest was never pushed, so the Jobs and
    Deployments that take this reference are never created to sit in ImagePullBackOff.
    """
    digest = image.startswith("sha256:")
    found = aws.ecr.get_image_output(
        repository_name=repo.name,
        image_digest=image if digest else None,
        image_tag=None if digest else image,
        opts=pulumi.InvokeOptions(parent=parent),
    )
    return pulumi.Output.all(repo.repository_url, found.image_digest).apply(lambda v: image_reference(v[0], image))
