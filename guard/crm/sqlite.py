"""The embedded CRM table (SQLite) and `guard crm import customers.csv|.jsonl`.

One row per customer: `customer_id` and the validated record as JSON. A lookup is a primary-key
read (tens of microseconds, page-cached), done on the event loop; the TTL cache in front of it
serves repeated customers from memory.
"""

from __future__ import annotations

import csv
import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from guard.crm.base import CrmError
from guard.types import CustomerRecord
from guard.validation import describe_validation_error

__all__ = ["CrmImportError", "SqliteRecordSource", "import_records", "read_records"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS customers (
    customer_id TEXT PRIMARY KEY,
    record      TEXT NOT NULL,
    updated_at  REAL NOT NULL
)
"""
_JSON_COLUMNS = ("coupons",)


class CrmImportError(ValueError):
    """An import file with problems; `problems` lists them as `file:line: field: reason`."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(_SCHEMA)
    return conn


class SqliteRecordSource:
    """Records from the `customers` table of a SQLite file (created if missing)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._conn = _connect(self.path)
        self._lock = threading.Lock()

    async def get(self, customer_id: str) -> CustomerRecord | None:
        try:
            with self._lock:
                row = self._conn.execute(
                    "SELECT record FROM customers WHERE customer_id = ?", (customer_id,)
                ).fetchone()
        except sqlite3.Error as exc:
            raise CrmError(f"CRM table unreadable ({type(exc).__name__})") from None
        if row is None:
            return None
        try:
            return CustomerRecord.model_validate_json(row[0])
        except ValidationError:
            raise CrmError("CRM table holds an invalid record for this customer") from None

    def is_empty(self) -> bool:
        """True while the table holds no customer (said at start: every lookup would be unknown)."""
        with self._lock:
            return self._conn.execute("SELECT 1 FROM customers LIMIT 1").fetchone() is None

    async def aclose(self) -> None:
        with self._lock:
            self._conn.close()


def _squeezed(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


# Each field of a record by its name squeezed (lower case, letters and digits only): a column
# `creditline` or `Phone` is a mistyped field, not an extra fact of the customer.
_FIELDS_SQUEEZED = {_squeezed(name): name for name in CustomerRecord.model_fields}


def _mistyped_columns(fieldnames: Iterable[str] | None) -> Iterator[str]:
    for column in fieldnames or ():
        name = column.strip()
        field = _FIELDS_SQUEEZED.get(_squeezed(name))
        if field is not None and field != name:
            yield f"column {name!r} is not a field: did you mean {field!r}? (column names are exact)"


def _csv_rows(path: Path) -> Iterator[tuple[int, Any]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        for problem in _mistyped_columns(reader.fieldnames):
            yield 1, _Invalid(problem)
        for row in reader:
            raw: dict[str, Any] = {k.strip(): v for k, v in row.items() if k and v is not None and v.strip() != ""}
            for col in _JSON_COLUMNS:
                if col in raw:
                    try:
                        raw[col] = json.loads(raw[col])
                    except json.JSONDecodeError:
                        raw[col] = _Invalid(f"{col}: not valid JSON")
            yield reader.line_num, raw


class _Invalid:
    def __init__(self, message: str) -> None:
        self.message = message


def _jsonl_rows(path: Path) -> Iterator[tuple[int, Any]]:
    with path.open(encoding="utf-8-sig") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                yield lineno, json.loads(line)
            except json.JSONDecodeError as exc:
                yield lineno, _Invalid(f"not valid JSON ({exc.msg})")


def read_records(path: str | Path) -> list[CustomerRecord]:
    """Validate every row of a `.csv` or `.jsonl` file; raise `CrmImportError` listing all problems."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        rows = _csv_rows(path)
    elif suffix in (".jsonl", ".ndjson"):
        rows = _jsonl_rows(path)
    else:
        raise CrmImportError([f"{path}: expected a .csv or .jsonl file"])
    records: list[CustomerRecord] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    try:
        for lineno, raw in rows:
            where = f"{path}:{lineno}"
            if isinstance(raw, _Invalid):
                problems.append(f"{where}: {raw.message}")
                continue
            if not isinstance(raw, dict):
                problems.append(f"{where}: not a JSON object (one customer record per line)")
                continue
            # A column that is not valid JSON is reported with whatever else is wrong in its row.
            bad = [f"{k}: not valid JSON" for k, v in raw.items() if isinstance(v, _Invalid)]
            try:
                record = CustomerRecord.model_validate({k: v for k, v in raw.items() if not isinstance(v, _Invalid)})
            except ValidationError as exc:
                bad.append(describe_validation_error(exc))
            if bad:
                problems.append(f"{where}: {'; '.join(bad)}")
                continue
            if record.customer_id in seen:
                problems.append(f"{where}: customer_id repeats line {seen[record.customer_id]}")
                continue
            seen[record.customer_id] = lineno
            records.append(record)
    except UnicodeDecodeError:
        raise CrmImportError([f"{path}:{_first_non_utf8_line(path)}: not UTF-8 text: save the file as UTF-8 "
                              "(Excel: 另存为 “CSV UTF-8（逗号分隔）”; WPS/记事本: 编码选 UTF-8)"]) from None
    except OSError as exc:
        raise CrmImportError([f"{path}: cannot read ({exc.strerror or type(exc).__name__})"]) from None
    if problems:
        raise CrmImportError(problems)
    return records


def _first_non_utf8_line(path: Path) -> int:
    """The first line of the file that is not UTF-8 (the reader's error gives an offset in the block
    it was decoding, not in the file)."""
    try:
        lines = path.read_bytes().split(b"\n")
    except OSError:
        return 1
    for number, line in enumerate(lines, start=1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            return number
    return 1


def import_records(db_path: str | Path, source: str | Path) -> int:
    """Insert or replace every record of `source` in one transaction; returns how many.

    Nothing is written unless every row is valid.
    """
    records = read_records(source)
    conn = _connect(Path(db_path))
    try:
        now = time.time()
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT OR REPLACE INTO customers (customer_id, record, updated_at) VALUES (?, ?, ?)",
            [(r.customer_id, r.model_dump_json(), now) for r in records],
        )
        conn.execute("COMMIT")
    finally:
        conn.close()
    return len(records)
