"""API keys with roles (contract §7): `Authorization: Bearer KEY`; caller, auditor, admin.

Keys come from configuration. A presented key is compared with every configured key in constant
time (`hmac.compare_digest`, no early exit), so timing tells nothing about which key or prefix
matched. `admin` may do everything; `require_role("auditor")` is what the audit endpoints use.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from fastapi import Request

from guard.proxy.errors import GuardHTTPError
from guard.proxy.settings import ApiKey, Role

__all__ = ["ANONYMOUS", "KeyStore", "Principal", "authorize", "authorize_header", "require_role"]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who made the request: the key's configured name and role."""

    name: str
    role: Role


ANONYMOUS = Principal("anonymous", "admin")


class KeyStore:
    """The configured keys; `authenticate` is constant-time over all of them."""

    def __init__(self, keys: Iterable[ApiKey], *, enabled: bool = True) -> None:
        self.enabled = enabled
        self._keys = [(k.key.get_secret_value().encode(), Principal(k.name, k.role)) for k in keys]

    def __len__(self) -> int:
        return len(self._keys)

    def authenticate(self, authorization: str | None) -> Principal:
        """The principal for an `Authorization` header value; 401 when missing or unknown."""
        if not self.enabled:
            return ANONYMOUS
        if not authorization:
            raise GuardHTTPError(401, "missing API key (Authorization: Bearer KEY)", "missing_api_key", _CHALLENGE)
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise GuardHTTPError(401, "use Authorization: Bearer KEY", "invalid_api_key", _CHALLENGE)
        presented = token.strip().encode()
        found: Principal | None = None
        for key, principal in self._keys:
            if hmac.compare_digest(presented, key) and found is None:
                found = principal
        if found is None:
            raise GuardHTTPError(401, "unknown API key", "invalid_api_key", _CHALLENGE)
        return found


_CHALLENGE = {"www-authenticate": "Bearer"}


def authorize(request: Request, allowed: frozenset[str]) -> Principal:
    """The request's principal if its role is in `allowed` (or admin); else 401 / 403."""
    return authorize_header(request.app.state.keys, request.headers.get("authorization"), allowed)


def authorize_header(store: KeyStore, authorization: str | None, allowed: frozenset[str]) -> Principal:
    """`authorize` for an `Authorization` value the caller has read already."""
    principal = store.authenticate(authorization)
    if principal.role != "admin" and principal.role not in allowed:
        need = " or ".join(sorted(allowed))
        raise GuardHTTPError(403, f"this key's role ({principal.role}) may not do this; needs {need}", "forbidden")
    return principal


def require_role(*roles: Role) -> Callable[[Request], Awaitable[Principal]]:
    """A FastAPI dependency: the request's principal, 401 without a valid key, 403 for other roles.

    The app must hold a `KeyStore` in `app.state.keys`. `admin` passes every role check.
    """
    allowed = frozenset(roles)

    async def dependency(request: Request) -> Principal:
        return authorize(request, allowed)

    return dependency
