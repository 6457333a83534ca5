//! Catalog queries for the data team: which files of which studies match a subject, visit,
//! device, status and recording-time range. Backend-neutral: it reads through the [`Catalog`]
//! port, so `studyflow files` and `studyflow fetch` work the same on the local root and on AWS.

use crate::model::{FileItem, FileStatus};
use crate::ports::{Catalog, FileFilter, PortError};

/// What to look for. Every field left `None` matches everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileQuery {
    /// Only this study (otherwise every study in the catalog).
    pub study: Option<String>,
    /// Only this subject.
    pub subject: Option<String>,
    /// Only this visit.
    pub visit: Option<String>,
    /// Only this device (the `{device}` part of the key pattern).
    pub device: Option<String>,
    /// Only this status.
    pub status: Option<FileStatus>,
    /// Only recordings that end at or after this time (unix seconds).
    pub from: Option<f64>,
    /// Only recordings that start before this time (unix seconds).
    pub to: Option<f64>,
}

/// A query field that could not be understood.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// A time bound that is neither RFC 3339, a date, nor unix seconds.
    #[error(
        "{field}: '{value}' is not a time (use 2026-03-01, 2026-03-01T08:00:00Z or unix seconds)"
    )]
    BadTime {
        /// `from` or `to`.
        field: &'static str,
        /// The text given.
        value: String,
    },
    /// A status name that is not one of the catalog's.
    #[error("status: '{0}' is not one of {all}", all = FileStatus::ALL.map(|s| s.as_str()).join(", "))]
    BadStatus(String),
    /// The catalog failed.
    #[error(transparent)]
    Catalog(#[from] PortError),
}

impl FileQuery {
    /// True when `item` satisfies every set field. A time range only matches files whose
    /// recording start and end are known (header facts were read); a file without them is
    /// left out, as its position in time is unknown.
    pub fn matches(&self, item: &FileItem) -> bool {
        let eq = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        if !(eq(&self.study, &item.study)
            && eq(&self.subject, &item.subject)
            && eq(&self.visit, &item.visit)
            && eq(&self.device, &item.device)
            && self.status.is_none_or(|s| s == item.status))
        {
            return false;
        }
        if self.from.is_none() && self.to.is_none() {
            return true;
        }
        let (Some(start), Some(end)) = (item.recording_start, item.recording_end) else {
            return false;
        };
        self.from.is_none_or(|f| end >= f) && self.to.is_none_or(|t| start < t)
    }

    /// Runs the query: the catalog's own subject/status filter narrows each study's files,
    /// the rest is matched here. Files come back ordered by study, then file key.
    pub fn run(&self, catalog: &dyn Catalog) -> Result<Vec<FileItem>, QueryError> {
        let studies = study_ids(catalog, self.study.as_deref())?;
        let filter = FileFilter {
            subject: self.subject.clone(),
            status: self.status,
        };
        let mut out = Vec::new();
        for study in studies {
            let mut files: Vec<FileItem> = catalog
                .list_files(&study, &filter)?
                .into_iter()
                .filter(|f| self.matches(f))
                .collect();
            files.sort_by(|a, b| a.file_key.cmp(&b.file_key));
            out.extend(files);
        }
        Ok(out)
    }
}

/// The study ids to look at: the one named, or every study in the catalog.
pub fn study_ids(catalog: &dyn Catalog, study: Option<&str>) -> Result<Vec<String>, PortError> {
    Ok(match study {
        Some(s) => vec![s.to_string()],
        None => catalog
            .list_studies()?
            .into_iter()
            .map(|s| s.study)
            .collect(),
    })
}

/// Parses a status name as the catalog writes it (`SUCCEEDED`, case-insensitive).
pub fn parse_status(text: &str) -> Result<FileStatus, QueryError> {
    FileStatus::parse(&text.to_ascii_uppercase()).ok_or_else(|| QueryError::BadStatus(text.into()))
}

/// Parses a time bound into unix seconds: RFC 3339 (`2026-03-01T08:00:00Z`), a civil date
/// (`2026-03-01`, taken as 00:00 UTC) or plain unix seconds.
pub fn parse_time(field: &'static str, text: &str) -> Result<f64, QueryError> {
    let bad = || QueryError::BadTime {
        field,
        value: text.into(),
    };
    let t = text.trim();
    if let Ok(secs) = t.parse::<f64>() {
        return if secs.is_finite() {
            Ok(secs)
        } else {
            Err(bad())
        };
    }
    if let Ok(ts) = t.parse::<jiff::Timestamp>() {
        return Ok(ts.as_microsecond() as f64 / 1e6);
    }
    if let Ok(d) = t.parse::<jiff::civil::Date>() {
        let ts = d
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map_err(|_| bad())?
            .timestamp();
        return Ok(ts.as_second() as f64);
    }
    Err(bad())
}

/// A unix time as `2026-03-01 08:00` (UTC, to the minute), for tables.
pub fn format_utc(t: f64) -> String {
    jiff::Timestamp::from_second(t.floor() as i64)
        .map(|ts| ts.strftime("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|_| format!("{t}"))
}

/// Total bytes of the raw recordings in `files` (what `fetch --raw` will download).
pub fn total_size(files: &[FileItem]) -> u64 {
    files.iter().map(|f| f.size).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FileItem;

    fn item(subject: &str, start: Option<f64>, end: Option<f64>) -> FileItem {
        FileItem {
            study: "s".into(),
            file_key: format!("raw/{subject}/v1/wrist.cwa"),
            bucket: "b".into(),
            subject: subject.into(),
            visit: "v1".into(),
            device: "wrist".into(),
            format: "cwa".into(),
            size: 10,
            etag: "e".into(),
            recording_start: start,
            recording_end: end,
            sample_rate: None,
            device_id: None,
            header_error: None,
            status: FileStatus::Succeeded,
            library_version: None,
            execution_id: None,
            result_prefix: None,
            error: None,
            attempt: 1,
            registered_at: String::new(),
            updated_at: String::new(),
        }
    }

    #[test]
    fn fields_and_time_overlap() {
        let f = item("S01", Some(100.0), Some(200.0));
        assert!(FileQuery::default().matches(&f));
        let q = |from: Option<f64>, to: Option<f64>| FileQuery {
            from,
            to,
            ..Default::default()
        };
        assert!(q(Some(150.0), None).matches(&f));
        assert!(q(Some(200.0), None).matches(&f));
        assert!(!q(Some(200.5), None).matches(&f));
        assert!(q(None, Some(100.5)).matches(&f));
        assert!(!q(None, Some(100.0)).matches(&f));
        assert!(!q(Some(0.0), None).matches(&item("S02", None, None)));
        let by_subject = FileQuery {
            subject: Some("S02".into()),
            ..Default::default()
        };
        assert!(!by_subject.matches(&f));
        let by_status = FileQuery {
            status: Some(FileStatus::Failed),
            ..Default::default()
        };
        assert!(!by_status.matches(&f));
    }

    #[test]
    fn time_bounds_parse() {
        assert_eq!(parse_time("from", "86400").unwrap(), 86400.0);
        assert_eq!(parse_time("from", "1970-01-02").unwrap(), 86400.0);
        assert_eq!(parse_time("to", "1970-01-02T00:00:01Z").unwrap(), 86401.0);
        let e = parse_time("to", "yesterday").unwrap_err().to_string();
        assert!(e.starts_with("to: 'yesterday'"), "{e}");
        assert!(parse_time("from", "NaN").is_err());
        assert_eq!(format_utc(86460.5), "1970-01-02 00:01");
        assert_eq!(parse_status("succeeded").unwrap(), FileStatus::Succeeded);
        assert!(
            parse_status("done")
                .unwrap_err()
                .to_string()
                .contains("SUCCEEDED")
        );
    }
}
