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
