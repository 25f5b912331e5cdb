"""What a delivery holds: checksums, encodings decided per file, records counted as Spark will see them."""

from datetime import date

from databank.contracts import load_contract
from databank.landing import list_delivered

POS = load_contract("pos_transactions")
HEADER = ",".join(POS.column_names)
LINE = "L1,R1,S01001,1,sale,,2026-05-03 14:00:00,SL1,山岚冲锋衣,1,599,599,cash,,,"


def _deliver(tmp_path, name: str, content: bytes):
    folder = tmp_path / "pos_transactions" / "dt=2026-05-03"
    folder.mkdir(parents=True, exist_ok=True)
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
