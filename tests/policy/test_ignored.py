"""Which changes under a policy folder are not changes of the policies."""

from __future__ import annotations

import pytest

from guard.policy.ignored import ignored


@pytest.mark.parametrize(
    "path",
    [
        "/etc/guard/policies/.outbound_marketing.yaml.swp",  # vim
        "/etc/guard/policies/.outbound_marketing.yaml.swx",
        "/etc/guard/policies/outbound_marketing.yaml~",  # backup copies
        "/etc/guard/policies/.#outbound_marketing.yaml",  # Emacs' lock
        "/etc/guard/policies/outbound_marketing.yaml.___jb_tmp___",  # JetBrains' safe write
        "/etc/guard/policies/flycheck_outbound_marketing.yaml",
        "/etc/guard/policies/.DS_Store",
        "/etc/guard/policies/.git/index",  # version control and caches, at any depth
        "/etc/guard/policies/lexicons/__pycache__/x.cpython-311.pyc",
        "/etc/guard/policies/.hypothesis/examples/x",
        "/etc/guard/policies/plugin.pyc",
    ],
)
def test_editor_and_tool_files_are_ignored(path: str) -> None:
    assert ignored(path)


@pytest.mark.parametrize(
    "path",
    [
        "/etc/guard/policies/outbound_marketing.yaml",
        "/etc/guard/policies/outbound_marketing.cases.yaml",
        "/etc/guard/policies/lexicons/conduct.txt",
        "/etc/guard/policies/..data",  # a Kubernetes ConfigMap's swapped link
        "/etc/guard/policies/..2026_12_07_01/outbound_marketing.yaml",
        "/etc/guard/policies/.tmp",  # a save's temporary file: its rename is the save
        "/etc/guard/policies",
        "/srv/git-checkouts/policies/collection.yaml",  # a folder merely named like a tool's is not one
    ],
)
def test_policy_files_count(path: str) -> None:
    assert not ignored(path)
