"""Entry point the Pulumi CLI runs for ``pulumi preview --policy-pack infra/policies``.

Constructing a PolicyPack starts the analyzer's gRPC server and never returns, so it happens only
when this file runs as the program; everything else imports ``infra.policies.pack``.
"""

import sys
from pathlib import Path

# The CLI puts infra/policies on sys.path; the rules import each other through the `infra` package.
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

if __name__ == "__main__":
    from pulumi_policy import PolicyPack

    from infra.policies.pack import DEFAULT_ENFORCEMENT, PACK_NAME, POLICIES

    PolicyPack(PACK_NAME, policies=POLICIES, enforcement_level=DEFAULT_ENFORCEMENT)
