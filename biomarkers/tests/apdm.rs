//! APDM Opal HDF5 reader: SKDH's reference values on the sample file (6 sensors), sensor
//! choice, header facts, dispatch, small files written here with `hdf5-pure`, and bad input.

use std::path::PathBuf;

use biomarkers::io::{self, Format, ReadError, ReadOptions, Recording, apdm};
use hdf5_pure::{AttrValue, FileBuilder};

const TOL: f64 = 1e-6;

fn data(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data")
        .join(rel)
}

fn sample() -> PathBuf {
    data("skdh/io/apdm_sample.h5")
}

fn reference() -> serde_json::Value {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/reference/apdm_sample.json");
    serde_json::from_str(&std::fs::read_to_string(p).expect("reference json")).expect("json")
}

fn num(v: &serde_json::Value) -> f64 {
    v.as_f64().expect("number")
}

fn close(a: f64, b: f64, what: &str) {
    assert!((a - b).abs() <= TOL, "{what}: ours {a} vs SKDH {b}");
}

/// Compares one channel's columns (after `to_skdh` maps ours to SKDH's units) with the
/// reference summary: length, first/last three, three inner samples, mean.
fn compare(cols: &[&[f64]], summary: &serde_json::Value, to_skdh: f64, what: &str) {
    let n = summary["len"].as_u64().expect("len") as usize;
    assert_eq!(cols[0].len(), n, "{what}: length");
    let value = |i: usize, c: usize| cols[c][i] * to_skdh;
    let row = |v: &serde_json::Value, c: usize| -> f64 {
        if cols.len() == 1 { num(v) } else { num(&v[c]) }
    };
    for c in 0..cols.len() {
        for k in 0..3 {
            close(value(k, c), row(&summary["first"][k], c), what);
            close(value(n - 3 + k, c), row(&summary["last"][k], c), what);
            let i = summary["inner_index"][k].as_u64().expect("index") as usize;
            close(value(i, c), row(&summary["inner"][k], c), what);
        }
        // Summed relative to the first value: a naive sum of 36,460 unix times loses ~1e-3 s.
        let v0 = cols[c][0];
        let mean = (v0 + cols[c].iter().map(|v| v - v0).sum::<f64>() / n as f64) * to_skdh;
        let want = if cols.len() == 1 {
            num(&summary["mean"])
        } else {
            num(&summary["mean"][c])
        };
        close(mean, want, &format!("{what} mean"));
    }
}

fn compare_recording(rec: &Recording, r: &serde_json::Value) {
    compare(&[&rec.time], &r["time"], 1.0, "time");
    let a = &rec.accel;
    compare(&[&a.x, &a.y, &a.z], &r["accel"], 1.0, "accel");
    let g = rec.gyro.as_ref().expect("gyro");
    // Ours is deg/s, SKDH keeps the file's rad/s.
    compare(
        &[&g.x, &g.y, &g.z],
        &r["gyro"],
        std::f64::consts::PI / 180.0,
        "gyro",
    );
    let t = rec.temperature.as_ref().expect("temperature");
    compare(&[t], &r["temperature"], 1.0, "temperature");
}

#[test]
fn default_sensor_is_lumbar_and_equals_skdh() {
    let refj = reference();
    let rec = apdm::read_file(sample(), &apdm::ApdmOptions::default()).expect("read");
    compare_recording(&rec, &refj["sensors"]["Lumbar"]);
    assert_eq!(rec.fs, 128.0);
    assert_eq!(rec.header.device, "APDM Opal");
    assert_eq!(rec.header.device_id.as_deref(), Some("XI-010284"));
    assert!(rec.light.is_none());
    assert!(rec.issues.is_empty());
}

#[test]
fn sensor_chosen_by_label_or_id_equals_skdh() {
    let refj = reference();
    let by_label = apdm::ApdmOptions {
        sensor_label: Some("Left Wrist".into()),
        ..Default::default()
    };
    let rec = apdm::read_file(sample(), &by_label).expect("read");
    compare_recording(&rec, &refj["sensors"]["Left Wrist"]);
    let by_id = apdm::ApdmOptions {
        sensor_label: Some("XI-012367".into()),
        ..Default::default()
    };
    let rec2 = apdm::read_file(sample(), &by_id).expect("read by id");
    assert_eq!(rec2.accel, rec.accel);
    assert_eq!(rec2.header.device_id.as_deref(), Some("XI-012367"));
}

#[test]
fn localized_times_match_skdh_default() {
    let refj = reference();
    let opts = apdm::ApdmOptions {
        localize_timestamps: true,
        ..Default::default()
    };
    let rec = apdm::read_file(sample(), &opts).expect("read");
    close(
        rec.time[0],
        num(&refj["sensors"]["Lumbar"]["time_localized_first"]),
        "localized time",
    );
}

#[test]
fn standard_gravity_option_scales_accel() {
    let skdh = apdm::read_file(sample(), &apdm::ApdmOptions::default()).expect("read");
    let opts = apdm::ApdmOptions {
        gravity: io::csv::STANDARD_GRAVITY,
        ..Default::default()
    };
    let std_g = apdm::read_file(sample(), &opts).expect("read");
    let ratio = std_g.accel.x[0] / skdh.accel.x[0];
    close(ratio, 9.81 / 9.80665, "gravity ratio");
}

#[test]
fn unknown_label_lists_the_sensors() {
    let opts = apdm::ApdmOptions {
        sensor_label: Some("Head".into()),
        ..Default::default()
    };
    let err = apdm::read_file(sample(), &opts).expect_err("no such sensor");
    let msg = err.to_string();
    for label in ["Lumbar", "Left Wrist", "Right Foot", "Sternum", "XI-010284"] {
        assert!(msg.contains(label), "{msg}");
    }
}

#[test]
fn sensors_lists_ids_labels_rates() {
    let s = apdm::sensors(sample()).expect("sensors");
    assert_eq!(s.len(), 6);
    assert_eq!(s[0].id, "XI-010284");
    assert_eq!(s[0].label.as_deref(), Some("Lumbar"));
    assert!(s.iter().all(|x| x.sample_rate == Some(128.0)));
    assert!(s.iter().all(|x| x.timezone_offset_hours == Some(-4.0)));
}

#[test]
fn header_facts_from_the_file_and_from_a_prefix() {
    let refj = reference();
    let lumbar = &refj["sensors"]["Lumbar"]["time"];
    let facts = io::read_header_file(&sample()).expect("header");
    assert_eq!(facts.format, Some(Format::Apdm));
    assert_eq!(facts.device, "APDM Opal");
    assert_eq!(facts.device_id.as_deref(), Some("XI-010284"));
    assert_eq!(facts.sample_rate, Some(128.0));
    close(
        facts.start.expect("start"),
        num(&lumbar["first"][0]),
        "start",
    );
    close(facts.end.expect("end"), num(&lumbar["last"][2]), "end");
    assert!(!facts.end_is_estimate);
    assert_eq!(facts.channels, ["accel", "gyro", "temperature"]);
    let range = facts.accel_range_g.expect("range");
    close(range, 1980.0 / 9.81, "accel range");
    let size = std::fs::metadata(sample()).expect("meta").len();
    assert_eq!(facts.file_size, Some(size));

    // A 64 KB prefix (a ranged GET) does not reach HDF5's scattered metadata: the format and
    // device are still known.
    let bytes = std::fs::read(sample()).expect("read");
    let prefix = &bytes[..io::HEADER_PREFIX_LEN];
    let pf = io::read_header(prefix, Some(size), Some("walk.h5")).expect("prefix header");
    assert_eq!(pf.format, Some(Format::Apdm));
    assert_eq!(pf.device, "APDM Opal");
    assert_eq!(pf.file_size, Some(size));
    // The whole file given as the prefix gives every fact.
    let full = io::read_header(&bytes, Some(size), None).expect("whole header");
    assert_eq!(full.start, facts.start);
    assert_eq!(full.device_id, facts.device_id);
}

#[test]
fn dispatch_detects_and_reads_apdm() {
    let bytes = std::fs::read(sample()).expect("read");
    assert_eq!(io::detect_format(&bytes[..8], None), Some(Format::Apdm));
    assert_eq!(
        io::detect_format(&bytes[..64], Some("x.csv")),
        Some(Format::Apdm)
    );
    assert_eq!(Format::Apdm.name(), "apdm");
    let rec = io::read_file(&sample(), &ReadOptions::default()).expect("read");
    assert_eq!(rec.header.format, Some(Format::Apdm));
    assert_eq!(rec.len(), 36460);
    let opts = ReadOptions {
        apdm: apdm::ApdmOptions {
            sensor_label: Some("Sternum".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let st = io::read_file(&sample(), &opts).expect("sternum");
    assert_eq!(st.header.device_id.as_deref(), Some("XI-012259"));
    // read() from memory gives what the streaming file read gives.
    let mem = apdm::read(&bytes, &apdm::ApdmOptions::default()).expect("mem");
    assert_eq!(mem.time, rec.time);
    assert_eq!(mem.accel, rec.accel);
}

/// One sensor for [`opal`]: id, label, n samples, and whether to write a gyroscope.
struct Sensor<'a> {
    id: &'a str,
    label: &'a str,
    n: usize,
    gyro: bool,
    accel_rows: usize,
}

fn sensor<'a>(id: &'a str, label: &'a str, n: usize) -> Sensor<'a> {
    Sensor {
        id,
        label,
        n,
        gyro: true,
        accel_rows: n,
    }
}

/// A small APDM-shaped file: `/Sensors/<id>/{Time,Accelerometer,Gyroscope,Temperature}` and
/// `Configuration` attributes, values chosen so conversions are easy to check.
fn opal(sensors: &[Sensor]) -> Vec<u8> {
    let mut fb = FileBuilder::new();
    let mut top = fb.create_group("Sensors");
    for s in sensors {
        let mut g = top.create_group(s.id);
        let mut cfg = g.create_group("Configuration");
        cfg.set_attr("Label 0", AttrValue::AsciiString(s.label.into()));
        cfg.set_attr("Sample Rate", AttrValue::U32(100));
        cfg.set_attr("Timezone Offset", AttrValue::AsciiString("2.00".into()));
        g.add_group(cfg.finish());
        let time: Vec<u64> = (0..s.n as u64)
            .map(|i| 1_600_000_000_000_000 + i * 10_000)
            .collect();
        g.create_dataset("Time")
            .with_u64_data(&time)
            .set_attr("Units", AttrValue::AsciiString("microseconds".into()));
        let acc: Vec<f64> = (0..s.accel_rows * 3).map(|i| i as f64 * 9.81).collect();
        g.create_dataset("Accelerometer")
            .with_f64_data(&acc)
            .with_shape(&[s.accel_rows as u64, 3])
            .set_attr("Units", AttrValue::AsciiString("m/s^2".into()));
        if s.gyro {
            let gy: Vec<f64> = (0..s.n * 3).map(|_| std::f64::consts::PI).collect();
            g.create_dataset("Gyroscope")
                .with_f64_data(&gy)
                .with_shape(&[s.n as u64, 3])
                .set_attr("Units", AttrValue::AsciiString("rad/s".into()));
        }
        let temp: Vec<f64> = (0..s.n).map(|i| 20.0 + i as f64).collect();
        g.create_dataset("Temperature").with_f64_data(&temp);
        top.add_group(g.finish());
    }
    fb.add_group(top.finish());
    fb.finish().expect("write hdf5")
}

#[test]
fn synthetic_single_sensor_without_lumbar_is_read() {
    let bytes = opal(&[sensor("XI-1", "Left Foot", 5)]);
    let rec = apdm::read(&bytes, &apdm::ApdmOptions::default()).expect("read");
    assert_eq!(rec.len(), 5);
    assert_eq!(rec.time[1], 1_600_000_000.01);
    assert_eq!(rec.accel.x[1], 3.0);
    assert_eq!(rec.accel.z[4], 14.0);
    let g = rec.gyro.expect("gyro");
    assert!((g.y[2] - 180.0).abs() < 1e-12);
    assert_eq!(rec.temperature.expect("temp")[4], 24.0);
    assert_eq!(rec.fs, 100.0);
    assert_eq!(rec.header.device_id.as_deref(), Some("XI-1"));

    let local = apdm::ApdmOptions {
        localize_timestamps: true,
        ..Default::default()
    };
    let rec = apdm::read(&bytes, &local).expect("read");
    assert_eq!(rec.time[0], 1_600_000_000.0 + 7200.0);
}

#[test]
fn synthetic_several_sensors_without_lumbar_need_a_choice() {
    let bytes = opal(&[
        sensor("XI-1", "Left Foot", 4),
        sensor("XI-2", "Right Foot", 4),
    ]);
    let err = apdm::read(&bytes, &apdm::ApdmOptions::default()).expect_err("ambiguous");
    let msg = err.to_string();
    assert!(
        msg.contains("'Left Foot' (XI-1)") && msg.contains("'Right Foot' (XI-2)"),
        "{msg}"
    );
    // The catalog can still register it: facts of the first sensor, no device id.
    let facts = io::read_header(&bytes, Some(bytes.len() as u64), None).expect("facts");
    assert_eq!(facts.format, Some(Format::Apdm));
    assert_eq!(facts.device_id, None);
    assert_eq!(facts.start, Some(1_600_000_000.0));
    assert_eq!(facts.end, Some(1_600_000_000.03));
    let opts = apdm::ApdmOptions {
        sensor_label: Some("Right Foot".into()),
        ..Default::default()
    };
    let rec = apdm::read(&bytes, &opts).expect("chosen");
    assert_eq!(rec.header.device_id.as_deref(), Some("XI-2"));
}

#[test]
fn synthetic_duplicate_label_is_an_error() {
    let bytes = opal(&[sensor("XI-1", "Lumbar", 4), sensor("XI-2", "Lumbar", 4)]);
    let err = apdm::read(&bytes, &apdm::ApdmOptions::default()).expect_err("ambiguous");
    assert!(matches!(err, ReadError::Unsupported(_)), "{err}");
    let by_id = apdm::ApdmOptions {
        sensor_label: Some("XI-2".into()),
        ..Default::default()
    };
    let rec = apdm::read(&bytes, &by_id).expect("a sensor id resolves a shared label");
    assert_eq!(rec.header.device_id.as_deref(), Some("XI-2"));
}

#[test]
fn synthetic_missing_gyro_and_length_mismatch() {
    let mut s = sensor("XI-1", "Lumbar", 6);
    s.gyro = false;
    let rec = apdm::read(&opal(&[s]), &apdm::ApdmOptions::default()).expect("read");
    assert!(rec.gyro.is_none());
    assert_eq!(rec.len(), 6);

    let mut s = sensor("XI-1", "Lumbar", 6);
    s.accel_rows = 5;
    let err = apdm::read(&opal(&[s]), &apdm::ApdmOptions::default()).expect_err("mismatch");
    match err {
        ReadError::Corrupt { what, .. } => {
            assert!(what.contains("Accelerometer") && what.contains('5') && what.contains('6'));
        }
        other => panic!("{other}"),
    }
}

#[test]
fn bad_bytes_give_errors_not_panics() {
    let bytes = std::fs::read(sample()).expect("read");
    let opts = apdm::ApdmOptions::default();
    assert!(apdm::read(&[], &opts).is_err());
    assert!(apdm::read(&apdm::HDF5_SIGNATURE, &opts).is_err());
    for len in [8, 100, 1000, 4096, 65_536, bytes.len() / 2] {
        let r = apdm::read(&bytes[..len], &opts);
        assert!(r.is_err(), "truncated to {len} bytes read fine");
        let _ = io::read_header(&bytes[..len], Some(len as u64), None);
    }
    // The last byte is not part of the Lumbar sensor's data: the read succeeds and reports the
    // truncation.
    let len = bytes.len() - 1;
    let rec = apdm::read(&bytes[..len], &opts).expect("data complete");
    assert_eq!(rec.issues.len(), 1, "{:?}", rec.issues);
    assert_eq!(rec.issues[0].offset, len as u64);
    // Scattered byte damage in the metadata region: any answer but a panic is fine, and a
    // recording that comes back keeps its invariant.
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    for _ in 0..40 {
        let mut v = bytes.clone();
        for _ in 0..4 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let p = (state % 200_000) as usize;
            v[p] = (state >> 32) as u8;
        }
        if let Ok(rec) = apdm::read(&v, &opts) {
            assert_eq!(rec.accel.len(), rec.len());
        }
    }
    let dir = tempfile::tempdir().expect("tmp");
    let empty = dir.path().join("empty.h5");
    std::fs::write(&empty, b"").expect("write");
    match io::read_file(&empty, &ReadOptions::default()) {
        Err(ReadError::Truncated { offset: 0, .. }) => {}
        other => panic!("{other:?}"),
    }
    let trunc = dir.path().join("trunc.h5");
    std::fs::write(&trunc, &bytes[..100_000]).expect("write");
    assert!(io::read_file(&trunc, &ReadOptions::default()).is_err());
    if let Ok(facts) = io::read_header_file(&trunc) {
        assert_eq!(facts.format, Some(Format::Apdm));
    }
}

#[test]
fn fuzz_seeds_are_apdm_and_complete_ones_decode() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/apdm");
    let mut decoded = 0;
    for e in std::fs::read_dir(&dir).expect("seed folder") {
        let path = e.expect("entry").path();
        let bytes = std::fs::read(&path).expect("seed");
        assert!(bytes.len() <= 4096, "{}: seeds stay small", path.display());
        assert_eq!(io::detect_format(&bytes, None), Some(Format::Apdm));
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with("truncated") {
            assert!(apdm::read(&bytes, &apdm::ApdmOptions::default()).is_err());
            continue;
        }
        let rec = apdm::read(&bytes, &apdm::ApdmOptions::default()).expect("seed decodes");
        assert_eq!(rec.len(), 16, "{name}");
        assert_eq!(rec.time[0], 1_620_998_200.595, "{name}");
        close(rec.accel.x[0], -9.8 / 9.81, name);
        decoded += 1;
    }
    assert!(decoded >= 2, "only {decoded} complete seeds");
}
