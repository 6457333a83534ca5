//! APDM Opal HDF5 reader (`.h5` files exported by APDM's Mobility Lab / Motion Studio).
//!
//! Layout read (the one SKDH's `ReadApdmH5` reads): `/Sensors/<sensor id>/` holds the datasets
//! `Time` (unix microseconds, UTC), `Accelerometer` (n x 3, m/s^2), `Gyroscope` (n x 3, rad/s)
//! and `Temperature` (n, deg C), and its `Configuration` group carries the attributes
//! `Label 0` (the wear location the study team typed, e.g. `"Lumbar"`), `Sample Rate` (Hz) and
//! `Timezone Offset` (hours, as text). The sensor id (e.g. `"XI-010284"`) is the device serial.
//!
//! Units of the [`Recording`]: time in unix seconds (UTC unless
//! [`ApdmOptions::localize_timestamps`]), acceleration in g (m/s^2 divided by
//! [`ApdmOptions::gravity`], 9.81 by default as in SKDH), gyro in deg/s (the file's rad/s times
//! 180/pi; SKDH leaves it in rad/s), temperature in deg C.
//!
//! Decoding uses the pure-Rust `hdf5-pure` crate (no system libhdf5). Every call into it is
//! wrapped so that a panic on malformed bytes becomes [`ReadError::Corrupt`], and the sample
//! count a dataset declares is checked against what the file's size can hold before anything is
//! decoded.

use std::path::Path;

use hdf5_pure::{AttrValue, Dataset, File};

use super::{DataIssue, HeaderFacts, ReadError, Recording, Triaxial};

/// The device name reported in [`HeaderFacts::device`].
pub const DEVICE: &str = "APDM Opal";
/// The HDF5 format signature (first 8 bytes of the superblock).
pub const HDF5_SIGNATURE: [u8; 8] = *b"\x89HDF\r\n\x1a\n";
/// The sensor label read when [`ApdmOptions::sensor_label`] is `None` and the file has it.
pub const DEFAULT_LABEL: &str = "Lumbar";
/// m/s^2 per g that SKDH's `ReadApdmH5` divides by (its `gravity_acceleration` default).
pub const SKDH_GRAVITY: f64 = 9.81;
/// Largest output deflate can produce per input byte (zlib's bound is ~1032:1); caps the
/// samples a dataset may declare relative to the file size.
const MAX_DEFLATE_RATIO: u64 = 1032;

/// Options of the APDM reader.
#[derive(Debug, Clone, PartialEq)]
pub struct ApdmOptions {
    /// The sensor to read, by its `Label 0` (e.g. `"Left Wrist"`) or by its sensor id
    /// (e.g. `"XI-010284"`). `None`: the sensor labelled [`DEFAULT_LABEL`] if there is one,
    /// else the only sensor of a single-sensor file, else an error that lists the labels.
    pub sensor_label: Option<String>,
    /// m/s^2 per g used to convert the accelerometer to g. Default [`SKDH_GRAVITY`] (9.81) so
    /// that values equal SKDH's; use [`super::csv::STANDARD_GRAVITY`] (9.80665) for standard
    /// gravity.
    pub gravity: f64,
    /// Add the sensor's `Timezone Offset` to the times (SKDH's default
    /// `localize_timestamps=True`), giving local wall-clock time read as UTC. Default `false`:
    /// the times stay UTC instants, which is what the pipeline expects when the subject's time
    /// zone is known.
    pub localize_timestamps: bool,
}

impl Default for ApdmOptions {
    fn default() -> Self {
        Self {
            sensor_label: None,
            gravity: SKDH_GRAVITY,
            localize_timestamps: false,
        }
    }
}

/// One sensor of an APDM file.
#[derive(Debug, Clone, PartialEq)]
pub struct ApdmSensor {
    /// Sensor id, the group name under `/Sensors` (the device serial, e.g. `"XI-010284"`).
    pub id: String,
    /// The `Label 0` configuration attribute (wear location), when readable.
    pub label: Option<String>,
    /// The `Sample Rate` configuration attribute, Hz, when readable.
    pub sample_rate: Option<f64>,
    /// The `Timezone Offset` configuration attribute, hours east of UTC, when readable.
    pub timezone_offset_hours: Option<f64>,
}

/// True when `prefix` starts with the HDF5 signature (APDM files have no user block, so the
/// superblock is at byte 0).
pub fn is_hdf5(prefix: &[u8]) -> bool {
    prefix.starts_with(&HDF5_SIGNATURE)
}

/// Runs `hdf5-pure` code, turning a panic inside it into an error: the crate is not known to be
/// panic-free on arbitrary bytes, and a reader must never bring a service down.
fn guarded<T>(f: impl FnOnce() -> Result<T, ReadError>) -> Result<T, ReadError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|_| {
        Err(ReadError::Corrupt {
            offset: 0,
            what: "HDF5 decoder failed on malformed data".into(),
        })
    })
}

/// Maps an `hdf5-pure` error to ours; `size` is the number of bytes available (where a
/// truncated file ended). HDF5 errors carry no byte offset, so structural errors name byte 0
/// and say what was being read.
fn h5_err(what: &str, size: u64, e: hdf5_pure::Error) -> ReadError {
    match e {
        hdf5_pure::Error::Io(io) => ReadError::Io(io),
        hdf5_pure::Error::Format(hdf5_pure::FormatError::UnexpectedEof { .. }) => {
            ReadError::Truncated {
                offset: size,
                what: format!("HDF5 {what}: the file ends inside it"),
            }
        }
        other => ReadError::Corrupt {
            offset: 0,
            what: format!("HDF5 {what}: {other}"),
        },
    }
}

/// The text of a string attribute (any of HDF5's fixed or variable string forms).
fn attr_text(v: &AttrValue) -> Option<String> {
    let s = match v {
        AttrValue::String(s) | AttrValue::AsciiString(s) => s,
        AttrValue::StringSized { value, .. } | AttrValue::AsciiStringSized { value, .. } => value,
        AttrValue::StringArray(a) | AttrValue::AsciiStringArray(a) if a.len() == 1 => &a[0],
        _ => return None,
    };
    Some(s.trim_end_matches('\0').trim().to_string())
}

/// A numeric attribute (or a number written as text, as APDM does for `Timezone Offset`).
fn attr_number(v: &AttrValue) -> Option<f64> {
    let x = match v {
        AttrValue::F32(x) => f64::from(*x),
        AttrValue::F64(x) => *x,
        AttrValue::I8(x) => f64::from(*x),
        AttrValue::I16(x) => f64::from(*x),
        AttrValue::I32(x) => f64::from(*x),
        AttrValue::I64(x) => *x as f64,
        AttrValue::U8(x) => f64::from(*x),
        AttrValue::U16(x) => f64::from(*x),
        AttrValue::U32(x) => f64::from(*x),
        AttrValue::U64(x) => *x as f64,
        other => attr_text(other)?.parse().ok()?,
    };
    x.is_finite().then_some(x)
}

/// The sensors under `/Sensors`, in file order, with what their configuration says. A sensor
/// whose configuration cannot be read is still listed (without label), as SKDH skips only it.
fn list_sensors(file: &File, size: u64) -> Result<Vec<ApdmSensor>, ReadError> {
    let group = file
        .group("Sensors")
        .map_err(|e| h5_err("group /Sensors (not an APDM file?)", size, e))?;
    let ids = group
        .groups()
        .map_err(|e| h5_err("members of /Sensors", size, e))?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let attrs = file
            .group(&format!("Sensors/{id}/Configuration"))
            .and_then(|g| g.attrs())
            .ok();
        let get = |k: &str| attrs.as_ref().and_then(|a| a.get(k));
        out.push(ApdmSensor {
            label: get("Label 0").and_then(attr_text),
            sample_rate: get("Sample Rate")
                .and_then(attr_number)
                .filter(|r| *r > 0.0),
            timezone_offset_hours: get("Timezone Offset").and_then(attr_number),
            id,
        });
    }
    Ok(out)
}

/// Lists the sensors of an APDM file on disk (reading only metadata).
pub fn sensors(path: impl AsRef<Path>) -> Result<Vec<ApdmSensor>, ReadError> {
    guarded(|| {
        let file = open_path(path.as_ref())?;
        list_sensors(&file, file.file_size())
    })
}

/// `"'Lumbar' (XI-010284), 'Left Wrist' (XI-012367)"`: what an error shows to let the user pick.
fn describe(sensors: &[ApdmSensor]) -> String {
    let items: Vec<String> = sensors
        .iter()
        .map(|s| match &s.label {
            Some(l) => format!("'{l}' ({})", s.id),
            None => format!("unlabelled ({})", s.id),
        })
        .collect();
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

/// Picks the sensor `wanted` names (label first, then sensor id), or the default one.
fn choose<'a>(
    sensors: &'a [ApdmSensor],
    wanted: Option<&str>,
) -> Result<&'a ApdmSensor, ReadError> {
    let by_label = |l: &str| -> Result<Option<&'a ApdmSensor>, ReadError> {
        let hits: Vec<&ApdmSensor> = sensors
            .iter()
            .filter(|s| s.label.as_deref() == Some(l))
            .collect();
        match hits.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(one)),
            many => Err(ReadError::Unsupported(format!(
                "APDM sensor label '{l}' is on {} sensors ({}); choose one by sensor id",
                many.len(),
                describe(sensors)
            ))),
        }
    };
    match wanted {
        Some(w) => {
            if let Some(s) = by_label(w)? {
                return Ok(s);
            }
            sensors.iter().find(|s| s.id == w).ok_or_else(|| {
                ReadError::Unsupported(format!(
                    "no APDM sensor labelled '{w}'; the file has: {}",
                    describe(sensors)
                ))
            })
        }
        None => {
            if let Some(s) = by_label(DEFAULT_LABEL)? {
                return Ok(s);
            }
            match sensors {
                [one] => Ok(one),
                _ => Err(ReadError::Unsupported(format!(
                    "the APDM file has {} sensors and none labelled '{DEFAULT_LABEL}': choose \
                     one with the sensor label option; the file has: {}",
                    sensors.len(),
                    describe(sensors)
                ))),
            }
        }
    }
}

/// A dataset of the chosen sensor, `None` when absent. A dataset that is there but cannot be
/// opened is an error, not an absent channel: no data is dropped silently.
fn dataset(file: &File, id: &str, name: &str, size: u64) -> Result<Option<Dataset>, ReadError> {
    match file.dataset(&format!("Sensors/{id}/{name}")) {
        Ok(d) => Ok(Some(d)),
        Err(hdf5_pure::Error::Format(hdf5_pure::FormatError::PathNotFound(_))) => Ok(None),
        Err(e) => Err(h5_err(&format!("dataset {name} of sensor {id}"), size, e)),
    }
}

/// The `Units` attribute of a dataset, lower-case, when present.
fn units(ds: &Dataset) -> Option<String> {
    let attrs = ds.attrs().ok()?;
    attrs
        .get("Units")
        .and_then(attr_text)
        .map(|u| u.to_ascii_lowercase())
}

/// Checks a dataset's shape against `cols` columns and returns its row count, refusing a row
/// count the file cannot hold (so nothing is allocated from a corrupt header).
fn rows(ds: &Dataset, name: &str, cols: u64, size: u64) -> Result<usize, ReadError> {
    let shape = ds
        .shape()
        .map_err(|e| h5_err(&format!("shape of {name}"), size, e))?;
    let (n, c) = match shape.as_slice() {
        [n] => (*n, 1),
        [n, c] => (*n, *c),
        _ => (0, 0),
    };
    if c != cols {
        return Err(ReadError::Corrupt {
            offset: 0,
            what: format!("APDM {name} has shape {shape:?}, expected (n, {cols})"),
        });
    }
    let bytes = n.saturating_mul(cols).saturating_mul(8);
    let limit = size.saturating_mul(MAX_DEFLATE_RATIO);
    if bytes > limit {
        return Err(ReadError::Corrupt {
            offset: 0,
            what: format!(
                "APDM {name} declares {n} samples, more than a {size}-byte file can hold"
            ),
        });
    }
    usize::try_from(n).map_err(|_| ReadError::Corrupt {
        offset: 0,
        what: format!("APDM {name} declares {n} samples"),
    })
}

/// Reads an n x 3 dataset into axes, scaled by `scale`.
fn read_axes(
    ds: &Dataset,
    name: &str,
    n: usize,
    scale: f64,
    size: u64,
) -> Result<Triaxial, ReadError> {
    let flat = ds
        .read_f64()
        .map_err(|e| h5_err(&format!("dataset {name}"), size, e))?;
    if flat.len() != n * 3 {
        return Err(ReadError::Corrupt {
            offset: 0,
            what: format!(
                "APDM {name} decoded {} values, expected {}",
                flat.len(),
                n * 3
            ),
        });
    }
    let mut t = Triaxial::with_capacity(n);
    for v in flat.chunks_exact(3) {
        // Divide, not multiply by the inverse, so values equal SKDH's `accel / g` bit for bit.
        t.push([v[0] / scale, v[1] / scale, v[2] / scale]);
    }
    Ok(t)
}

/// The accelerometer's divisor to reach g from its `Units`.
fn accel_divisor(ds: &Dataset, gravity: f64) -> Result<f64, ReadError> {
    match units(ds).as_deref() {
        None | Some("m/s^2" | "m/s2" | "m s^-2" | "m/s/s") => Ok(gravity),
        Some("g") => Ok(1.0),
        Some(u) => Err(ReadError::Unsupported(format!(
            "APDM accelerometer units '{u}'"
        ))),
    }
}

/// The gyroscope's divisor to reach deg/s from its `Units`.
fn gyro_divisor(ds: &Dataset) -> Result<f64, ReadError> {
    match units(ds).as_deref() {
        None | Some("rad/s" | "rad s^-1") => Ok(std::f64::consts::PI / 180.0),
        Some("deg/s" | "dps") => Ok(1.0),
        Some(u) => Err(ReadError::Unsupported(format!(
            "APDM gyroscope units '{u}'"
        ))),
    }
}

/// The time dataset's divisor to reach seconds from its `Units` (microseconds by default).
fn time_divisor(ds: &Dataset) -> Result<f64, ReadError> {
    match units(ds).as_deref() {
        None | Some("microseconds" | "us") => Ok(1e6),
        Some("milliseconds" | "ms") => Ok(1e3),
        Some("seconds" | "s") => Ok(1.0),
        Some(u) => Err(ReadError::Unsupported(format!("APDM time units '{u}'"))),
    }
}

/// Seconds added to UTC times for `localize_timestamps`.
fn local_shift(sensor: &ApdmSensor, opts: &ApdmOptions) -> Result<f64, ReadError> {
    if !opts.localize_timestamps {
        return Ok(0.0);
    }
    sensor
        .timezone_offset_hours
        .map(|h| h * 3600.0)
        .ok_or_else(|| {
            ReadError::Unsupported(format!(
                "APDM sensor {} has no readable 'Timezone Offset' to localize times with",
                sensor.id
            ))
        })
}

/// Decodes the chosen sensor of an open file.
fn read_open(file: &File, size: u64, opts: &ApdmOptions) -> Result<Recording, ReadError> {
    if !(opts.gravity.is_finite() && opts.gravity > 0.0) {
        return Err(ReadError::Unsupported(format!(
            "gravity {} m/s^2 per g",
            opts.gravity
        )));
    }
    let all = list_sensors(file, size)?;
    let sensor = choose(&all, opts.sensor_label.as_deref())?;
    let id = &sensor.id;
    let missing = |name: &str| ReadError::Corrupt {
        offset: 0,
        what: format!("APDM sensor {id} has no {name} dataset"),
    };

    let time_ds = dataset(file, id, "Time", size)?.ok_or_else(|| missing("Time"))?;
    let n = rows(&time_ds, "Time", 1, size)?;
    let accel_ds =
        dataset(file, id, "Accelerometer", size)?.ok_or_else(|| missing("Accelerometer"))?;
    let gyro_ds = dataset(file, id, "Gyroscope", size)?;
    let temp_ds = dataset(file, id, "Temperature", size)?;
    let same_len = |ds: &Dataset, name: &str, cols: u64| -> Result<(), ReadError> {
        let m = rows(ds, name, cols, size)?;
        super::check_same_len(&[("Time", n), (name, m)])
    };
    same_len(&accel_ds, "Accelerometer", 3)?;
    if let Some(g) = &gyro_ds {
        same_len(g, "Gyroscope", 3)?;
    }
    if let Some(t) = &temp_ds {
        same_len(t, "Temperature", 1)?;
    }

    let tdiv = time_divisor(&time_ds)?;
    let shift = local_shift(sensor, opts)?;
    let raw_time = time_ds
        .read_f64()
        .map_err(|e| h5_err("dataset Time", size, e))?;
    super::check_same_len(&[("Time", n), ("decoded Time", raw_time.len())])?;
    let time: Vec<f64> = raw_time.iter().map(|t| t / tdiv + shift).collect();
    drop(raw_time);

    let accel = read_axes(
        &accel_ds,
        "Accelerometer",
        n,
        accel_divisor(&accel_ds, opts.gravity)?,
        size,
    )?;
    let gyro = match &gyro_ds {
        Some(g) => Some(read_axes(g, "Gyroscope", n, gyro_divisor(g)?, size)?),
        None => None,
    };
    let temperature = match &temp_ds {
        Some(t) => {
            let v = t
                .read_f64()
                .map_err(|e| h5_err("dataset Temperature", size, e))?;
            super::check_same_len(&[("Time", n), ("decoded Temperature", v.len())])?;
            Some(v)
        }
        None => None,
    };

    let mut issues = Vec::new();
    let eof = file.superblock().eof_address;
    if eof > size {
        // The chosen sensor decoded completely, but the copy is shorter than the writer left
        // it: say so rather than pass a truncated upload off as whole.
        issues.push(DataIssue {
            offset: size,
            message: format!(
                "the file ends at byte {size}, before the HDF5 end-of-file address {eof}: a \
                 truncated copy (the samples read were complete)"
            ),
        });
    }
    let fs = sensor.sample_rate.unwrap_or_else(|| estimate_rate(&time));
    let mut header = facts_for(file, sensor, size, opts);
    header.start = time.first().copied();
    header.end = time.last().copied();
    header.end_is_estimate = false;
    header.sample_rate = Some(fs).filter(|r| r.is_finite() && *r > 0.0);
    let rec = Recording {
        time,
        accel,
        gyro,
        temperature,
        light: None,
        fs,
        header,
        issues,
    };
    rec.check_lengths()?;
    Ok(rec)
}

/// (n - 1) / duration when the file has no `Sample Rate`; NaN when it cannot be told.
fn estimate_rate(time: &[f64]) -> f64 {
    match (time.first(), time.last()) {
        (Some(a), Some(b)) if time.len() > 1 && b > a => (time.len() - 1) as f64 / (b - a),
        _ => f64::NAN,
    }
}

/// Header facts of `sensor`, reading only metadata and the first and last time values. A part
/// that cannot be read (e.g. beyond a prefix) is left out instead of failing.
fn facts_for(file: &File, sensor: &ApdmSensor, size: u64, opts: &ApdmOptions) -> HeaderFacts {
    let id = &sensor.id;
    let mut facts = HeaderFacts {
        device: DEVICE.to_string(),
        device_id: Some(id.clone()),
        sample_rate: sensor.sample_rate,
        ..HeaderFacts::default()
    };
    // Lenient: a part beyond a prefix (or damaged) is left out of the facts.
    let dataset = |name: &str| dataset(file, id, name, size).ok().flatten();
    if let Some(acc) = dataset("Accelerometer") {
        facts.channels.push("accel".into());
        let upper = acc
            .attrs()
            .ok()
            .and_then(|a| a.get("Upper Limit").and_then(attr_number));
        if let (Some(u), Ok(div)) = (upper, accel_divisor(&acc, opts.gravity)) {
            facts.accel_range_g = Some(u / div);
        }
    }
    if dataset("Gyroscope").is_some() {
        facts.channels.push("gyro".into());
    }
    if dataset("Temperature").is_some() {
        facts.channels.push("temperature".into());
    }
    let shift = local_shift(sensor, opts).unwrap_or(0.0);
    if let Some(t) = dataset("Time")
        && let Ok(n) = rows(&t, "Time", 1, size)
        && let Ok(div) = time_divisor(&t)
        && n > 0
    {
        let at = |row: usize| -> Option<f64> {
            let v = t.read_f64_rows(row as u64, 1).ok()?;
            v.first().map(|x| x / div + shift)
        };
        facts.start = at(0);
        facts.end = at(n - 1);
        if facts.end.is_none()
            && let (Some(s), Some(r)) = (facts.start, sensor.sample_rate)
        {
            facts.end = Some(s + (n - 1) as f64 / r);
            facts.end_is_estimate = true;
        }
    }
    facts
}

/// Header facts for the sensor `opts` selects, or (when the choice is ambiguous) the first
/// sensor with `device_id` left empty, so that a catalog can still register the file.
fn header_open(file: &File, size: u64, opts: &ApdmOptions) -> Result<HeaderFacts, ReadError> {
    let all = list_sensors(file, size)?;
    let (sensor, known) = match choose(&all, opts.sensor_label.as_deref()) {
        Ok(s) => (s, true),
        Err(e) => match all.first() {
            Some(first) if opts.sensor_label.is_none() => (first, false),
            _ => return Err(e),
        },
    };
    let mut facts = facts_for(file, sensor, size, opts);
    if !known {
        facts.device_id = None;
    }
    Ok(facts)
}

/// Opens a file on disk reading metadata and chunks on demand (no whole-file copy).
fn open_path(path: &Path) -> Result<File, ReadError> {
    let size = std::fs::metadata(path)?.len();
    File::open_streaming(path).map_err(|e| h5_err("superblock", size, e))
}

/// Header facts from the first bytes of a file (`prefix`) and its size. HDF5 spreads its
/// metadata through the file, so a prefix that does not reach it gives only the device name
/// (format confirmed by the signature); use [`read_header_path`] for the full facts.
pub fn read_header(prefix: &[u8], file_size: Option<u64>) -> Result<HeaderFacts, ReadError> {
    if !is_hdf5(prefix) {
        return Err(ReadError::UnknownFormat(
            "no HDF5 signature at byte 0".to_string(),
        ));
    }
    let whole = file_size.is_none_or(|s| s <= prefix.len() as u64);
    let size = prefix.len() as u64;
    let parsed = guarded(|| {
        let file = File::from_bytes(prefix.to_vec()).map_err(|e| h5_err("superblock", size, e))?;
        header_open(&file, size, &ApdmOptions::default())
    });
    match parsed {
        Ok(facts) => Ok(facts),
        Err(e) if whole => Err(e),
        Err(_) => Ok(HeaderFacts {
            device: DEVICE.to_string(),
            ..HeaderFacts::default()
        }),
    }
}

/// Header facts of a file on disk, reading only its metadata and two time values.
pub fn read_header_path(path: impl AsRef<Path>) -> Result<HeaderFacts, ReadError> {
    guarded(|| {
        let file = open_path(path.as_ref())?;
        header_open(&file, file.file_size(), &ApdmOptions::default())
    })
}

/// Reads the sensor `opts` selects from an APDM file held in memory.
pub fn read(bytes: &[u8], opts: &ApdmOptions) -> Result<Recording, ReadError> {
    let size = bytes.len() as u64;
    guarded(|| {
        let file = File::from_bytes(bytes.to_vec()).map_err(|e| h5_err("superblock", size, e))?;
        read_open(&file, size, opts)
    })
}

/// Reads the sensor `opts` selects from an APDM file on disk, fetching chunks on demand (peak
/// memory is the output arrays plus one decoded chunk).
pub fn read_file(path: impl AsRef<Path>, opts: &ApdmOptions) -> Result<Recording, ReadError> {
    guarded(|| {
        let file = open_path(path.as_ref())?;
        read_open(&file, file.file_size(), opts)
    })
}
