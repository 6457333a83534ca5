//! The whole gait step as a pipeline would run it: classifier bouts (or the whole recording),
//! lumbar gait, and the summary tables, with units converted from what readers return.

use super::classifier::{ClassifierError, ClassifierParams, classify_gait};
use super::summary::{bout_summary, day_summary};
use super::{BodySize, GaitError, GaitParams, gait_lumbar, pad_bouts};
use crate::preprocessing::Axes;
use crate::table::Table;

/// Settings of [`gait_step`].
#[derive(Debug, Clone, PartialEq)]
pub struct GaitStepParams {
    /// Find bouts with the classifier (default true); false analyses the whole recording as
    /// one bout, like SKDH's `GaitLumbar` alone.
    pub use_classifier: bool,
    /// Classifier settings.
    pub classifier: ClassifierParams,
    /// Per-bout gait settings.
    pub gait: GaitParams,
    /// Widen classifier bouts by this many seconds on each side (opt-in short-bout mode, use
    /// with a smaller `gait.min_bout_time`). Default 0 (SKDH).
    pub bout_padding_s: f64,
}

impl Default for GaitStepParams {
    fn default() -> Self {
        Self {
            use_classifier: true,
            classifier: ClassifierParams::default(),
            gait: GaitParams::default(),
            bout_padding_s: 0.0,
        }
    }
}

/// Why the gait step failed as a whole.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GaitStepError {
    /// The classifier failed.
    #[error(transparent)]
    Classifier(#[from] ClassifierError),
    /// Gait failed.
    #[error(transparent)]
    Gait(#[from] GaitError),
}

/// The gait step's result tables.
#[derive(Debug, Clone, PartialEq)]
pub struct GaitStepOutput {
    /// `gait_bouts`: classifier bouts (start/stop unix s and sample indices); empty without the
    /// classifier.
    pub bouts: Table,
    /// `gait_steps`: one row per step, SKDH's columns.
    pub steps: Table,
    /// `gait_bout_summary`: one row per bout with steps.
    pub bout_summary: Table,
    /// `gait_day_summary`: one row per day window.
    pub day_summary: Table,
    /// Why outputs are empty or partial (no gait found, skipped bouts, no height...).
    pub notes: Vec<String>,
}

/// Runs the gait step on one recording: `accel` in g, `gyro` in **deg/s** as readers return it
/// (converted to rad/s here), `fs` Hz, `days` as [start, end) unix-second windows for the day
/// summary.
pub fn gait_step(
    time: &[f64],
    accel: Axes<'_>,
    gyro_dps: Option<Axes<'_>>,
    fs: f64,
    body: BodySize,
    days: &[(f64, f64)],
    p: &GaitStepParams,
) -> Result<GaitStepOutput, GaitStepError> {
    let n = time.len();
    let mut notes = Vec::new();
    let (bouts, bouts_table) = if p.use_classifier {
        let c = classify_gait(time, accel, fs, &p.classifier)?;
        let b = if p.bout_padding_s > 0.0 {
            pad_bouts(&c.bouts, (p.bout_padding_s * fs).round() as usize, n)
        } else {
            c.bouts.clone()
        };
        (b, c.to_table())
    } else {
        let b = if n > 0 { vec![(0, n - 1)] } else { Vec::new() };
        (b, Table::new("gait_bouts"))
    };
    if bouts.is_empty() {
        notes.push("no gait bouts found".to_string());
    }
    let rad: Option<[Vec<f64>; 3]> = gyro_dps.map(|g| {
        let k = std::f64::consts::PI / 180.0;
        [
            g.x.iter().map(|v| v * k).collect(),
            g.y.iter().map(|v| v * k).collect(),
            g.z.iter().map(|v| v * k).collect(),
        ]
    });
    let gyro = rad.as_ref().map(|g| Axes::new(&g[0], &g[1], &g[2]));
    if gyro.is_none() {
        notes.push("no gyroscope: turns not detected (Turn = -1)".to_string());
    }
    let res = gait_lumbar(time, accel, gyro, fs, &bouts, body, &p.gait)?;
    if let Some(s) = &res.spatial_note {
        notes.push(s.clone());
    }
    for b in &res.bouts {
        if let Some(e) = &b.skipped {
            notes.push(format!(
                "bout at samples {}..{} skipped: {e}",
                b.start, b.stop
            ));
        }
    }
    if !bouts.is_empty() && res.bouts.is_empty() {
        notes.push(format!(
            "no bout longer than {} s after merging",
            p.gait.min_bout_time
        ));
    }
    Ok(GaitStepOutput {
        bouts: bouts_table,
        steps: res.to_table(),
        bout_summary: bout_summary(&res),
        day_summary: day_summary(&res, days),
        notes,
    })
}
