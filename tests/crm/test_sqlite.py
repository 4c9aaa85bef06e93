from __future__ import annotations

from pathlib import Path

import pytest

from guard.crm.sqlite import CrmImportError, SqliteRecordSource, import_records, read_records

CSV = """customer_id,name,gender,age,credit_line,coupons,phone,segment,branch
C1,张飞,male,35,4000,"[{""kind"": ""interest_free"", ""days"": 30}]",13812345678,repeat_loan,北京
C2,李娜,female,,,,,,
"""


async def test_csv_import_and_lookup(tmp_path: Path) -> None:
    src = tmp_path / "customers.csv"
    src.write_text(CSV, encoding="utf-8")
    assert import_records(tmp_path / "crm.db", src) == 2
    source = SqliteRecordSource(tmp_path / "crm.db")
    c1 = await source.get("C1")
    assert c1 is not None and c1.name == "张飞" and c1.age == 35 and str(c1.credit_line) == "4000"
    assert c1.coupons[0].kind == "interest_free" and c1.extra_fields() == {"branch": "北京"}
    c2 = await source.get("C2")
    assert c2 is not None and c2.credit_line is None and c2.coupons == ()
    assert await source.get("C3") is None
    await source.aclose()


async def test_jsonl_import_replaces(tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    src = tmp_path / "c.jsonl"
    src.write_text('{"customer_id": "C1", "name": "张飞", "gender": "male", "credit_line": 4000}\n\n', encoding="utf-8")
    import_records(db, src)
    src.write_text('{"customer_id": "C1", "name": "张飞", "gender": "male", "credit_line": 5000}\n', encoding="utf-8")
    import_records(db, src)
    source = SqliteRecordSource(db)
    rec = await source.get("C1")
    assert rec is not None and str(rec.credit_line) == "5000"
    await source.aclose()


@pytest.mark.parametrize(
    ("name", "text", "fragment"),
    [
        ("a.jsonl", '{"customer_id": "C1", "name": "张飞"}\n', "a.jsonl:1: gender: required field is missing"),
        ("b.jsonl", "{nope\n", "b.jsonl:1: not valid JSON"),
        ("c.csv", "customer_id,name,gender,coupons\nC1,张飞,male,[oops\n", "c.csv:2: coupons: not valid JSON"),
        (
            "d.jsonl",
            '{"customer_id": "C1", "name": "a", "gender": "male"}\n{"customer_id": "C1", "name": "b", "gender": "male"}\n',
            "d.jsonl:2: customer_id repeats line 1",
        ),
        ("e.txt", "x", "expected a .csv or .jsonl file"),
    ],
)
def test_import_problems_name_the_line_and_write_nothing(tmp_path: Path, name: str, text: str, fragment: str) -> None:
    src = tmp_path / name
    src.write_text(text, encoding="utf-8")
    with pytest.raises(CrmImportError) as err:
        import_records(tmp_path / "crm.db", src)
    assert fragment in str(err.value)
    assert "张飞" not in str(err.value)  # problems never echo record values


def test_read_records_validates_everything(tmp_path: Path) -> None:
    src = tmp_path / "c.jsonl"
    src.write_text('{"customer_id": "C1", "name": "a", "gender": "x"}\n{"customer_id": "C2"}\n', encoding="utf-8")
    with pytest.raises(CrmImportError) as err:
        read_records(src)
    assert len(err.value.problems) == 2
