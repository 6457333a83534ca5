//! The `data.read` section: how recordings are read where the file does not say it itself
//! (which APDM sensor, a CSV layout) and what a reader's reported data problems mean for the
//! job (corrupt CWA blocks: process and report, or fail).

use biomarkers::io::ReadOptions;
use biomarkers::io::csv::{AccelUnit, Column, CsvOptions, TimeUnit};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What a job does when the reader skipped over bad data (corrupt or checksum-failing CWA
/// blocks, GT3X records): the samples it could read are always the same either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnDataIssues {
    /// Process what was read and list every problem (byte offset, message) in the summary's
    /// `data_issues` (the default).
    #[default]
    Report,
    /// Fail the file with the first problem's byte offset and the number of problems.
    Fail,
}

/// A CSV column: 0-based position or the name in the header line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum CsvColumn {
    /// 0-based column position.
    Index(usize),
    /// Column name as written in the header line.
    Name(String),
}

impl From<&CsvColumn> for Column {
    fn from(c: &CsvColumn) -> Self {
        match c {
            CsvColumn::Index(i) => Column::Index(*i),
            CsvColumn::Name(n) => Column::Name(n.clone()),
        }
    }
}

/// How CSV times are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CsvTimeUnit {
    /// Seconds since 1970-01-01 UTC.
    UnixS,
    /// Milliseconds since 1970-01-01 UTC.
    UnixMs,
    /// Microseconds since 1970-01-01 UTC.
    UnixUs,
    /// ISO 8601 date-time; without an offset read as UTC.
    Iso,
}

/// Unit of CSV acceleration columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum CsvAccelUnit {
    /// Multiples of standard gravity.
    #[serde(rename = "g")]
    G,
    /// m/s^2 (divided by 9.80665 on reading).
    #[serde(rename = "m/s^2")]
    MetersPerSecondSquared,
}

/// A CSV layout. Fields left out are guessed from the file's first bytes (delimiter, header
/// line, time unit) or take the usual positions (time, x, y, z in columns 0-3, gyro 4-6 when
/// the rows are long enough).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CsvLayout {
    /// Time column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_column: Option<CsvColumn>,
    /// Acceleration x, y, z columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accel_columns: Option<[CsvColumn; 3]>,
    /// Gyroscope x, y, z columns in deg/s; `[]` for none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gyro_columns: Option<Vec<CsvColumn>>,
    /// True when the first line holds column names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<bool>,
    /// One-character field delimiter (`,`, `;`, a tab...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 1))]
    pub delimiter: Option<String>,
    /// How times are written: `unix_s`, `unix_ms`, `unix_us` or `iso`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_unit: Option<CsvTimeUnit>,
    /// Unit of the acceleration: `g` (default) or `m/s^2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accel_unit: Option<CsvAccelUnit>,
}

impl CsvLayout {
    /// The reader's options: `guessed` (from the file's first bytes) with this layout's fields
    /// laid over it.
    pub fn over(&self, mut guessed: CsvOptions) -> CsvOptions {
        if let Some(c) = &self.time_column {
            guessed.time_column = c.into();
        }
        if let Some([x, y, z]) = &self.accel_columns {
            guessed.accel_columns = [x.into(), y.into(), z.into()];
        }
        if let Some(g) = &self.gyro_columns {
            guessed.gyro_columns = match g.as_slice() {
                [x, y, z] => Some([x.into(), y.into(), z.into()]),
                _ => None,
            };
        }
        if let Some(h) = self.header {
            guessed.has_header = h;
        }
        if let Some(d) = self.delimiter.as_deref().and_then(|d| d.bytes().next()) {
            guessed.delimiter = d;
        }
        if let Some(t) = self.time_unit {
            guessed.time_unit = match t {
                CsvTimeUnit::UnixS => TimeUnit::UnixSeconds,
                CsvTimeUnit::UnixMs => TimeUnit::UnixMillis,
                CsvTimeUnit::UnixUs => TimeUnit::UnixMicros,
                CsvTimeUnit::Iso => TimeUnit::Iso8601,
            };
        }
        if let Some(u) = self.accel_unit {
            guessed.accel_unit = match u {
                CsvAccelUnit::G => AccelUnit::G,
                CsvAccelUnit::MetersPerSecondSquared => AccelUnit::MetersPerSecondSquared,
            };
        }
        guessed
    }

    /// Problems a schema cannot express: `(field, message)`.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(g) = &self.gyro_columns
            && !(g.is_empty() || g.len() == 3)
        {
            out.push((
                "gyro_columns",
                format!(
                    "{} columns given: name three (x, y, z) or none ([])",
                    g.len()
                ),
            ));
        }
        if let Some(d) = &self.delimiter
            && d.len() != 1
        {
            out.push((
                "delimiter",
                format!("{d:?} is not a single one-byte character"),
            ));
        }
        let by_name = |c: &CsvColumn| matches!(c, CsvColumn::Name(_));
        let named = self.time_column.as_ref().is_some_and(by_name)
            || self.accel_columns.iter().flatten().any(by_name)
            || self.gyro_columns.iter().flatten().any(by_name);
        if named && self.header == Some(false) {
            out.push((
                "header",
                "columns are named but `header: false` says the file has no header line".into(),
            ));
        }
        out
    }
}

/// The `data.read` section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadConfig {
    /// APDM Opal files: the sensor to read, by its label (e.g. `Lumbar`, `Left Wrist`) or its
    /// id (e.g. `XI-010284`). Absent: the sensor labelled `Lumbar`, else the only sensor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensor: Option<String>,
    /// CSV files: the layout (absent fields are guessed from the file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csv: Option<CsvLayout>,
    /// Data the reader had to skip (corrupt blocks): `report` (default) or `fail`.
    #[serde(default, skip_serializing_if = "is_default_policy")]
    pub on_data_issues: OnDataIssues,
}

fn is_default_policy(p: &OnDataIssues) -> bool {
    *p == OnDataIssues::Report
}

impl ReadConfig {
    /// True when nothing is set (every default).
    pub fn is_unset(&self) -> bool {
        *self == ReadConfig::default()
    }

    /// The reader options for one file. `prefix` is the file's first bytes (used to guess what
    /// a CSV layout leaves out); `None` leaves a CSV layout entirely to the reader's guess.
    pub fn read_options(&self, prefix: Option<&[u8]>) -> ReadOptions {
        let mut opts = ReadOptions::default();
        opts.apdm.sensor_label = self.sensor.clone();
        if let (Some(layout), Some(prefix)) = (&self.csv, prefix) {
            opts.csv = Some(layout.over(biomarkers::io::csv::sniff_options(prefix)));
        }
        opts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_layout_overrides_only_what_it_names() {
        let guessed = biomarkers::io::csv::sniff_options(b"t;x;y;z\n1.5;0;0;1\n");
        let layout = CsvLayout {
            accel_columns: Some([
                CsvColumn::Name("x".into()),
                CsvColumn::Name("y".into()),
                CsvColumn::Name("z".into()),
            ]),
            gyro_columns: Some(vec![]),
            accel_unit: Some(CsvAccelUnit::MetersPerSecondSquared),
            ..CsvLayout::default()
        };
        let opts = layout.over(guessed.clone());
        assert_eq!(
            opts.delimiter, b';',
            "the guess stays where the layout is silent"
        );
        assert_eq!(opts.has_header, guessed.has_header);
        assert_eq!(opts.accel_columns[2], Column::Name("z".into()));
        assert_eq!(opts.gyro_columns, None);
        assert_eq!(opts.accel_unit, AccelUnit::MetersPerSecondSquared);
    }

    #[test]
    fn impossible_layouts_are_named() {
        let layout = CsvLayout {
            time_column: Some(CsvColumn::Name("time".into())),
            gyro_columns: Some(vec![CsvColumn::Index(4)]),
            header: Some(false),
            delimiter: Some(";;".into()),
            ..CsvLayout::default()
        };
        let fields: Vec<_> = layout.problems().into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["gyro_columns", "delimiter", "header"]);
    }
}
