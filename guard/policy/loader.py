"""Load and validate policy files, reporting every problem as file:line: field: message.

`load_policy_file` loads one file; `load_policy_set` loads a folder (every `*.yaml` directly in
it except `*.cases.yaml`), checks names are unique and exactly one policy is the default. A
version is `sha256` of the policy file, the files it `extends`, and every file its checks read, so
any edit to a lexicon, a base policy or the fallback changes it; the test-case file does not.

`extends: base.yaml` inherits `scenario`, the fallback, `max_regenerations` and `campaigns` unless
the file sets them, and merges `checks` key by key (the file's values win). Campaigns are built
at load for every combination that is active together on some day (`Policy.variants`).
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import os
import stat
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import BaseModel, ValidationError

from guard.checks.base import Check, CheckInput, ConfigError, PolicyContext
from guard.checks.registry import REGISTRY
from guard.policy import snapshot
from guard.policy.errors import PolicyError, Problem
from guard.policy.model import Campaign, Policy, PolicyDoc, PolicySet, has_append, merge_checks
from guard.policy.yamlsrc import SafeLoader, YamlDoc, parse_yaml
from guard.text.sentences import split_sentences
from guard.types import Action, CustomerRecord

__all__ = ["DEFAULT_POLICY_DIR", "load_policy_file", "load_policy_set", "merge_check_blocks", "policy_files"]


def _default_policy_dir() -> Path:
    """`policies/` beside the package in a checkout, else the copy bundled into the wheel."""
    package = Path(__file__).resolve().parent.parent
    checkout = package.parent / "policies"
    return checkout if checkout.is_dir() else package / "_policies"


DEFAULT_POLICY_DIR = _default_policy_dir()


def merge_check_blocks(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Merge `checks:` overrides (extends, campaigns) into a base `checks:` mapping.

    Where an override appends (`name+: [...]`), the base block is first expanded to its full
    settings, defaults included, so appending extends the default list rather than replacing it.
    """
    expanded = dict(base)
    for name, block in override.items():
        spec = REGISTRY.get(name)
        if spec is None or not has_append(block):
            continue
        try:
            expanded[name] = spec.config.model_validate(base.get(name) or {}).model_dump(mode="json")
        except ValidationError:
            continue  # the base block's own problems are reported where it is written
    merged: dict[str, Any] = merge_checks(expanded, override)
    return merged


def _field_names(model: type[BaseModel], seen: set[type[BaseModel]]) -> set[str]:
    """Every field name of `model` and of the models its fields hold, at any depth."""
    if model in seen:
        return set()
    seen.add(model)
    names: set[str] = set()
    for name, field in model.model_fields.items():
        names.add(field.alias or name)
        for t in (field.annotation, *get_args(field.annotation)):
            for inner in (t, *get_args(t)):
                if isinstance(inner, type) and issubclass(inner, BaseModel):
                    names |= _field_names(inner, seen)
    return names


@lru_cache(maxsize=1)
def _known_fields() -> tuple[str, ...]:
    """The field names a policy file can hold: the policy's own and every check's settings."""
    seen: set[type[BaseModel]] = set()
    names = _field_names(PolicyDoc, seen)
    for spec in REGISTRY.values():
        names |= _field_names(spec.config, seen)
    return tuple(sorted(names))


def _unknown_field(key: str | int) -> str:
    """The message for an unknown field, with the nearest known name (chnages → changes)."""
    near = difflib.get_close_matches(str(key).rstrip("+"), _known_fields(), n=1, cutoff=0.75)
    hint = f"did you mean `{near[0]}`? " if near else ""
    return f"unknown field ({hint}check the spelling; see docs/policies.md for the fields)"


def _pydantic_problems(doc: YamlDoc, exc: ValidationError, prefix: tuple[str | int, ...]) -> list[Problem]:
    out = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = tuple(p for p in err["loc"] if isinstance(p, str | int))
        # Discriminated unions add the tag to the path: drop it so the path is the file's.
        path = (*prefix, *loc)
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = _unknown_field(loc[-1] if loc else "")
        elif err["type"] == "missing":
            msg = "required field is missing"
        out.append(doc.problem(path, msg))
    return out


def _hash(main: bytes, files: dict[str, bytes]) -> str:
    # One update of the joined bytes, the same digest as one update a part: each update of 2 KiB
    # or more lets go of the GIL, and a reload on a thread beside busy ones waits up to a switch
    # interval (5 ms) to get it back each time (docs/benchmarks.md, "Proxy → twenty-second round").
    parts = [main]
    for name in sorted(files):
        parts += (b"\0" + name.encode() + b"\0", files[name])
    return hashlib.sha256(b"".join(parts)).hexdigest()[:16]


_FALLBACK_PROBE = CustomerRecord(customer_id="policy-load-probe", name="测试", gender="male")


def _check_fallback(doc: YamlDoc, pdoc: PolicyDoc, checks: tuple[Check, ...]) -> list[Problem]:
    """The fallback is released when everything else failed: it must pass the policy itself."""
    fallback = pdoc.fallback
    if fallback is None:
        return []
    where = "fallback_file" if pdoc.fallback_file is not None else "fallback"
    inp = CheckInput(fallback, _FALLBACK_PROBE, split_sentences(fallback))
    problems = []
    for check in checks:
        for f in check.run(inp):
            if f.action is not Action.WARN and not f.code.startswith("fact."):
                problems.append(doc.problem((where,), f"the fallback text itself violates {f.code}: {f.detail}"))
    return problems


def build_checks(
    doc: YamlDoc, raw_checks: dict[str, Any], ctx: PolicyContext, prefix: tuple[str | int, ...] = ("checks",)
) -> tuple[tuple[Check, ...], list[Problem]]:
    """Build every configured check in registry order; collect problems instead of stopping."""
    problems: list[Problem] = []
    for key in raw_checks:
        if key not in REGISTRY:
            known = ", ".join(REGISTRY)
            problems.append(doc.problem((*prefix, key), f"unknown check (known checks: {known})"))
    checks: list[Check] = []
    for name, spec in REGISTRY.items():
        if name not in raw_checks:
            continue
        try:
            checks.append(spec.build_from(raw_checks[name], ctx))
        except ValidationError as exc:
            problems.extend(_pydantic_problems(doc, exc, (*prefix, name)))
        except ConfigError as exc:
            problems.append(doc.problem((*prefix, name, *exc.field), exc.message))
    return tuple(checks), problems


_INHERITED = ("scenario", "max_regenerations", "campaigns")


def _parse_file(path: Path) -> tuple[bytes, YamlDoc]:
    label = str(path)
    try:
        raw = snapshot.read_bytes(path)
    except OSError as exc:
        raise PolicyError([Problem(label, None, "", f"cannot read policy file: {exc.strerror}")]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PolicyError([Problem(label, None, "", f"not UTF-8 (byte {exc.start}); save the file as UTF-8")]) from None
    doc = parse_yaml(label, text)
    if not isinstance(doc.data, dict):
        raise PolicyError([Problem(label, 1, "", "a policy file must be a mapping of fields (name:, checks:, …)")])
    return raw, doc


def _effective_data(path: Path, doc: YamlDoc, files: dict[str, bytes], chain: tuple[Path, ...]) -> dict[str, Any]:
    """The file's fields with `extends:` resolved: inherited fields filled in, `checks` merged.

    Each base file's bytes are recorded in `files` (so the version changes when a base does).
    """
    data: dict[str, Any] = dict(doc.data)
    base_name = data.pop("extends", None)
    if base_name is None:
        return data
    if not isinstance(base_name, str) or not base_name or Path(base_name).name != base_name:
        raise PolicyError([doc.problem(("extends",), "extends must name a policy file in the same folder, e.g. outbound_marketing.yaml")])
    base_path = path.parent / base_name
    if snapshot.resolve(base_path) in chain:
        raise PolicyError([doc.problem(("extends",), f"extends loops back to {base_name} (循环继承)")])
    if not snapshot.is_file(base_path):
        raise PolicyError([doc.problem(("extends",), f"base policy file not found: {base_name}")])
    base_raw, base_doc = _parse_file(base_path)
    files[f"extends:{base_name}"] = base_raw
    base = _effective_data(base_path, base_doc, files, (*chain, snapshot.resolve(base_path)))
    for key in _INHERITED:
        if key not in data and key in base:
            data[key] = base[key]
    if "fallback" not in doc.data and "fallback_file" not in doc.data:
        for key in ("fallback", "fallback_file"):  # the fallback is inherited in whichever form
            data.pop(key, None)
            if key in base:
                data[key] = base[key]
    base_checks = base.get("checks") or {}
    if "checks" in data and not isinstance(data["checks"], dict):
        return data  # let the schema report the wrong type at its line
    data["checks"] = merge_check_blocks(base_checks, data.get("checks") or {})
    return data


def _active_sets(campaigns: tuple[Campaign, ...]) -> list[tuple[str, ...]]:
    """Every distinct set of campaigns active together on some day (the sets only change at boundaries)."""
    days = {c.starts_on for c in campaigns} | {c.ends_on + dt.timedelta(days=1) for c in campaigns if c.ends_on < dt.date.max}
    out: list[tuple[str, ...]] = []
    for day in sorted(days):
        active = tuple(c.name for c in campaigns if c.active_on(day))
        if active and active not in out:
            out.append(active)
    return out


def _build_variants(
    doc: YamlDoc, pdoc: PolicyDoc, ctx: PolicyContext
) -> tuple[dict[tuple[str, ...], tuple[Check, ...]], list[Problem]]:
    """Build the checks of every campaign combination; problems point at the (last) campaign's block."""
    index = {c.name: i for i, c in enumerate(pdoc.campaigns)}
    built: dict[tuple[str, ...], tuple[Check, ...]] = {}
    problems: list[Problem] = []
    for active in _active_sets(pdoc.campaigns):
        merged: dict[str, Any] = pdoc.checks
        for name in active:
            merged = merge_check_blocks(merged, pdoc.campaigns[index[name]].checks)
        checks, found = build_checks(doc, merged, ctx, ("campaigns", index[active[-1]], "checks"))
        if not found:
            found = [
                Problem(p.file, p.line, p.field, f"during campaign {'+'.join(active)}: {p.message}")
                for p in _check_fallback(doc, pdoc, checks)
            ]
        for p in found:
            if p not in problems:
                problems.append(p)
        built[active] = checks
    return built, problems


def _read_fallback_file(
    doc: YamlDoc, data: dict[str, Any], pdoc: PolicyDoc, ctx: PolicyContext
) -> tuple[PolicyDoc, list[Problem]]:
    """Resolve `fallback_file` into `fallback` (the file becomes part of the version)."""
    if pdoc.fallback_file is None:
        return pdoc, []
    if "fallback" in data:
        return pdoc, [doc.problem(("fallback_file",), "write either fallback or fallback_file, not both")]
    try:
        text = ctx.read_text(pdoc.fallback_file, ("fallback_file",)).strip()
    except ConfigError as exc:
        return pdoc, [doc.problem(exc.field, exc.message)]
    if not text:
        return pdoc, [doc.problem(("fallback_file",), f"{pdoc.fallback_file} is empty (use fallback: null to release nothing)")]
    return pdoc.model_copy(update={"fallback": text}), []


def load_policy_file(path: str | Path) -> Policy:
    """Load one policy file; raise `PolicyError` listing every problem found."""
    with snapshot.snapshot():  # each file it reads is read once (`guard.policy.snapshot`)
        return _load_policy_file(Path(path))


def _load_policy_file(path: Path) -> Policy:
    raw, doc = _parse_file(path)
    base_files: dict[str, bytes] = {}
    data = _effective_data(path, doc, base_files, (snapshot.resolve(path),))
    try:
        pdoc = PolicyDoc.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(_pydantic_problems(doc, exc, ())) from None
    ctx = PolicyContext(path.parent, resolve=snapshot.resolve, read_bytes=snapshot.read_bytes)
    pdoc, problems = _read_fallback_file(doc, data, pdoc, ctx)
    checks, found = build_checks(doc, pdoc.checks, ctx)
    problems.extend(found)
    if not problems:
        problems.extend(_check_fallback(doc, pdoc, checks))
    variant_checks, variant_problems = _build_variants(doc, pdoc, ctx)
    problems.extend(variant_problems)
    if pdoc.cases is not None and not snapshot.is_file(path.parent / pdoc.cases):
        problems.append(doc.problem(("cases",), f"test case file not found: {pdoc.cases}"))
    if problems:
        raise PolicyError(problems)
    # The cases file is deliberately not hashed: adding a test must not change what serves.
    version = _hash(raw, {**ctx.files, **base_files})
    files = {**ctx.files, **base_files}
    variants = {
        active: Policy(pdoc.name, version, pdoc, vchecks, path, files, campaign="+".join(active))
        for active, vchecks in variant_checks.items()
    }
    return Policy(
        name=pdoc.name,
        version=version,
        doc=pdoc,
        checks=checks,
        source=path,
        files=files,
        variants=variants,
    )


def policy_files(folder: Path) -> list[Path]:
    """The policy files of a folder: `*.yaml`/`*.yml` directly in it, test-case files excluded."""
    with snapshot.snapshot():  # the load's, or one for this listing
        return sorted(
            folder / name
            for name in snapshot.list_folder(folder)
            # The name first; `is_file` takes the type the listing gave (no system call but for a link).
            if os.path.splitext(name)[1] in {".yaml", ".yml"}
            and not name.endswith((".cases.yaml", ".cases.yml"))
            and snapshot.is_file(folder / name)
        )


def _extends_target(file: Path) -> Path | None:
    """The file a policy extends, read leniently (loading reports any problem properly)."""
    try:
        data = yaml.load(snapshot.read_bytes(file).decode("utf-8-sig"), Loader=SafeLoader)  # a safe loader (libyaml's where there is one)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    base = data.get("extends") if isinstance(data, dict) else None
    return file.parent / base if isinstance(base, str) and base and Path(base).name == base else None


def _extends_depth(file: Path, limit: int, target: Callable[[Path], Path | None]) -> int:
    """How many bases stand above `file` (bases load first); a loop stops at `limit`."""
    depth, cur = 0, target(file)
    while cur is not None and depth < limit:
        depth, cur = depth + 1, target(cur)
    return depth


def load_policy_set(path: str | Path | None = None) -> PolicySet:
    """Load a policy folder (or a single file) as a set; every file is validated before any is used.

    The whole set is built from one read of each file (`guard.policy.snapshot`).
    """
    with snapshot.snapshot():
        return _load_policy_set(Path(path) if path is not None else DEFAULT_POLICY_DIR)


def _load_policy_set(root: Path) -> PolicySet:
    try:
        mode = os.stat(root).st_mode
    except (OSError, ValueError):  # missing, unreadable, or no path at all (a NUL in it): as `Path.is_file`
        mode = 0
    files = [root] if stat.S_ISREG(mode) else policy_files(root) if stat.S_ISDIR(mode) else []
    if not files:
        raise PolicyError([Problem(str(root), None, "", "no policy files found (expected *.yaml)")])
    problems: list[Problem] = []
    policies: dict[str, Policy] = {}
    failed: set[Path] = set()
    targets: dict[Path, Path | None] = {}

    def target(file: Path) -> Path | None:  # each file's YAML is read for its `extends` once
        if file not in targets:
            targets[file] = _extends_target(file)
        return targets[file]

    for file in sorted(files, key=lambda f: _extends_depth(f, len(files), target)):
        base = target(file)
        if base is not None and snapshot.resolve(base) in failed:
            # The base's own problems are reported at its lines; do not repeat them here.
            problems.append(Problem(str(file), None, "extends", f"not loaded because {base.name} has errors"))
            failed.add(snapshot.resolve(file))
            continue
        try:
            policy = load_policy_file(file)
        except PolicyError as exc:
            problems.extend(p for p in exc.problems if p not in problems)
            failed.add(snapshot.resolve(file))
            continue
        if policy.name in policies:
            other = policies[policy.name].source
            problems.append(Problem(str(file), None, "name", f"policy name {policy.name!r} is also used by {other}"))
            continue
        policies[policy.name] = policy
    problems.sort(key=lambda p: (p.file, p.line or 0))
    defaults = [p.name for p in policies.values() if p.doc.default]
    if not problems:
        if len(policies) == 1:
            defaults = list(policies)
        if len(defaults) != 1:
            problems.append(
                Problem(str(root), None, "default", f"exactly one policy must say `default: true` (found {len(defaults)})")
            )
    if problems:
        raise PolicyError(problems)
    version = hashlib.sha256("".join(f"{n}={p.version};" for n, p in sorted(policies.items())).encode()).hexdigest()[:16]
    return PolicySet(policies=policies, default=defaults[0], version=version, source=root)
