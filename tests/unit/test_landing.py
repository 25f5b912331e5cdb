"""What a delivery holds: checksums, encodings decided per file, records counted as Spark will see them."""

import gzip
from datetime import date

from databank.contracts import load_contract
from databank.landing import list_delivered, text_for_spark

POS = load_contract("pos_transactions")
HEADER = ",".join(POS.column_names)
LINE = "L1,R1,S01001,1,sale,,2026-05-03 14:00:00,SL1,山岚冲锋衣,1,599,599,cash,,,"


def _deliver(tmp_path, name: str, content: bytes):
    folder = tmp_path / "pos_transactions" / "dt=2026-05-03"
    (folder / name).parent.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(content)
    return {f.path.name: f for f in list_delivered(tmp_path, POS, date(2026, 5, 3))}


def test_gbk_file_is_recognised_as_gbk_and_utf8_as_utf8(tmp_path):
    text = f"{HEADER}\n{LINE}\n"
    files = _deliver(tmp_path, "a.csv", text.encode("utf-8"))
    files = _deliver(tmp_path, "b.csv", text.encode("gbk"))

    assert files["a.csv"].encoding == "utf-8"
    assert files["b.csv"].encoding == "gbk"
    assert files["a.csv"].checksum != files["b.csv"].checksum


def test_bytes_that_are_neither_utf8_nor_gbk_make_the_file_undecodable(tmp_path):
    files = _deliver(tmp_path, "c.csv", HEADER.encode() + b"\n\xff\xfe\xff\n")

    assert files["c.csv"].encoding is None
    assert files["c.csv"].problem == "undecodable"
    assert files["c.csv"].rows == 1


def test_rows_exclude_header_and_blank_lines_and_a_cut_last_line_is_kept(tmp_path):
    files = _deliver(tmp_path, "d.csv", f"{HEADER}\n{LINE}\n\n{LINE[:20]}".encode())

    assert files["d.csv"].rows == 2
    assert files["d.csv"].cut_last_line == LINE[:20]
    assert files["d.csv"].header == HEADER


def test_a_header_that_is_not_the_contract_makes_every_line_a_record_in_question(tmp_path):
    files = _deliver(tmp_path, "e.csv", f"id,when\n{LINE}\n".encode())

    assert files["e.csv"].problem == "unexpected_header"
    assert files["e.csv"].rows == 2


def test_markers_and_hidden_files_are_ignored_by_name_anywhere_under_the_day(tmp_path):
    _deliver(tmp_path, "_SUCCESS", b"")
    _deliver(tmp_path, ".a.csv.crc", b"\x00\x01")
    (tmp_path / "pos_transactions" / "dt=2026-05-03" / "_temporary").mkdir()
    files = _deliver(tmp_path, "_temporary/part-0.csv", f"{HEADER}\n{LINE}\n".encode())

    assert {name: f.problem for name, f in files.items()} == {
        "_SUCCESS": "marker",
        ".a.csv.crc": "marker",
        "part-0.csv": "marker",
    }
    assert all(f.rows is None and f.checksum is None for f in files.values())


def test_files_in_sub_folders_are_listed_and_gzip_is_read(tmp_path):
    (tmp_path / "pos_transactions" / "dt=2026-05-03" / "part-0").mkdir(parents=True)
    _deliver(tmp_path, "part-0/a.csv", f"{HEADER}\n{LINE}\n".encode())
    files = _deliver(tmp_path, "b.csv.gz", gzip.compress(f"{HEADER}\n{LINE}\n{LINE}\n".encode()))

    assert (files["a.csv"].rows, files["a.csv"].path.parent.name) == (1, "part-0")
    assert (files["b.csv.gz"].rows, files["b.csv.gz"].compression, files["b.csv.gz"].problem) == (
        2,
        "gzip",
        None,
    )


def test_a_format_the_contract_does_not_list_is_refused_and_a_broken_gzip_is_unreadable(tmp_path):
    _deliver(tmp_path, "a.xlsx", b"PK\x03\x04")
    files = _deliver(tmp_path, "b.csv.gz", b"\x1f\x8b not gzip after all")

    assert (files["a.xlsx"].problem, files["a.xlsx"].file_format, files["a.xlsx"].rows) == (
        "unsupported_format",
        None,
        None,
    )
    assert (files["b.csv.gz"].problem, files["b.csv.gz"].rows) == ("unreadable", None)


def test_a_header_in_another_order_with_an_extra_column_is_read_by_name(tmp_path):
    names = [*reversed(POS.column_names), "cashier_note"]
    files = _deliver(tmp_path, "a.csv", ("\ufeff" + ",".join(names) + "\r\n" + "x," * 16 + "y\r\n").encode())

    assert files["a.csv"].problem is None
    assert files["a.csv"].columns == tuple(names)
    assert files["a.csv"].extra_columns == ("cashier_note",)
    assert (files["a.csv"].rows, files["a.csv"].cut_last_line) == (1, None)


def test_a_header_repeated_mid_file_is_no_record_and_a_header_only_file_has_none(tmp_path):
    _deliver(tmp_path, "a.csv", f"{HEADER}\n{LINE}\n{HEADER}\n{LINE}\n".encode())
    files = _deliver(tmp_path, "b.csv", f"{HEADER}\n".encode())

    assert files["a.csv"].rows == 2
    assert (files["b.csv"].rows, files["b.csv"].problem) == (0, None)


def test_a_quoted_field_holding_a_line_break_is_one_record_read_from_a_staged_copy(tmp_path):
    record = LINE[:-1] + '"tok_1234\n5678"'
    files = _deliver(tmp_path, "a.csv", f"{HEADER}\n{record}\n{LINE}\n".encode())

    assert (files["a.csv"].rows, files["a.csv"].restaged) == (2, True)
    staged = text_for_spark(files["a.csv"]).splitlines()
    assert len(staged) == 3
    assert staged[1] == record.replace("\n", "\ue000")


def test_a_json_document_is_read_as_its_elements(tmp_path):
    orders = load_contract("online_orders")
    folder = tmp_path / "online_orders" / "dt=2026-05-03"
    folder.mkdir(parents=True)
    (folder / "orders.json").write_text('[\n  {"order_line_id": "O1"},\n  {"order_line_id": "O2"}\n]')
    (folder / "orders_lines.json").write_text('{"order_line_id": "O3"}\n{"order_line_id": "O4"}\n')

    files = {f.path.name: f for f in list_delivered(tmp_path, orders, date(2026, 5, 3))}

    assert (files["orders.json"].rows, files["orders.json"].cut_last_line) == (2, None)
    assert text_for_spark(files["orders.json"]) == '{"order_line_id":"O1"}\n{"order_line_id":"O2"}\n'
    assert (files["orders_lines.json"].rows, files["orders_lines.json"].restaged) == (2, False)


def test_names_spark_cannot_take_as_paths_are_read_from_a_staged_copy(tmp_path):
    _deliver(tmp_path, "a[1].csv", f"{HEADER}\n{LINE}\n".encode())
    files = _deliver(tmp_path, "b:1.csv", f"{HEADER}\n{LINE}\n".encode())

    assert not files["a[1].csv"].restaged  # glob characters are escaped instead
    assert files["b:1.csv"].restaged
