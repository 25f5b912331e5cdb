"""A report export's source mapping shared by the tests of whitespace-separated fields and derived
columns: one line a purchase (` 00001 19970101  2 15.54`), fields between blanks, no ids, no unit
price."""

from __future__ import annotations

CD_REPORT = {
    "source": "cd_report",
    "feed": "online_orders",
    "files": "cd_*.txt",
    "format": "csv",
    "csv": {"separator": "whitespace"},
    "columns": {"customer": "account_id", "day": "transacted_at", "cds": "quantity", "usd": "line_amount"},
    "times": {"transacted_at": {"format": "yyyyMMdd", "zone": "America/New_York"}},
    "constants": {"platform": "website", "order_type": "sale", "line_no": "1", "sku": "cd"},
    "derived": {
        "order_line_id": {"hash_of": "record"},
        "order_id": {"hash_of": "record"},
        "unit_price": {"divide": ["line_amount", "quantity"]},
    },
}
