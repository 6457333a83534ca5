//! Processing requirements: what must hold before a file is processed. Each unmet requirement is
//! reported as a sentence naming what is missing, so a WAITING or REQUIREMENTS_TIMED_OUT file
//! says why.

use crate::config::StudyConfig;
use crate::model::{FileItem, FileStatus, SubjectItem};

/// The unmet requirements of `item` (empty when it may be processed). `siblings` are the other
/// files of the same study (for the companion-device requirement).
pub fn missing(
    cfg: &StudyConfig,
    item: &FileItem,
    subject: Option<&SubjectItem>,
    siblings: &[FileItem],
) -> Vec<String> {
    let req = &cfg.requirements;
    let mut out = Vec::new();
    for field in &req.metadata_fields {
        let present = subject
            .and_then(|s| s.fields.get(field))
            .is_some_and(|v| !v.is_null() && v.as_str() != Some(""));
        if !present {
            out.push(format!(
                "subject {} has no metadata field {field}",
                item.subject
            ));
        }
    }
    if let Some(min) = req.min_size_bytes
        && item.size < min
    {
        out.push(format!(
            "file is {} bytes, less than the required {min}",
            item.size
        ));
    }
    if let Some(hours) = req.min_duration_hours {
        match (item.recording_start, item.recording_end) {
            (Some(s), Some(e)) if (e - s) / 3600.0 >= hours => {}
            (Some(s), Some(e)) => out.push(format!(
                "recording lasts {:.2} h, less than the required {hours} h",
                (e - s) / 3600.0
            )),
            // Without header facts the reader will give the real error; do not wait for it.
            _ => {}
        }
    }
    if let Some(device) = &req.companion_device {
        let found = siblings.iter().any(|f| {
            f.subject == item.subject
                && f.visit == item.visit
                && f.device == *device
                && f.status != FileStatus::Failed
        });
        if !found {
            out.push(format!(
                "no {device} file for subject {} visit {}",
                item.subject, item.visit
            ));
        }
    }
    out
}
