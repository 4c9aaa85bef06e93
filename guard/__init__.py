"""guard: compliance guardrail middleware for Chinese financial customer-facing LLMs.

The public API is small: load a policy set, build a `CustomerRecord`, call `evaluate`.
"""

from guard.native import install as _install_native

# First, before any check module is imported: their compiled builds, if they match the sources
# (see guard/native.py; pure Python otherwise).
_install_native()

from guard.engine import evaluate  # noqa: E402
from guard.policy import Policy, PolicyError, PolicySet, load_policy_file, load_policy_set  # noqa: E402
from guard.types import Action, CustomerRecord, Decision, Finding, Verdict  # noqa: E402

__all__ = [
    "Action",
    "CustomerRecord",
    "Decision",
    "Finding",
    "Policy",
    "PolicyError",
    "PolicySet",
    "Verdict",
    "evaluate",
    "load_policy_file",
    "load_policy_set",
]
__version__ = "0.1.0"
