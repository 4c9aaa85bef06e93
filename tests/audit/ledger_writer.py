"""Writes decisions through OtelAuditor into a ledger forever, printing each trace id once durable.

python -m tests.audit.ledger_writer LEDGER [THREADS]
"""

from __future__ import annotations

import sys
import threading

from guard.audit.auditor import OtelAuditor
from guard.audit.ledger import open_ledger
from tests.audit.records import make_record


def main() -> None:
    auditor = OtelAuditor(open_ledger(sys.argv[1]))
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    out_lock = threading.Lock()

    def loop() -> None:
        while True:
            with auditor.call(caller="writer", customer_id="C1", model="m", stream=False) as call:
                call.decision(make_record(call.trace_id, decision="allow"))
            with out_lock:
                sys.stdout.write(call.trace_id + "\n")
                sys.stdout.flush()

    workers = [threading.Thread(target=loop, daemon=True) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


if __name__ == "__main__":
    main()
