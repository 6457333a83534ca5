"""Reads a demo root's results the way README tells data scientists to (pandas + pyarrow, and
polars) and checks them: every succeeded file has its tables and a summary written last, the
tables agree with the summary's row counts, and units are in the Parquet metadata.

Usage: check_results.py ROOT   (exit 0 when every check holds)
"""
import glob
import json
import os
import sys

import pandas as pd
import polars as pl
import pyarrow.parquet as pq


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
    print(f"results ok: {len(summaries)} files, {len(epochs)} activity epochs, {daily.height} days")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
