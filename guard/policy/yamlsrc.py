"""YAML that remembers lines: parse once, then find the line of any field path.

PyYAML silently keeps the last of two equal keys; a risk officer who pastes a block twice must be
told, so duplicate keys are problems here.
"""

from __future__ import annotations

from typing import Any

import yaml

from guard.policy.errors import Problem

__all__ = ["SafeLoader", "YamlDoc", "parse_yaml"]

# libyaml's parser where PyYAML has it (its wheels do): the same nodes, marks and data as the
# pure-Python `yaml.SafeLoader`, several times faster: a whole reload of the shipped folder went
# from 67–89 to 20–37 ms. Under load a reload's thread shares the GIL with busy ones, so its CPU
# time is paid several times over (docs/benchmarks.md, "Proxy → twenty-second round").
SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YamlDoc:
    """A parsed YAML document and its node tree, for mapping field paths to line numbers."""

    def __init__(self, file: str, data: Any, root: yaml.Node | None) -> None:
        self.file = file
        self.data = data
        self.root = root

    def line_of(self, path: tuple[str | int, ...]) -> int | None:
        """1-based line of the deepest node on `path` that exists (the parent for a missing key)."""
        node = self.root
        if node is None:
            return None
        line = node.start_mark.line + 1
        for part in path:
            nxt: yaml.Node | None = None
            if isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                        nxt = value
                        line = key.start_mark.line + 1
                        break
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
                nxt = node.value[part]
                line = nxt.start_mark.line + 1
            if nxt is None:
                return line
            node = nxt
        return line

    def problem(self, path: tuple[str | int, ...], message: str) -> Problem:
        return Problem(self.file, self.line_of(path), ".".join(str(p) for p in path), message)


def _duplicate_keys(file: str, node: yaml.Node, path: tuple[str | int, ...], out: list[Problem]) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                line = key.start_mark.line + 1
                if key.value in seen:
                    out.append(
                        Problem(
                            file,
                            line,
                            ".".join(str(p) for p in (*path, key.value)),
                            f"duplicate key (first defined on line {seen[key.value]}); remove one of them",
                        )
                    )
                else:
                    seen[key.value] = line
                _duplicate_keys(file, value, (*path, key.value), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _duplicate_keys(file, item, (*path, i), out)


def parse_yaml(file: str, text: str) -> YamlDoc:
    """Parse `text`; raise `PolicyError`-ready problems for syntax errors and duplicate keys."""
    from guard.policy.errors import PolicyError

    try:
        loader = SafeLoader(text)
        try:
            root = loader.get_single_node()
            data = loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        reason = exc.problem or exc.context or "invalid YAML"
        raise PolicyError([Problem(file, line, "", f"YAML syntax error: {reason}")]) from None
    except yaml.YAMLError as exc:
        raise PolicyError([Problem(file, None, "", f"YAML error: {exc}")]) from None
    problems: list[Problem] = []
    if root is not None:
        _duplicate_keys(file, root, (), problems)
    if problems:
        raise PolicyError(problems)
    return YamlDoc(file, data, root)
