"""Writes decisions through OtelAuditor into a ledger forever, printing each trace id once durable.

python -m tests.audit.ledger_writer LEDGER [THREADS]      threads calling `call.decision`
python -m tests.audit.ledger_writer LEDGER TASKS --async  tasks on one event loop calling
                                                          `call.decision_async` (the proxy's path)
"""

from __future__ import annotations

import asyncio
import sys
import threading

from guard.audit.auditor import OtelAuditor
from guard.audit.ledger import open_ledger
from tests.audit.records import make_record


def _ack(trace_id: str) -> None:
    sys.stdout.write(trace_id + "\n")
    sys.stdout.flush()


def _threads(auditor: OtelAuditor, threads: int) -> None:
    out_lock = threading.Lock()

    def loop() -> None:
        while True:
            with auditor.call(caller="writer", customer_id="C1", model="m", stream=False) as call:
                call.decision(make_record(call.trace_id, decision="allow"))
            with out_lock:
                _ack(call.trace_id)

    workers = [threading.Thread(target=loop, daemon=True) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


async def _tasks(auditor: OtelAuditor, tasks: int) -> None:
    async def loop() -> None:
        while True:
            with auditor.call(caller="writer", customer_id="C1", model="m", stream=False) as call:
                await call.decision_async(make_record(call.trace_id, decision="allow"))
            _ack(call.trace_id)

    await asyncio.gather(*(loop() for _ in range(tasks)))


def main() -> None:
    auditor = OtelAuditor(open_ledger(sys.argv[1]))
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    if "--async" in sys.argv[3:]:
        asyncio.run(_tasks(auditor, n))
    else:
        _threads(auditor, n)


if __name__ == "__main__":
    main()
