"""`databank eval identity`: OneID measured against the generator's ground truth.

Clustering quality is B-cubed over records (Bagga & Baldwin 1998): for every record that carries a
linkable identifier, precision is the share of the records in its consumer that belong to its true
person, recall the share of its person's records that landed in its consumer; both are averaged over
records. Records whose identifiers all stopped linking count as consumers of their own.
Identification rate: per feed, the share of its silver records whose consumer holds a person-level
identifier (phone, member id or account).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
from deltalake import DeltaTable

from databank.config import Settings
from databank.contracts import feeds, load_contract

PERSON_LEVEL = ("phone", "member_id", "account_id")


def _scan(settings: Settings, layer: str, name: str) -> str:
    """A DuckDB table expression over the active files of a Delta table (read through its log)."""
    files = DeltaTable(str(Path(settings.lakehouse) / layer / name)).file_uris()
    return f"read_parquet({files!r}, hive_partitioning = true, union_by_name = true)"


def evaluate_identity(settings: Settings, truth_dir: Path, day: date | None = None) -> dict:
    """Figures of the identity map as of `day` (default: the latest) against the truth in `truth_dir`."""
    con = duckdb.connect()
    con.execute(f"CREATE VIEW sightings AS SELECT * FROM {_scan(settings, 'silver', 'identifiers')}")
    con.execute(f"CREATE VIEW snapshots AS SELECT * FROM {_scan(settings, 'silver', 'identity_map')}")
    as_of = day or con.execute("SELECT max(dt) FROM snapshots").fetchall()[0][0]
    con.execute("CREATE TABLE map AS SELECT * FROM snapshots WHERE dt = ?", [as_of])
    edges = _scan(settings, "silver", "identity_edges")
    con.execute(f"CREATE TABLE edges AS SELECT src, dst FROM {edges} WHERE dt <= ?", [as_of])
    con.execute(f"CREATE VIEW truth AS SELECT * FROM read_parquet('{truth_dir / 'records.parquet'}')")
    con.execute(f"CREATE VIEW truth_ids AS SELECT * FROM read_parquet('{truth_dir / 'identifiers.parquet'}')")
    con.execute(
        """
        CREATE TABLE resolved AS
        SELECT s.feed, s.record_id,
               coalesce(min(m.one_id), 'alone:' || s.feed || ':' || s.record_id) AS one_id
        FROM sightings s
        LEFT JOIN map m ON m.node = s.identifier_type || ':' || s.identifier_hmac
        WHERE s.identifier_status = 'ok' AND s.dt <= ?
        GROUP BY s.feed, s.record_id
    """,
        [as_of],
    )
    con.execute("""
        CREATE TABLE by_person AS
        SELECT r.one_id, t.person_id FROM resolved r JOIN truth t USING (feed, record_id)
    """)
    precision, recall = _bcubed(con, "by_person", "one_id", "person_id")
    records = con.execute("SELECT count(*) FROM by_person").fetchall()[0][0]
    achievable = _against_evidence(con)
    largest = con.execute("""
        SELECT one_id, count(*) AS identifiers FROM map
        GROUP BY one_id ORDER BY identifiers DESC, one_id LIMIT 5
    """).fetchall()
    largest_person = con.execute("""
        SELECT max(n) FROM (
            SELECT person_id, count(*) AS n FROM truth_ids WHERE person_id IS NOT NULL GROUP BY ALL
        )
    """).fetchall()[0][0]
    rates = _identification_rates(con, settings, as_of)
    return {
        "as_of": str(as_of),
        "records_evaluated": int(records),
        "precision": round(precision, 5),
        "recall": round(recall, 5),
        "f1": round(2 * precision * recall / (precision + recall), 5),
        "against_evidence": achievable,
        "consumers": con.execute("SELECT count(DISTINCT one_id) FROM map").fetchall()[0][0],
        "identifiers": con.execute("SELECT count(*) FROM map").fetchall()[0][0],
        "largest_clusters": [{"one_id": o, "identifiers": n} for o, n in largest],
        "largest_true_identifier_set": largest_person,
        "identification_rate": rates,
    }


def _against_evidence(con) -> dict[str, float]:
    """B-cubed against the best clustering the evidence allows: true persons, cut where no edge joins them.

    Two identifiers of one person that never appear together on any record (directly or through a
    chain of that person's identifiers) cannot be joined by any resolver; this isolates the
    resolver's own errors from what the feeds do not say.
    """
    owner = dict(
        con.execute("""
        SELECT node, arg_max(person_id, n) FROM (
            SELECT s.identifier_type || ':' || s.identifier_hmac AS node, t.person_id, count(*) AS n
            FROM sightings s JOIN truth t USING (feed, record_id)
            WHERE s.identifier_status = 'ok' GROUP BY ALL
        ) GROUP BY node
    """).fetchall()
    )
    parent = {node: node for node in owner}

    def root(node: str) -> str:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for src, dst in con.execute("SELECT src, dst FROM edges").fetchall():
        if src in owner and dst in owner and owner[src] == owner[dst]:
            a, b = root(src), root(dst)
            if a != b:
                parent[max(a, b)] = min(a, b)
    con.execute("CREATE TABLE evidence (node VARCHAR, cluster VARCHAR)")
    con.executemany("INSERT INTO evidence VALUES (?, ?)", [(n, root(n)) for n in owner])
    con.execute("""
        CREATE TABLE by_evidence AS
        SELECT r.feed, r.record_id, any_value(r.one_id) AS one_id, min(e.cluster) AS cluster,
               any_value(t.person_id) AS person_id
        FROM resolved r
        JOIN sightings s USING (feed, record_id)
        JOIN evidence e ON e.node = s.identifier_type || ':' || s.identifier_hmac
        JOIN truth t USING (feed, record_id)
        GROUP BY ALL
    """)
    precision, recall = _bcubed(con, "by_evidence", "one_id", "cluster")
    _, best_recall = _bcubed(con, "by_evidence", "cluster", "person_id")
    return {
        "precision": round(precision, 5),
        "recall": round(recall, 5),
        "f1": round(2 * precision * recall / (precision + recall), 5),
        "best_possible_recall_against_persons": round(best_recall, 5),
    }


def _bcubed(con, table: str, predicted: str, actual: str) -> tuple[float, float]:
    """B-cubed precision and recall of the `predicted` clustering of `table`'s rows against `actual`."""
    return con.execute(f"""
        WITH cp AS (SELECT {predicted} AS c, {actual} AS p, count(*) AS n FROM {table} GROUP BY ALL),
        c AS (SELECT c, sum(n) AS n FROM cp GROUP BY ALL),
        p AS (SELECT p, sum(n) AS n FROM cp GROUP BY ALL)
        SELECT sum(cp.n * cp.n / c.n) / sum(cp.n), sum(cp.n * cp.n / p.n) / sum(cp.n)
        FROM cp JOIN c USING (c) JOIN p USING (p)
    """).fetchall()[0]


def _identification_rates(con, settings: Settings, as_of) -> dict[str, float]:
    con.execute(f"""
        CREATE TABLE known AS SELECT DISTINCT one_id FROM map
        WHERE identifier_type IN {PERSON_LEVEL!r}
    """)
    rates, totals = {}, [0, 0]
    for feed in feeds("event"):
        record_id = load_contract(feed).record_id
        total = con.execute(
            f"SELECT count(*) FROM {_scan(settings, 'silver', feed)} WHERE dt <= ?", [as_of]
        ).fetchall()[0][0]
        known = con.execute(
            f"""
            SELECT count(DISTINCT f.{record_id}) FROM {_scan(settings, "silver", feed)} f
            JOIN resolved r ON r.feed = '{feed}' AND r.record_id = f.{record_id}
            JOIN known k ON k.one_id = r.one_id
            WHERE f.dt <= ?
        """,
            [as_of],
        ).fetchall()[0][0]
        rates[feed] = round(known / total, 4) if total else 0.0
        totals[0], totals[1] = totals[0] + known, totals[1] + total
    rates["overall"] = round(totals[0] / totals[1], 4) if totals[1] else 0.0
    return rates


def write_report(figures: dict, reports: Path) -> Path:
    path = reports / "identity" / f"eval_{figures['as_of']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures, indent=2) + "\n")
    return path
