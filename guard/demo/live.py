"""`guard demo`: the whole proxy on 127.0.0.1, in front of a scripted model, seen by the `openai` client.

Everything runs in this process and stops at the end, on error or Ctrl-C too: the scripted
upstream (its replies are the data in `CASES`), the guard app on the shipped policies with a
SQLite ledger and the bundled CRM table (`customers.jsonl` imported), and API keys made for the
run. Each case goes through the official client (some streamed, some not; the record looked up
by `guard.customer_id` or sent inline), then the table is printed with what each reply became,
and the run ends with `guard audit query` and `guard audit verify` on the run's ledger.
"""

from __future__ import annotations

import contextlib
import io
import secrets
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

import httpx
from openai import OpenAI
from pydantic import SecretStr

from guard.audit.ledger import open_ledger
from guard.crm.sqlite import import_records, read_records
from guard.demo.offline import display_width, render_table
from guard.proxy.app import create_app
from guard.proxy.settings import ApiKey, GuardSettings
from guard.testing.scripted_upstream import ScriptedUpstream
from guard.testing.server import serve_in_thread
from guard.types import CustomerRecord

__all__ = ["CASES", "DemoCase", "DemoResult", "DemoRow", "run_live_demo"]


@dataclass(frozen=True)
class DemoCase:
    """One scripted conversation: what the model says (attempt by attempt) and how it is sent."""

    name: str  # the scenario name (sent as the `model`)
    title: str
    customer_id: str
    replies: tuple[str, ...]  # attempt n gets replies[n]; the last one repeats
    stream: bool
    inline: bool  # send `guard.record` inline instead of `guard.customer_id`
    expect_decision: str
    expect_codes: tuple[str, ...]
    expect_regenerations: int = 0


CASES: tuple[DemoCase, ...] = (
    DemoCase(
        "correct", "正确回复", "C001",
        ("张先生您好，您的4000元额度已经审核通过了。现在借款还可以用30天免息券，需要我帮您操作吗？",),
        stream=False, inline=False, expect_decision="allow", expect_codes=(),
    ),
    DemoCase(
        "wrong_surname", "姓氏叫错", "C001",
        ("李先生您好，我是小安，您的4000元额度已经审核通过了。",),
        stream=True, inline=False, expect_decision="revise", expect_codes=("fact.name",),
    ),
    DemoCase(
        "wrong_amount_chinese", "额度写成中文且说错", "C001",
        ("张先生，您的最高可借额度是五千元，今天就能到账。",),
        stream=False, inline=True, expect_decision="revise", expect_codes=("fact.credit_line",),
    ),
    DemoCase(
        "spaced_banned_word", "敏感词中间加空格", "C003",
        ("刘先生，这款产品稳 赚不赔，您放心借。",),
        stream=True, inline=False, expect_decision="block", expect_codes=("lexicon.tier3",),
    ),
    DemoCase(
        "id_number", "读出身份证号", "C004",
        ("赵先生，跟您核对一下，您的身份证号是11010519491231002X，对吗？",),
        stream=False, inline=True, expect_decision="revise", expect_codes=("pii.id_card",),
    ),
    DemoCase(
        "long_sentence", "一句话70个字", "C003",
        ("刘先生您好。我们这次为老客户准备的专属回馈活动非常划算而且手续简单方便快捷只需要在手机上动动手指"
         "填写几项基本信息就可以马上提交申请了，您看要不要试一下？",),
        stream=True, inline=True, expect_decision="revise", expect_codes=("length.sentence",),
    ),
    DemoCase(
        "coupon_not_held", "客户没有的优惠券", "C005",
        ("欧阳女士您好，您的6000元额度可以用了，另外送您一张30天免息券。",),
        stream=False, inline=False, expect_decision="block", expect_codes=("fact.coupon",),
        expect_regenerations=2,
    ),
    DemoCase(
        "coupon_regenerated", "券说错，重写后正确", "C001",
        ("张先生您好，您的4000元额度已经审核通过了，还可以用60天免息券。",
         "张先生您好，您的4000元额度已经审核通过了，还可以用30天免息券。"),
        stream=False, inline=True, expect_decision="allow", expect_codes=(),
        expect_regenerations=1,
    ),
)


@dataclass
class DemoRow:
    """What happened to one case, read from the response and the ledger."""

    case: DemoCase
    released: str
    decision: str
    codes: list[str]
    actions: list[str]
    regenerations: int
    trace_id: str
    latency_ms: float
    corrections: list[str] = field(default_factory=list)  # what the guard told the model, per regeneration


@dataclass
class DemoResult:
    """The outcome of a run: the rows, the rendered table and the audit check."""

    rows: list[DemoRow] = field(default_factory=list)
    table: str = ""
    verify_ok: bool = False
    verify_output: str = ""
    query_output: str = ""
    workdir: Path | None = None

    @property
    def ok(self) -> bool:
        """Every case ended as expected and the ledger chain verified."""
        return self.verify_ok and all(_as_expected(r) for r in self.rows) and len(self.rows) == len(CASES)


def _as_expected(row: DemoRow) -> bool:
    c = row.case
    return (row.decision == c.expect_decision and set(c.expect_codes) <= set(row.codes)
            and row.regenerations == c.expect_regenerations)


def customers_file() -> Path:
    """The bundled sample CRM table (JSON Lines), as a real path."""
    return Path(str(resources.files("guard.demo").joinpath("customers.jsonl")))


@contextlib.contextmanager
def _workdir(path: Path | None) -> Iterator[Path]:
    if path is not None:
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="guard-demo-") as tmp:
        yield Path(tmp)


def _ask(client: OpenAI, case: DemoCase, record: CustomerRecord) -> tuple[str, dict[str, Any]]:
    """Send one case through the official client; returns the released text and `guard` info."""
    guard: dict[str, Any] = (
        {"record": record.model_dump(mode="json", exclude_none=True)} if case.inline else {"customer_id": case.customer_id}
    )
    messages: list[Any] = [{"role": "user", "content": "你好，我的额度是多少？"}]
    if not case.stream:
        resp = client.chat.completions.create(model=case.name, messages=messages, extra_body={"guard": guard})
        info = (resp.model_extra or {}).get("guard")
        return resp.choices[0].message.content or "", info if isinstance(info, dict) else {}
    text: list[str] = []
    info = {}
    with client.chat.completions.create(
        model=case.name, messages=messages, stream=True, extra_body={"guard": guard}
    ) as stream:
        for chunk in stream:
            for choice in chunk.choices:
                if choice.delta.content:
                    text.append(choice.delta.content)
            extra = (chunk.model_extra or {}).get("guard")
            if isinstance(extra, dict):
                info = extra
    return "".join(text), info


def _cli(argv: list[str]) -> tuple[int, str]:
    """Run `guard …` in this process; returns the exit status and what it printed."""
    from guard.cli import main

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
        status = main(argv)
    return status, buf.getvalue()


def _render(rows: list[DemoRow]) -> str:
    body = []
    for r in rows:
        c = r.case
        how = ("流式" if c.stream else "非流式") + " · " + ("记录内联" if c.inline else f"查CRM {c.customer_id}")
        said = c.replies[0] if len(c.replies) == 1 else f"第1次：{c.replies[0]}"
        if len(c.replies) > 1:
            for i, note in enumerate(r.corrections, start=2):
                said += f"\n↳ guard 要求重写：{note}\n第{i}次：{c.replies[min(i - 1, len(c.replies) - 1)]}"
        elif r.corrections:
            said += f"\n↳ guard 要求重写 {len(r.corrections)} 次：{r.corrections[0]}\n（模型每次都这样回答）"
        rules = "\n".join(f"{code}（{action}）" for code, action in zip(r.codes, r.actions, strict=True)) or "—"
        mark = "" if _as_expected(r) else "\n（与预期不符！）"
        decision = f"{r.decision}\n重写 {r.regenerations} 次\n{rules}{mark}"
        body.append([f"{c.title}\n{how}", said, r.released or "（无）", decision])
    return render_table(["场景 · 发送方式", "模型原话", "客户听到", "决定 · 规则（动作）"], body, [20, 34, 30, 26])


def run_live_demo(out: TextIO, *, workdir: Path | None = None, policy_path: str | None = None) -> DemoResult:
    """Run every case through a live guard; print progress, the table and the audit output to `out`."""
    result = DemoResult()
    records = {r.customer_id: r for r in read_records(customers_file())}
    caller, auditor = "sk-demo-" + secrets.token_urlsafe(18), "sk-demo-audit-" + secrets.token_urlsafe(18)
    scenarios = {c.name: list(c.replies) for c in CASES}
    started = time.perf_counter()
    with _workdir(workdir) as work:
        result.workdir = work
        ledger, crm = work / "ledger.db", work / "crm.db"
        for stale in (ledger, crm):  # a kept work folder starts fresh on every run
            for p in (stale, stale.with_name(stale.name + "-wal"), stale.with_name(stale.name + "-shm")):
                p.unlink(missing_ok=True)
        count = import_records(crm, customers_file())
        out.write(f"guard demo — 工作目录 {work}（{'保留' if workdir else '结束后删除'}）\n")
        out.write(f"  导入 CRM 样例客户 {count} 条 → {crm.name}；账本 {ledger.name}；本次运行生成调用方与审计员密钥\n")
        with ScriptedUpstream(scenarios) as upstream:
            settings = GuardSettings(
                upstream_base_url=upstream.base_url,
                upstream_retries=0,
                policy_path=policy_path,
                policy_watch=False,
                ledger=str(ledger),
                crm_source="sqlite",
                crm_sqlite_path=str(crm),
                api_keys=(ApiKey(name="demo-dialogue", key=SecretStr(caller), role="caller"),
                          ApiKey(name="demo-auditor", key=SecretStr(auditor), role="auditor")),
            )
            with serve_in_thread(create_app(settings)) as url:
                out.write(f"  模拟大模型 {upstream.base_url} · guard 代理 {url}/v1\n\n")
                out.flush()
                client = OpenAI(base_url=url + "/v1", api_key=caller, max_retries=0, timeout=30)
                for i, case in enumerate(CASES, start=1):
                    t0 = time.perf_counter()
                    released, info = _ask(client, case, records[case.customer_id])
                    ms = (time.perf_counter() - t0) * 1000
                    result.rows.append(DemoRow(
                        case, released, str(info.get("decision", "?")), list(info.get("violations") or []), [],
                        int(info.get("regenerations", 0)), str(info.get("trace_id", "")), ms,
                    ))
                    pad = " " * max(0, 20 - display_width(case.title))
                    out.write(f"  [{i}/{len(CASES)}] {case.title}{pad}{'流式  ' if case.stream else '非流式'}  →  "
                              f"{result.rows[-1].decision}（{ms:.0f} ms）\n")
                    out.flush()
                audited = httpx.get(f"{url}/v1/audit/records", headers={"authorization": f"Bearer {auditor}"}, timeout=10)
                audited.raise_for_status()
            _fill_corrections(result.rows, upstream.requests)
        _fill_actions(result.rows, ledger)
        result.table = _render(result.rows)
        out.write(f"\n{len(CASES)} 个场景经官方 openai 客户端发出，用时 {time.perf_counter() - started:.1f} s"
                  f"（审计员密钥读 /v1/audit/records：HTTP {audited.status_code}）\n")
        out.write(result.table + "\n")
        _, result.query_output = _cli(["audit", "query", "--ledger", str(ledger)])
        status, result.verify_output = _cli(["audit", "verify", "--ledger", str(ledger)])
        result.verify_ok = status == 0
        out.write(f"\n$ guard audit query --ledger {ledger}\n{result.query_output}")
        out.write(f"\n$ guard audit verify --ledger {ledger}\n{result.verify_output}")
        if workdir is None:
            out.write("\n（临时目录已删除；加 --workdir var/demo 可保留账本，之后用 guard audit … --ledger var/demo/ledger.db 查看）\n")
    return result


def _fill_corrections(rows: list[DemoRow], requests: list[dict[str, Any]]) -> None:
    """The correction messages the guard sent upstream (the last user message of each re-ask)."""
    for r in rows:
        asks = [q for q in requests if q.get("model") == r.case.name]
        for q in asks[1:]:
            last = (q.get("messages") or [{}])[-1]
            text = str(last.get("content") or "")
            r.corrections.append(text.split("\n", 1)[-1].removeprefix("1. "))


def _fill_actions(rows: list[DemoRow], ledger_path: Path) -> None:
    """Each row's rules and actions as the ledger recorded them."""
    with open_ledger(str(ledger_path), create=False) as ledger:
        by_trace = {row.trace_id: row.record() for row in ledger.rows()}
    for r in rows:
        rec = by_trace.get(r.trace_id)
        if rec is None:
            continue
        violations = rec.get("violations") or []
        r.codes = [str(v.get("code")) for v in violations]
        r.actions = [str(v.get("action")) for v in violations]

