"""The OpenAI-compatible guard proxy (contract §7): `create_app`, settings, auth, upstream."""

from __future__ import annotations

from guard.proxy.app import create_app
from guard.proxy.auth import require_role
from guard.proxy.settings import GuardSettings, load_settings

__all__ = ["GuardSettings", "create_app", "load_settings", "require_role"]
