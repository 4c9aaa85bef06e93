"""Policies: schema, loader with file:line errors, policy sets, and the hot-reloading registry."""

from guard.policy.errors import PolicyError, Problem
from guard.policy.loader import DEFAULT_POLICY_DIR, load_policy_file, load_policy_set
from guard.policy.model import Campaign, Policy, PolicyDoc, PolicySet
from guard.policy.registry import PolicyRegistry, PolicyWatcher, RegistryStatus, ReloadOutcome, watch_policies

__all__ = [
    "DEFAULT_POLICY_DIR",
    "Campaign",
    "Policy",
    "PolicyDoc",
    "PolicyError",
    "PolicyRegistry",
    "PolicySet",
    "PolicyWatcher",
    "Problem",
    "RegistryStatus",
    "ReloadOutcome",
    "load_policy_file",
    "load_policy_set",
    "watch_policies",
]
