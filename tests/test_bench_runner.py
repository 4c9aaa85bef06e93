"""`python -m bench` (make bench): runs the benchmarks, writes the JSON summary and the plot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.__main__ import main
from bench.common import HEADLINES, CpuTicks, Headline, cpu_ticks, steal_share


def test_one_quick_benchmark_gives_a_summary_json_and_a_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, png = tmp_path / "latest.json", tmp_path / "img" / "bench.png"
    assert main(["--quick", "--only", "engine", "--json", str(out), "--plot", str(png)]) == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["benchmarks"]["engine"]["ok"] is True
    heads = report["headlines"]
    assert [h["area"] for h in heads] == ["engine", "engine"]
    for h in heads:
        assert 0 < h["p50"] <= h["p99"] and h["base_p50"] > 0 and h["baseline"] == "split_sentences only"
    assert "| engine | evaluate(), default policy, clean replies |" in report["summary_markdown"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Summary — 2 headline figures" in capsys.readouterr().out
    HEADLINES.clear()


def test_an_unknown_benchmark_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--only", "nope"])
    assert exc.value.code == 2


@pytest.mark.parametrize(
    ("h", "met"),
    [
        (Headline("a", "x", p50=1, p99=90, limit=100), True),
        (Headline("a", "x", p50=1, p99=120, limit=100), False),
        (Headline("a", "x", per_s=4000, min_per_s=5000), False),
        (Headline("a", "x", per_s=6000, min_per_s=5000), True),
        (Headline("a", "x", p50=1, p99=2), None),
        (Headline("a", "x", met=False, note="12 failed"), False),
    ],
)
def test_met_follows_the_target(h: Headline, met: bool | None) -> None:
    assert h.met is met


def test_steal_is_the_hypervisors_share_of_the_machines_cpu_time() -> None:
    # user nice system idle iowait irq softirq steal guest guest_nice
    before = cpu_ticks("cpu  100 0 20 300 5 0 5 10 40 0\ncpu0 1 2 3\n")
    after = cpu_ticks("cpu  190 0 30 370 5 0 5 40 80 0\n")
    assert before == CpuTicks(total=440, steal=10)  # guest time is inside user time: not counted twice
    assert after is not None and after.total == 640
    assert steal_share(before, after) == pytest.approx(30 / 200)
    assert steal_share(after, before) is None and steal_share(None, after) is None
    assert cpu_ticks("intr 1 2 3\n") is None and cpu_ticks("") is None


def test_the_steal_of_this_machine_can_be_read_where_there_is_a_proc_stat() -> None:
    ticks = cpu_ticks()
    if not Path("/proc/stat").exists():
        assert ticks is None
        return
    assert ticks is not None and ticks.total > 0 and 0 <= ticks.steal <= ticks.total
