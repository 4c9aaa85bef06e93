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


def test_a_file_that_is_not_utf8_names_its_line_and_how_to_save_it(tmp_path: Path) -> None:
    """Excel on Chinese Windows saves CSV as GBK: say where and what to do, not a Python error name."""
    src = tmp_path / "gbk.csv"
    rows = "customer_id,name,gender\n" + "".join(f"C{i},name{i},male\n" for i in range(5000)) + "C9,张飞,male\n"
    src.write_bytes(rows.encode("gbk"))  # the first 5,001 lines are ASCII: far past the reader's first block
    with pytest.raises(CrmImportError) as err:
        read_records(src)
    (problem,) = err.value.problems
    assert problem.startswith(f"{src}:5002: not UTF-8 text") and "CSV UTF-8" in problem
    assert "UnicodeDecodeError" not in problem


@pytest.mark.parametrize(("column", "field"), [("creditline", "credit_line"), ("Phone", "phone"), ("Credit-Line", "credit_line"),
                                               ("customerID", "customer_id")])
def test_a_mistyped_column_is_refused_not_stored_as_an_extra_fact(tmp_path: Path, column: str, field: str) -> None:
    src = tmp_path / "c.csv"
    header = "customer_id,name,gender" if column != "customerID" else "customerID,name,gender,customer_id"
    src.write_text(f"{header},{column if column != 'customerID' else 'x'}\nC1,张飞,male,4000\n", encoding="utf-8")
    with pytest.raises(CrmImportError) as err:
        import_records(tmp_path / "crm.db", src)
    assert f"c.csv:1: column {column!r} is not a field: did you mean {field!r}?" in str(err.value)
    assert not (tmp_path / "crm.db").exists()  # nothing was written


def test_an_unknown_column_is_still_an_extra_fact(tmp_path: Path) -> None:
    src = tmp_path / "c.csv"
    src.write_text("customer_id,name,gender,vip_level\nC1,张飞,male,3\n", encoding="utf-8")
    (record,) = read_records(src)
    assert record.model_extra == {"vip_level": "3"}


def test_every_problem_of_a_row_is_reported_with_its_bad_json(tmp_path: Path) -> None:
    src = tmp_path / "c.csv"
    src.write_text("customer_id,name,gender,age,coupons\nC1,,male,abc,[oops\n", encoding="utf-8")
    with pytest.raises(CrmImportError) as err:
        read_records(src)
    (problem,) = err.value.problems
    assert problem.startswith(f"{src}:2: coupons: not valid JSON; ")
    assert "name: required field is missing" in problem and "age: " in problem


def test_a_jsonl_line_that_is_not_an_object_says_so(tmp_path: Path) -> None:
    src = tmp_path / "c.jsonl"
    src.write_text('["C1", "张飞"]\n', encoding="utf-8")
    with pytest.raises(CrmImportError) as err:
        read_records(src)
    assert err.value.problems == [f"{src}:1: not a JSON object (one customer record per line)"]
