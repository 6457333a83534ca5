//! Gait-bout detection for lumbar data, as SKDH's `PredictGaitLumbarLgbm`: resample to 50 Hz
//! (fs >= 50) or 20 Hz, band-pass the acceleration magnitude, compute the 18 window features on
//! non-overlapping 3 s windows, score each window with SKDH's LightGBM model, and turn runs of
//! windows with probability > 0.7 into bouts.
//!
//! The models and the feature list ship in `biomarkers/models/` (SKDH, MIT licence) and are
//! parsed once from the embedded text.

use std::sync::OnceLock;

use super::features::{Feature, FftCache, parse_feature_list};
use super::lightgbm::Model;
use crate::preprocessing::Axes;
use crate::preprocessing::filter::{
    Band, FilterError, Section, butter, padlen, sosfilt, sosfilt_zi,
};
use crate::preprocessing::resample::{apply_resample, resample_indices};
use crate::preprocessing::stats::rle;
use crate::table::{ColumnData, Table};

const MODEL_50HZ: &str = include_str!("../../models/lgbm_gait_classifier_no-stairs_50hz.lgbm");
const MODEL_20HZ: &str = include_str!("../../models/lgbm_gait_classifier_no-stairs_20hz.lgbm");
const FEATURES: &str = include_str!("../../models/gait_final_features.json");

/// Why the classifier could not run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClassifierError {
    /// The sampling rate is below 20 Hz (SKDH's `LowFrequencyError`).
    #[error("sampling rate {fs:.2} Hz is too low for the gait classifier (< 20 Hz)")]
    LowFrequency {
        /// Sampling rate, Hz.
        fs: f64,
    },
    /// Input slices of different lengths.
    #[error("accel and time lengths differ")]
    Shape,
    /// Filtering or resampling failed (e.g. the recording is too short to filter).
    #[error("filter: {0}")]
    Filter(#[from] FilterError),
    /// The embedded model or feature list is unusable (a build problem).
    #[error("embedded model: {0}")]
    Model(String),
}

/// Where the band-pass of the magnitude is designed (SKDH "behaviour to decide" 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BandDesign {
    /// SKDH: designed for the original rate but applied to the resampled signal, so the real
    /// band is scaled by goal_fs / fs (0.125-2.5 Hz for 100 Hz input). The models were
    /// trained this way; the default, for parity.
    OriginalRate,
    /// Designed for the rate it is applied at (0.25-5 Hz as documented).
    ProcessingRate,
}

/// Settings of [`classify_gait`].
#[derive(Debug, Clone, PartialEq)]
pub struct ClassifierParams {
    /// Probability above which a window is gait. Default 0.7.
    pub threshold: f64,
    /// Anti-aliasing filter when down-sampling. Default true.
    pub downsample_aa_filter: bool,
    /// Band-pass design rate. Default [`BandDesign::OriginalRate`] (SKDH).
    pub band_design: BandDesign,
}

impl Default for ClassifierParams {
    fn default() -> Self {
        Self {
            threshold: 0.7,
            downsample_aa_filter: true,
            band_design: BandDesign::OriginalRate,
        }
    }
}

/// The classifier's output.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GaitClassification {
    /// Rate the features were computed at, Hz (50 or 20).
    pub fs: f64,
    /// Gait probability of each 3 s window.
    pub probability: Vec<f64>,
    /// Gait bouts as (start, stop) sample indices of the input.
    pub bouts: Vec<(usize, usize)>,
    /// Bout start and stop times, unix s.
    pub bout_times: Vec<(f64, f64)>,
}

impl GaitClassification {
    /// The `gait_bouts` table (SKDH's column names).
    pub fn to_table(&self) -> Table {
        Table::new("gait_bouts")
            .with(
                "Gait Bout Start",
                Some("unix s"),
                ColumnData::F64(self.bout_times.iter().map(|b| b.0).collect()),
            )
            .with(
                "Gait Bout Stop",
                Some("unix s"),
                ColumnData::F64(self.bout_times.iter().map(|b| b.1).collect()),
            )
            .with(
                "Gait Bout Start Index",
                None,
                ColumnData::I64(self.bouts.iter().map(|b| b.0 as i64).collect()),
            )
            .with(
                "Gait Bout Stop Index",
                None,
                ColumnData::I64(self.bouts.iter().map(|b| b.1 as i64).collect()),
            )
    }
}

struct Embedded {
    m50: Result<Model, String>,
    m20: Result<Model, String>,
    features: Result<Vec<Feature>, String>,
}

fn embedded() -> &'static Embedded {
    static E: OnceLock<Embedded> = OnceLock::new();
    E.get_or_init(|| Embedded {
        m50: Model::parse(MODEL_50HZ).map_err(|e| e.to_string()),
        m20: Model::parse(MODEL_20HZ).map_err(|e| e.to_string()),
        features: parse_feature_list(FEATURES).map_err(|e| e.to_string()),
    })
}

/// The 18 features of each non-overlapping window of `wlen` samples of `x` (rows = windows).
pub fn window_features(x: &[f64], wlen: usize, fs: f64, features: &[Feature]) -> Vec<Vec<f64>> {
    if wlen == 0 {
        return Vec::new();
    }
    let mut cache = FftCache::default();
    x.chunks_exact(wlen)
        .map(|w| {
            let mut row = vec![0.0; features.len()];
            window_row(w, fs, features, &mut cache, &mut row);
            row
        })
        .collect()
}

/// The features of one window into `row` (one value per feature), sharing `cache`.
fn window_row(w: &[f64], fs: f64, features: &[Feature], cache: &mut FftCache, row: &mut [f64]) {
    cache.clear();
    for (v, f) in row.iter_mut().zip(features) {
        *v = f.compute_cached(w, fs, cache);
    }
}

/// The processing-rate signal the classifier windows: the band-passed magnitude, held with the
/// filter's odd padding (`padded[edge..edge + len]` is the signal) so that it is filtered in
/// place, in the one buffer.
struct Prepared {
    /// Time axis at the processing rate when the input was resampled (else the input's).
    time: Option<Vec<f64>>,
    padded: Vec<f64>,
    edge: usize,
    len: usize,
    /// The processing rate, Hz.
    fs: f64,
}

impl Prepared {
    fn signal(&self) -> &[f64] {
        &self.padded[self.edge..self.edge + self.len]
    }
}

/// scipy's `sosfiltfilt` with odd padding, in place on a buffer that already holds the padding
/// (`edge` samples each side): the same operations in the same order as
/// `preprocessing::filter::sosfiltfilt` (direct form II transposed, steady-state initial
/// conditions scaled by the first sample of each pass), so the result is bit-identical to it
/// without a second signal-sized buffer.
fn filtfilt_padded_in_place(sos: &[Section], buf: &mut [f64]) {
    let Some(&first) = buf.first() else {
        return;
    };
    let zi = sosfilt_zi(sos);
    let mut z: Vec<[f64; 2]> = zi.iter().map(|z| [z[0] * first, z[1] * first]).collect();
    sosfilt(sos, buf, &mut z);
    let last = buf[buf.len() - 1];
    let mut z: Vec<[f64; 2]> = zi.iter().map(|z| [z[0] * last, z[1] * last]).collect();
    for v in buf.iter_mut().rev() {
        let mut xc = *v;
        for (s, zs) in sos.iter().zip(z.iter_mut()) {
            let y = s.b[0] * xc + zs[0];
            zs[0] = s.b[1] * xc - s.a[1] * y + zs[1];
            zs[1] = s.b[2] * xc - s.a[2] * y;
            xc = y;
        }
        *v = xc;
    }
}

/// The band-passed magnitude at the processing rate (see [`Prepared`]). Without resampling the
/// input is read in place: the only signal-sized allocation is the padded magnitude.
fn prepare(
    time: &[f64],
    accel: Axes<'_>,
    fs: f64,
    p: &ClassifierParams,
) -> Result<Prepared, ClassifierError> {
    let goal = if fs >= 50.0 { 50.0 } else { 20.0 };
    let design_fs = match p.band_design {
        BandDesign::OriginalRate => fs,
        BandDesign::ProcessingRate => goal,
    };
    let sos = butter(1, Band::Pass(2.0 * 0.25 / design_fs, 2.0 * 5.0 / design_fs))?;
    let edge = padlen(&sos);
    let magnitude = |x: &[f64], y: &[f64], z: &[f64]| -> Result<Vec<f64>, ClassifierError> {
        let n = x.len().min(y.len()).min(z.len());
        if n <= edge {
            return Err(FilterError::TooShort { n, padlen: edge }.into());
        }
        let mut padded = Vec::with_capacity(n + 2 * edge);
        padded.resize(edge, 0.0);
        padded.extend(
            x[..n]
                .iter()
                .zip(&y[..n])
                .zip(&z[..n])
                .map(|((x, y), z)| (x * x + y * y + z * z).sqrt()),
        );
        // odd extension at both ends, as sosfiltfilt pads
        let (x0, xl) = (padded[edge], padded[edge + n - 1]);
        for i in 1..=edge {
            padded[edge - i] = 2.0 * x0 - padded[edge + i];
        }
        for i in 1..=edge {
            let v = 2.0 * xl - padded[edge + n - 1 - i];
            padded.push(v);
        }
        Ok(padded)
    };
    let (t, mut padded) = if fs != goal {
        let r = apply_resample(
            time,
            fs,
            goal,
            &[accel.x, accel.y, accel.z],
            p.downsample_aa_filter,
        )?;
        let empty: &[f64] = &[];
        let d = &r.data;
        let m = magnitude(
            d.first().map_or(empty, Vec::as_slice),
            d.get(1).map_or(empty, Vec::as_slice),
            d.get(2).map_or(empty, Vec::as_slice),
        )?;
        (Some(r.time), m)
    } else {
        (None, magnitude(accel.x, accel.y, accel.z)?)
    };
    let len = padded.len() - 2 * edge;
    filtfilt_padded_in_place(&sos, &mut padded);
    Ok(Prepared {
        time: t,
        padded,
        edge,
        len,
        fs: goal,
    })
}

/// Gait bouts of a lumbar recording (`accel` in g, `fs` in Hz). A recording shorter than one
/// window, or without gait, gives no bouts.
pub fn classify_gait(
    time: &[f64],
    accel: Axes<'_>,
    fs: f64,
    p: &ClassifierParams,
) -> Result<GaitClassification, ClassifierError> {
    let n = time.len();
    if accel.x.len() != n || accel.y.len() != n || accel.z.len() != n {
        return Err(ClassifierError::Shape);
    }
    if fs.is_nan() || fs < 20.0 {
        return Err(ClassifierError::LowFrequency { fs });
    }
    let e = embedded();
    let goal = if fs >= 50.0 { 50.0 } else { 20.0 };
    let wlen = (goal * 3.0) as usize;
    let model = if goal == 50.0 { &e.m50 } else { &e.m20 }
        .as_ref()
        .map_err(|m| ClassifierError::Model(m.clone()))?;
    let features = e
        .features
        .as_ref()
        .map_err(|m| ClassifierError::Model(m.clone()))?;
    let empty = GaitClassification {
        fs: goal,
        ..Default::default()
    };
    // a recording too short to filter or to fill one window holds no gait bout
    let prep = match prepare(time, accel, fs, p) {
        Ok(v) => v,
        Err(ClassifierError::Filter(FilterError::TooShort { .. })) => return Ok(empty),
        Err(e) => return Err(e),
    };
    let (filt, goal) = (prep.signal(), prep.fs);
    if filt.len() < wlen {
        return Ok(empty);
    }
    // windows stream straight into the model: no table of features is kept
    let mut cache = FftCache::default();
    let mut row = vec![0.0; features.len()];
    let probability: Vec<f64> = filt
        .chunks_exact(wlen)
        .map(|w| {
            window_row(w, goal, features, &mut cache, &mut row);
            model.predict(&row)
        })
        .collect();
    let gait: Vec<bool> = probability.iter().map(|&v| v > p.threshold).collect();
    let (lengths, starts, values) = rle(&gait);
    let mut s_ds = Vec::new();
    let mut e_ds = Vec::new();
    for ((l, s), v) in lengths.iter().zip(&starts).zip(&values) {
        if *v {
            s_ds.push(s * wlen);
            e_ds.push((s + l) * wlen);
        }
    }
    let t_ds = prep.time.as_deref().unwrap_or(time);
    if let Some(last) = e_ds.last_mut() {
        *last = (*last).min(t_ds.len().saturating_sub(1));
    }
    let s = resample_indices(t_ds, time, &s_ds);
    let en = resample_indices(t_ds, time, &e_ds);
    let bouts: Vec<(usize, usize)> = s
        .iter()
        .zip(&en)
        .map(|(&a, &b)| (a.min(n - 1), b.min(n - 1)))
        .collect();
    let bout_times = bouts.iter().map(|&(a, b)| (time[a], time[b])).collect();
    Ok(GaitClassification {
        fs: goal,
        probability,
        bouts,
        bout_times,
    })
}

/// The window features exactly as [`classify_gait`] computes them (rows = 3 s windows), for
/// inspection and tests.
pub fn classifier_features(
    time: &[f64],
    accel: Axes<'_>,
    fs: f64,
    p: &ClassifierParams,
) -> Result<Vec<Vec<f64>>, ClassifierError> {
    if fs.is_nan() || fs < 20.0 {
        return Err(ClassifierError::LowFrequency { fs });
    }
    let features = embedded()
        .features
        .as_ref()
        .map_err(|m| ClassifierError::Model(m.clone()))?;
    let prep = prepare(time, accel, fs, p)?;
    Ok(window_features(
        prep.signal(),
        (prep.fs * 3.0) as usize,
        prep.fs,
        features,
    ))
}
