"""guard: compliance guardrail middleware for Chinese financial customer-facing LLMs.

The public API is small: load a policy set, build a `CustomerRecord`, call `evaluate`.
"""

from guard.engine import evaluate
from guard.policy import Policy, PolicyError, PolicySet, load_policy_file, load_policy_set
from guard.types import Action, CustomerRecord, Decision, Finding, Verdict

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
