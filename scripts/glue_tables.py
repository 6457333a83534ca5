"""The Glue table definitions of cloudformation/studyflow.yaml, from the SQL tree a run wrote.

Each table of `results/tables/<table>/version=/study=/subject=/<file>.parquet` becomes one
`AWS::Glue::Table` over the stack's study bucket whose columns are the union (by name, in
first-seen order) of the Parquet schemas found for it, partitioned by version, study and
subject. `check_results.py` calls `expected_tables` on the demo's tree and compares it with the
template, so the template cannot drift from what the batch job writes.

Usage: glue_tables.py ROOT     prints the YAML of the Glue tables (to paste into the template)
"""
import glob
import os
import sys

import pyarrow as pa
import pyarrow.parquet as pq


def glue_type(t: pa.DataType) -> str:
    """The Glue/Athena (Hive) type of an Arrow type."""
    if pa.types.is_float64(t):
        return "double"
    if pa.types.is_float32(t):
        return "float"
    if pa.types.is_int64(t) or pa.types.is_uint32(t):
        return "bigint"
    if pa.types.is_integer(t):
        return "int"
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "string"
    if pa.types.is_timestamp(t):
        return "timestamp"
    if pa.types.is_date(t):
        return "date"
    raise ValueError(f"no Glue type for Arrow type {t}")


def expected_tables(tables_root: str) -> dict:
    """{table: [(column, glue type), ...]} for every table folder under `tables_root`."""
    out = {}
    for table_dir in sorted(glob.glob(os.path.join(tables_root, "*"))):
        cols = {}
        for f in sorted(glob.glob(os.path.join(table_dir, "*/*/*/*.parquet"))):
            for field in pq.read_schema(f):
                t = glue_type(field.type)
                prev = cols.setdefault(field.name, t)
                assert prev == t, f"{f}: column {field.name} is {t} here, {prev} elsewhere"
        out[os.path.basename(table_dir)] = list(cols.items())
    return out


def logical_id(table: str) -> str:
    return "ResultsTable" + "".join(p.capitalize() for p in table.split("_"))


def yaml_for(tables: dict) -> str:
    lines = []
    for table, cols in tables.items():
        lines += [
            f"  {logical_id(table)}:",
            "    Type: AWS::Glue::Table",
            "    Properties:",
            "      CatalogId: {Ref: AWS::AccountId}",
            "      DatabaseName: {Ref: ResultsDatabase}",
            "      TableInput:",
            f"        Name: {table}",
            "        TableType: EXTERNAL_TABLE",
            "        Parameters: {classification: parquet, EXTERNAL: \"TRUE\"}",
            "        PartitionKeys:",
            "          - {Name: version, Type: string}",
            "          - {Name: study, Type: string}",
            "          - {Name: subject, Type: string}",
            "        StorageDescriptor:",
            f"          Location: {{\"Fn::Sub\": \"s3://${{StudyBucket}}/results/tables/{table}/\"}}",
            "          InputFormat: org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
            "          OutputFormat: org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
            "          SerdeInfo:",
            "            SerializationLibrary: org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
            "          Columns:",
        ]
        lines += [f"            - {{Name: {c}, Type: {t}}}" for c, t in cols]
        lines.append("")
    return "\n".join(lines)


def template_tables(template: dict) -> dict:
    """{table: [(column, type), ...]} of the template's AWS::Glue::Table resources."""
    out = {}
    for res in template["Resources"].values():
        if res["Type"] != "AWS::Glue::Table":
            continue
        ti = res["Properties"]["TableInput"]
        out[ti["Name"]] = [(c["Name"], c["Type"]) for c in ti["StorageDescriptor"]["Columns"]]
    return out


if __name__ == "__main__":
    print(yaml_for(expected_tables(os.path.join(sys.argv[1], "buckets/demo-study/results/tables"))))
