"""Checks: one module per check, each with a typed config, all listed in `registry.REGISTRY`."""

from guard.checks.base import Check, CheckConfig, CheckInput, CheckSpec, ConfigError, PolicyContext

__all__ = ["Check", "CheckConfig", "CheckInput", "CheckSpec", "ConfigError", "PolicyContext"]
