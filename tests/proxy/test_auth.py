from __future__ import annotations

import pytest

from guard.proxy.auth import ANONYMOUS, KeyStore
from guard.proxy.errors import GuardHTTPError
from guard.proxy.settings import ApiKey

KEYS = [ApiKey(name="svc", key="k-caller", role="caller"), ApiKey(name="aud", key="k-aud", role="auditor")]


@pytest.mark.parametrize(
    ("header", "expected"),
    [("Bearer k-caller", "svc"), ("bearer  k-aud ", "aud"), ("Bearer k-calle", None), ("Bearer k-caller2", None),
     ("Bearer ", None), ("k-caller", None), (None, None), ("", None)],
)
def test_authenticate(header: str | None, expected: str | None) -> None:
    store = KeyStore(KEYS)
    if expected is None:
        with pytest.raises(GuardHTTPError) as err:
            store.authenticate(header)
        assert err.value.status == 401
    else:
        assert store.authenticate(header).name == expected


def test_disabled_auth_is_anonymous_admin() -> None:
    assert KeyStore([], enabled=False).authenticate(None) is ANONYMOUS


def test_key_is_not_in_repr() -> None:
    assert "k-caller" not in repr(KEYS[0])
