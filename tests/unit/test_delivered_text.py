"""Records of delivered text as ingestion counts them: RFC 4180 CSV, line breaks, JSON documents."""

import pytest

from databank.delivered_text import is_header, text_records


@pytest.mark.parametrize(
    ("text", "records"),
    [
        ('a,b\n1,"x\ny"\n2,z\n', ["a,b", '1,"x\ny"', "2,z"]),
        ('a,b\r\n1,"x\r\ny"\r\n', ["a,b", '1,"x\r\ny"']),
        ('1,"say ""hi""\nthere",3\n', ['1,"say ""hi""\nthere",3']),
        ('1,"a, b",c\n2,"",d\n', ['1,"a, b",c', '2,"",d']),
        ('1,27" screen,c\n2,x,y\n', ['1,27" screen,c', "2,x,y"]),
        ("\ufeffa,b\n\n  \n1,2", ["a,b", "1,2"]),
    ],
    ids=["quoted-newline", "quoted-crlf", "doubled-quotes", "quoted-comma", "stray-quote", "bom-blank"],
)
def test_csv_records_follow_rfc_4180(text, records):
    assert text_records(text, "csv").records == records


def test_a_quote_left_open_at_the_end_swallows_no_record():
    found = text_records('1,ok\n2,"cut short\n3,ok\n4,ok', "csv")

    assert found.records == ["1,ok", '2,"cut short', "3,ok", "4,ok"]
    assert not found.spans_lines


def test_json_lines_are_lines_and_a_json_document_is_its_elements():
    lines = text_records('{"a":1}\r\n{"a":2}\n', "jsonl", may_be_document=True)
    document = text_records('[{"a": 1},\n {"a": "中"}]', "jsonl", may_be_document=True)

    assert (lines.records, lines.from_document) == (['{"a":1}', '{"a":2}'], False)
    assert (document.records, document.from_document) == (['{"a":1}', '{"a":"中"}'], True)


@pytest.mark.parametrize(
    ("fields", "header"),
    [
        (["b", "a", "extra"], True),
        (["a", "b", "a"], False),
        (["b"], False),
        (["x", "y"], False),
    ],
)
def test_a_header_names_distinct_columns_and_every_required_one(fields, header):
    assert is_header(fields, known=["a", "b", "c"], required=["a", "b"]) is header
