//! Tidy result tables: named, typed columns with units. Every algorithm step returns these;
//! writers turn them into Parquet or CSV.

use serde::Serialize;

/// The values of one column.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ColumnData {
    /// 64-bit floats; NaN marks a missing value.
    F64(Vec<f64>),
    /// 64-bit integers.
    I64(Vec<i64>),
    /// Booleans.
    Bool(Vec<bool>),
    /// UTF-8 strings.
    Str(Vec<String>),
}

impl ColumnData {
    /// Number of values in the column.
    pub fn len(&self) -> usize {
        match self {
            ColumnData::F64(v) => v.len(),
            ColumnData::I64(v) => v.len(),
            ColumnData::Bool(v) => v.len(),
            ColumnData::Str(v) => v.len(),
        }
    }

    /// True when the column has no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One named column with an optional unit (e.g. `"min"`, `"g"`, `"unix s"`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Column {
    /// Column name as it appears in the output file.
    pub name: String,
    /// Unit of the values, written into the file's metadata; `None` for unitless columns.
    pub unit: Option<String>,
    /// The values.
    pub data: ColumnData,
}

/// A table of equally long columns.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Table {
    /// Table name, used as the result file stem (e.g. `activity_epochs`).
    pub name: String,
    /// The columns, in output order.
    pub columns: Vec<Column>,
}

impl Table {
    /// An empty table with the given name.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            columns: Vec::new(),
        }
    }

    /// Appends a column (builder style).
    pub fn with(mut self, name: &str, unit: Option<&str>, data: ColumnData) -> Self {
        self.columns.push(Column {
            name: name.to_string(),
            unit: unit.map(str::to_string),
            data,
        });
        self
    }

    /// Number of rows (the length of the first column; 0 without columns).
    pub fn num_rows(&self) -> usize {
        self.columns.first().map_or(0, |c| c.data.len())
    }

    /// The column with this name, if any.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// The decoded samples of a recording as a table: `time` (unix s), `accel_x/y/z` (g), and where
/// recorded `gyro_x/y/z` (deg/s), `temperature` (deg C) and `light` (what `studyflow convert`
/// writes).
pub fn samples_table(rec: &crate::io::Recording) -> Table {
    let mut t = Table::new("samples")
        .with("time", Some("unix s"), ColumnData::F64(rec.time.clone()))
        .with("accel_x", Some("g"), ColumnData::F64(rec.accel.x.clone()))
        .with("accel_y", Some("g"), ColumnData::F64(rec.accel.y.clone()))
        .with("accel_z", Some("g"), ColumnData::F64(rec.accel.z.clone()));
    if let Some(g) = &rec.gyro {
        t = t
            .with("gyro_x", Some("deg/s"), ColumnData::F64(g.x.clone()))
            .with("gyro_y", Some("deg/s"), ColumnData::F64(g.y.clone()))
            .with("gyro_z", Some("deg/s"), ColumnData::F64(g.z.clone()));
    }
    if let Some(v) = &rec.temperature {
        t = t.with("temperature", Some("deg C"), ColumnData::F64(v.clone()));
    }
    if let Some(v) = &rec.light {
        t = t.with("light", None, ColumnData::F64(v.clone()));
    }
    t
}

/// Why a table could not be written.
#[derive(Debug, thiserror::Error)]
pub enum TableWriteError {
    /// Columns of different lengths.
    #[error("table {table}: column {column} has {len} rows, expected {expected}")]
    Ragged {
        /// Table name.
        table: String,
        /// Offending column.
        column: String,
        /// Its length.
        len: usize,
        /// Length of the first column.
        expected: usize,
    },
    /// The Parquet encoder failed.
    #[error("parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    /// Writing failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

impl Table {
    fn check_lengths(&self) -> Result<usize, TableWriteError> {
        let expected = self.num_rows();
        for c in &self.columns {
            if c.data.len() != expected {
                return Err(TableWriteError::Ragged {
                    table: self.name.clone(),
                    column: c.name.clone(),
                    len: c.data.len(),
                    expected,
                });
            }
        }
        Ok(expected)
    }

    /// Column units as a JSON object `{column: unit}` (only columns that have one).
    pub fn units_json(&self) -> String {
        let m: serde_json::Map<String, serde_json::Value> = self
            .columns
            .iter()
            .filter_map(|c| Some((c.name.clone(), c.unit.clone()?.into())))
            .collect();
        serde_json::Value::Object(m).to_string()
    }

    /// Writes the table as one Parquet file (snappy-compressed, one row group).
    ///
    /// Units go into the file's key-value metadata under `studyflow.units` (a JSON object), and
    /// `extra_metadata` pairs (e.g. the library version) are added beside them.
    pub fn write_parquet<W: std::io::Write + Send>(
        &self,
        out: W,
        extra_metadata: &[(String, String)],
    ) -> Result<(), TableWriteError> {
        use parquet::basic::{Compression, LogicalType, Repetition, Type as PhysicalType};
        use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, Int64Type};
        use parquet::file::metadata::KeyValue;
        use parquet::file::properties::WriterProperties;
        use parquet::file::writer::SerializedFileWriter;
        use parquet::schema::types::Type;
        use std::sync::Arc;

        self.check_lengths()?;
        let mut fields = Vec::with_capacity(self.columns.len());
        for c in &self.columns {
            let (physical, logical) = match c.data {
                ColumnData::F64(_) => (PhysicalType::DOUBLE, None),
                ColumnData::I64(_) => (PhysicalType::INT64, None),
                ColumnData::Bool(_) => (PhysicalType::BOOLEAN, None),
                ColumnData::Str(_) => (PhysicalType::BYTE_ARRAY, Some(LogicalType::String)),
            };
            let t = Type::primitive_type_builder(&c.name, physical)
                .with_repetition(Repetition::REQUIRED)
                .with_logical_type(logical)
                .build()?;
            fields.push(Arc::new(t));
        }
        let schema = Type::group_type_builder("schema")
            .with_fields(fields)
            .build()?;
        let mut kv = vec![KeyValue::new(
            "studyflow.units".to_string(),
            self.units_json(),
        )];
        kv.extend(
            extra_metadata
                .iter()
                .map(|(k, v)| KeyValue::new(k.clone(), v.clone())),
        );
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_created_by(format!("biomarkers {}", crate::VERSION))
            .set_key_value_metadata(Some(kv))
            .build();
        let mut writer = SerializedFileWriter::new(out, Arc::new(schema), Arc::new(props))?;
        let mut rg = writer.next_row_group()?;
        let mut columns = self.columns.iter();
        while let Some(mut cw) = rg.next_column()? {
            let Some(c) = columns.next() else { break };
            match &c.data {
                ColumnData::F64(v) => {
                    cw.typed::<DoubleType>().write_batch(v, None, None)?;
                }
                ColumnData::I64(v) => {
                    cw.typed::<Int64Type>().write_batch(v, None, None)?;
                }
                ColumnData::Bool(v) => {
                    cw.typed::<BoolType>().write_batch(v, None, None)?;
                }
                ColumnData::Str(v) => {
                    let vals: Vec<ByteArray> =
                        v.iter().map(|s| ByteArray::from(s.as_str())).collect();
                    cw.typed::<ByteArrayType>().write_batch(&vals, None, None)?;
                }
            }
            cw.close()?;
        }
        rg.close()?;
        writer.close()?;
        Ok(())
    }

    /// Writes the table as CSV with a header row; units are appended to column names as
    /// `name [unit]`. NaN is written as an empty field.
    pub fn write_csv<W: std::io::Write>(&self, mut out: W) -> Result<(), TableWriteError> {
        let n = self.check_lengths()?;
        let header: Vec<String> = self
            .columns
            .iter()
            .map(|c| match &c.unit {
                Some(u) => csv_field(&format!("{} [{}]", c.name, u)),
                None => csv_field(&c.name),
            })
            .collect();
        writeln!(out, "{}", header.join(","))?;
        let mut line = String::new();
        for i in 0..n {
            line.clear();
            for (j, c) in self.columns.iter().enumerate() {
                if j > 0 {
                    line.push(',');
                }
                match &c.data {
                    ColumnData::F64(v) if v[i].is_nan() => {}
                    ColumnData::F64(v) => line.push_str(&v[i].to_string()),
                    ColumnData::I64(v) => line.push_str(&v[i].to_string()),
                    ColumnData::Bool(v) => line.push_str(if v[i] { "true" } else { "false" }),
                    ColumnData::Str(v) => line.push_str(&csv_field(&v[i])),
                }
            }
            writeln!(out, "{line}")?;
        }
        Ok(())
    }
}

/// Quotes a CSV field when it contains a delimiter, quote or newline.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Table {
        Table::new("t")
            .with("a", Some("g"), ColumnData::F64(vec![1.5, f64::NAN]))
            .with("b", None, ColumnData::I64(vec![1, 2]))
            .with("c", None, ColumnData::Str(vec!["x,y".into(), "z".into()]))
            .with("d", None, ColumnData::Bool(vec![true, false]))
    }

    #[test]
    fn csv_has_units_quotes_and_empty_nan() {
        let mut buf = Vec::new();
        sample().write_csv(&mut buf).unwrap();
        let text = String::from_utf8(buf).unwrap();
        assert_eq!(text, "a [g],b,c,d\n1.5,1,\"x,y\",true\n,2,z,false\n");
    }

    #[test]
    fn parquet_round_trips_row_count_and_units() {
        use parquet::file::reader::{FileReader, SerializedFileReader};
        let f = tempfile::tempfile().unwrap();
        sample()
            .write_parquet(&f, &[("k".into(), "v".into())])
            .unwrap();
        let r = SerializedFileReader::new(f).unwrap();
        let md = r.metadata().file_metadata();
        assert_eq!(md.num_rows(), 2);
        assert_eq!(md.schema_descr().num_columns(), 4);
        let kv = md.key_value_metadata().unwrap();
        assert!(
            kv.iter()
                .any(|k| k.key == "studyflow.units" && k.value.as_deref() == Some(r#"{"a":"g"}"#))
        );
        assert!(kv.iter().any(|k| k.key == "k"));
    }

    #[test]
    fn ragged_table_is_an_error() {
        let t = Table::new("t")
            .with("a", None, ColumnData::F64(vec![1.0]))
            .with("b", None, ColumnData::I64(vec![]));
        assert!(matches!(
            t.write_csv(Vec::new()),
            Err(TableWriteError::Ragged { .. })
        ));
    }
}
