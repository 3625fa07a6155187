"""The offline engine catches the Cognito and CloudFront mistakes AWS would reject."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.offline.engine import run_stack
from infra.offline.mocks import OfflineError

PROGRAMS = Path(__file__).parent / "programs"


@pytest.mark.parametrize(
    ("mistake", "resource", "words"),
    [
        ("mfa", "aws:cognito/userPool:UserPool 'users'", "no MFA factor"),
        ("callback", "aws:cognito/userPoolClient:UserPoolClient 'web'", "only https callback"),
        (
            "authorization",
            "aws:cloudfront/originRequestPolicy:OriginRequestPolicy 'forwards-bearer'",
            "refuses Authorization",
        ),
    ],
)
def test_a_broken_identity_program_fails_naming_the_resource(
    monkeypatch: pytest.MonkeyPatch, mistake: str, resource: str, words: str
):
    monkeypatch.setenv("PROGRAM_MISTAKE", mistake)
    with pytest.raises(OfflineError) as caught:
        run_stack("dev", program=PROGRAMS / "cognito_mistakes.py")
    message = str(caught.value)
    assert f"{resource} was rejected" in message, message
    assert words in message, message


def test_the_same_program_without_mistakes_runs(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PROGRAM_MISTAKE", "none")
    run = run_stack("dev", program=PROGRAMS / "cognito_mistakes.py")
    assert run.one("aws:cognito/userPool:UserPool").emulation == "moto"
