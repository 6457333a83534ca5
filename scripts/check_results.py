"""Reads a demo root's results the way README tells data scientists to (pandas + pyarrow, and
polars) and checks them: every succeeded file has its tables and a summary written last, the
tables agree with the summary's row counts, and units are in the Parquet metadata. Then queries
the hive-style SQL tree (results/tables/<table>/version=/study=/subject=) with DuckDB, as README
shows: one table per name across subjects, equal to the per-file results.

Last, the Glue tables of cloudformation/studyflow.yaml (what Athena reads) must have exactly the
columns and types of the tables written to the SQL tree: the demo's, and those of GAIT_TABLES (a
gait run's `tables/` folder) when given.

Usage: check_results.py ROOT [GAIT_TABLES]   (exit 0 when every check holds)
"""
import glob
import json
import os
import sys

import duckdb
import pandas as pd
import polars as pl
import pyarrow.parquet as pq
import yaml

from glue_tables import expected_tables, template_tables


def main(root: str) -> int:
    results = glob.glob(os.path.join(root, "buckets/demo-study/results/biomarkers-*"))
    assert len(results) == 1, f"expected one library version under results/: {results}"
    base = results[0]
    summaries = sorted(glob.glob(f"{base}/*/*/*/summary.json"))
    assert len(summaries) == 4, f"four succeeded files expected, found {summaries}"
    for path in summaries:
        folder = os.path.dirname(path)
        summary = json.load(open(path))
        assert summary["library_version"] == os.path.basename(base).removeprefix("biomarkers-")
        for out in summary["outputs"]:
            f = os.path.join(folder, out["file"])
            assert os.path.getmtime(f) <= os.path.getmtime(path), f"{f} written after the summary"
            if out["format"] != "parquet":
                continue
            df = pd.read_parquet(f)
            assert len(df) == out["rows"], f"{f}: {len(df)} rows, summary says {out['rows']}"
            meta = pq.read_metadata(f).metadata
            units = json.loads(meta[b"studyflow.units"])
            assert all(c in df.columns for c in units), f"{f}: units for unknown columns"
    # README's snippets.
    epochs = pd.concat(
        pd.read_parquet(p).assign(path=p) for p in glob.glob(f"{base}/*/*/*/activity_epochs.parquet")
    )
    assert len(epochs) > 0 and "enmo" in epochs.columns, list(epochs.columns)
    daily = pl.read_parquet(f"{base}/*/*/*/activity_daily.parquet")
    assert daily.height > 0
    # SQL over results: DuckDB reads each table name as one table, partitions as columns.
    tables = os.path.join(root, "buckets/demo-study/results/tables")
    con = duckdb.connect()
    for name in ("activity_daily", "activity_epochs", "sleep_nights"):
        con.execute(
            f"CREATE VIEW {name} AS SELECT * FROM read_parquet("
            f"'{tables}/{name}/*/*/*/*.parquet', hive_partitioning = true, union_by_name = true)"
        )
    per_subject = con.execute(
        "SELECT subject, version, count(DISTINCT file_key) AS files, count(*) AS days, "
        "sum(n_wear_hours) AS wear_h FROM activity_daily GROUP BY ALL ORDER BY subject"
    ).fetchall()
    subjects = sorted({os.path.relpath(p, base).split(os.sep)[0] for p in summaries})
    assert [r[0] for r in per_subject] == subjects, (per_subject, subjects)
    version = os.path.basename(base).removeprefix("biomarkers-")
    assert all(r[1] == version for r in per_subject), per_subject
    assert sum(r[2] for r in per_subject) == len(summaries), per_subject
    (sql_epochs,) = con.execute("SELECT count(*) FROM activity_epochs").fetchone()
    assert sql_epochs == len(epochs), f"DuckDB sees {sql_epochs} epochs, the files hold {len(epochs)}"
    joined = con.execute(
        "SELECT count(*) FROM sleep_nights s JOIN activity_daily a USING (subject, file_key, date)"
    ).fetchone()[0]
    assert joined > 0, "sleep nights and activity days do not join on subject, file and date"
    print(f"results ok: {len(summaries)} files, {len(epochs)} activity epochs, {daily.height} days; "
          f"DuckDB: {len(per_subject)} subjects, {sql_epochs} epochs, {joined} night/day joins")
    original = json.loads(pq.read_metadata(
        glob.glob(f"{tables}/activity_daily/*/*/*/*.parquet")[0]).metadata[b"studyflow.original_columns"])
    assert original.get("n_wear_hours") == "N wear hours", original
    return 0


def check_glue(tables_roots: list) -> int:
    """The template's Glue tables equal the written tables, column for column."""
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "..", "cloudformation", "studyflow.yaml")) as f:
        declared = template_tables(yaml.safe_load(f))
    written = {}
    for root in tables_roots:
        written.update(expected_tables(root))
    for name, cols in written.items():
        assert name in declared, f"no Glue table for {name}: regenerate with scripts/glue_tables.py"
        assert declared[name] == cols, (
            f"Glue table {name} differs from what the batch job writes: "
            f"only declared {sorted(set(declared[name]) - set(cols))}, "
            f"only written {sorted(set(cols) - set(declared[name]))}")
    missing = sorted(set(declared) - set(written))
    print(f"Glue tables ok: {len(written)} of {len(declared)} checked against written tables"
          + (f" (not written by this run: {missing})" if missing else ""))
    return 0


if __name__ == "__main__":
    root = sys.argv[1]
    code = main(root)
    roots = [os.path.join(root, "buckets/demo-study/results/tables")] + sys.argv[2:3]
    sys.exit(code or check_glue(roots))
