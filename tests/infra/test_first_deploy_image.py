"""A fresh stack's repository is empty: nothing may pull from it until an image is pushed and named."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.offline.engine import load_stack_config, run_stack
from infra.offline.mocks import OfflineError

PROGRAMS = Path(__file__).parent / "programs"
WORKLOADS = ("kubernetes:batch/v1:Job", "kubernetes:apps/v1:Deployment")


def test_first_deploy_without_an_image_creates_the_repository_and_runs_nothing():
    app = {k: v for k, v in load_stack_config("dev")["webscale:app"].items() if k != "image"}
    run = run_stack("dev", {"webscale:app": app, "offline:pushedImages": {}})
    repo = run.one("aws:ecr/repository:Repository")
    assert run.outputs["appRepositoryUrl"] == repo["repositoryUrl"]
    assert run.outputs["appImage"] == ""
    assert [r.name for r in run.resources if r.type in WORKLOADS] == []
    assert [r.name for r in run.resources if r.type.startswith("kubernetes:keda.sh")] == []


def test_an_image_that_was_never_pushed_stops_the_deploy_before_any_workload():
    with pytest.raises(OfflineError) as caught:
        run_stack("dev", {"offline:pushedImages": {}})
    message = str(caught.value)
    assert "invoke aws:ecr/getImage:getImage failed: ImageNotFoundException" in message
    assert "imageTag:'0.1.0'" in message and "webscale-dev-app" in message


def test_a_workload_pulling_from_a_repository_created_in_the_same_run_fails_naming_it():
    with pytest.raises(OfflineError) as caught:
        run_stack("dev", {"offline:mistake": "unpushed"}, program=PROGRAMS / "unpushed_image.py")
    message = str(caught.value)
    assert "kubernetes:batch/v1:Job 'migrate' was rejected" in message
    assert "Job shop/migrate pulls from an ECR repository that this run creates and nothing has pushed to" in message
    assert "container main: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop:1.0.0" in message
    assert "leave webscale:app.image unset), push the image, then name it" in message


def test_a_workload_pulling_an_image_from_elsewhere_passes():
    run = run_stack("dev", {"offline:mistake": "none"}, program=PROGRAMS / "unpushed_image.py")
    assert run.one("kubernetes:batch/v1:Job").note.startswith("validated against the Kubernetes")
