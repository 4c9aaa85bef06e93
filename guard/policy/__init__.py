"""Policies: schema, loader with file:line errors, and policy sets."""

from guard.policy.errors import PolicyError, Problem
from guard.policy.loader import DEFAULT_POLICY_DIR, load_policy_file, load_policy_set
from guard.policy.model import Policy, PolicyDoc, PolicySet

__all__ = [
    "DEFAULT_POLICY_DIR",
    "Policy",
    "PolicyDoc",
    "PolicyError",
    "PolicySet",
    "Problem",
    "load_policy_file",
    "load_policy_set",
]
