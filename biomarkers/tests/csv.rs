//! CSV reader: SKDH's example CSV against the same recording decoded by SKDH (ax6_data.npz),
//! the GENEActiv CSV export against our GENEActiv reader, other real layouts, and bad input.

use std::path::PathBuf;

use biomarkers::io::csv::{self, AccelUnit, Column, CsvOptions, TimeUnit};
use biomarkers::io::{ReadError, geneactiv, npz};

fn data(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data")
        .join(rel)
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "lengths differ");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

fn column(values: &[f64], axis: usize) -> Vec<f64> {
    values.chunks_exact(3).map(|r| r[axis]).collect()
}

#[test]
fn skdh_example_csv_matches_the_ax6_decode() {
    let file = std::fs::File::open(data("skdh/examples/example_data_2min.csv")).unwrap();
    let rec = csv::read(file, &CsvOptions::default()).unwrap();
    let reference =
        npz::read_arrays(std::fs::File::open(data("skdh/io/ax6_data.npz")).unwrap()).unwrap();
    assert_eq!(rec.len(), 10_360);
    // The CSV keeps 4 decimals of time and 6 of accel / gyro.
    assert!(max_abs_diff(&rec.time, &reference["time"].values) < 1.5e-4);
    let gyro = rec.gyro.as_ref().expect("gyro columns");
    for axis in 0..3 {
        let ours = [&rec.accel.x, &rec.accel.y, &rec.accel.z][axis];
        assert!(max_abs_diff(ours, &column(&reference["accel"].values, axis)) < 1.5e-6);
        let ours = [&gyro.x, &gyro.y, &gyro.z][axis];
        assert!(max_abs_diff(ours, &column(&reference["gyro"].values, axis)) < 1.5e-6);
    }
    // AX6 "100 Hz" runs at 98.4 Hz by its own timestamps; the rate is measured, not nominal.
    assert!((rec.fs - 98.41).abs() < 0.01, "fs {}", rec.fs);
    assert_eq!(rec.header.channels, vec!["accel", "gyro"]);
}

#[test]
fn geneactiv_export_with_iso_times_and_named_columns() {
    let opts = CsvOptions {
        time_column: Column::Index(0),
        accel_columns: ["X".into(), "Y".into(), "Z".into()],
        gyro_columns: None,
        has_header: true,
        time_unit: TimeUnit::Iso8601,
        ..CsvOptions::default()
    };
    let file = std::fs::File::open(data("skdh/gait_pkmas_reference/gnactv_data.csv")).unwrap();
    let rec = csv::read(file, &opts).unwrap();
    let bin =
        data("skdh/gait_pkmas_reference/TestACH20200305-PKMA_back_048877_2020-03-05_14-40-44.bin");
    let reference = geneactiv::read(std::fs::File::open(bin).unwrap()).unwrap();
    assert!(max_abs_diff(&rec.time, &reference.time) < 1e-6);
    assert!(max_abs_diff(&rec.accel.x, &reference.accel.x) < 1e-12);
    assert!(max_abs_diff(&rec.accel.z, &reference.accel.z) < 1e-12);
    assert!(rec.gyro.is_none());
}

#[test]
fn microseconds_and_metres_per_second_squared() {
    let opts = CsvOptions {
        gyro_columns: None,
        time_unit: TimeUnit::UnixMicros,
        accel_unit: AccelUnit::MetersPerSecondSquared,
        ..CsvOptions::default()
    };
    let rec = csv::read(
        std::fs::File::open(data("sit2standpy/sample.csv")).unwrap(),
        &opts,
    )
    .unwrap();
    assert_eq!(rec.len(), 11_650);
    assert!((rec.fs - 128.0).abs() < 0.5, "fs {}", rec.fs);
    assert!((rec.time[0] - 1_568_054_271.042_705).abs() < 1e-6);
    let norm0 = (rec.accel.x[0].powi(2) + rec.accel.y[0].powi(2) + rec.accel.z[0].powi(2)).sqrt();
    assert!((norm0 - 1.0).abs() < 0.1, "|a| = {norm0} g");
}

#[test]
fn ggir_csv_variants() {
    // Four columns: the default gyro positions are absent, so no gyro.
    let file = std::fs::File::open(data("ggir/ax3_testfile_unix_timestamps.csv")).unwrap();
    let rec = csv::read(file, &CsvOptions::default()).unwrap();
    assert_eq!(rec.len(), 210);
    assert!(rec.gyro.is_none());
    assert!((rec.fs - 100.0).abs() < 1.0);

    let opts = CsvOptions {
        time_unit: TimeUnit::Iso8601,
        ..CsvOptions::default()
    };
    let file = std::fs::File::open(data("ggir/ax6_testfile_formatted_timestamps.csv")).unwrap();
    let rec = csv::read(file, &opts).unwrap();
    assert_eq!(rec.len(), 210);
    assert_eq!(rec.time[0], 1_577_135_046.69);
    assert_eq!(rec.gyro.as_ref().unwrap().z[0], 15.769958);
}

#[test]
fn millis_semicolons_and_quotes() {
    let text = "t;ax;ay;az\n\"1000\";0;0;9.80665\n1010;1;\"2\";3\n";
    let opts = CsvOptions {
        has_header: true,
        delimiter: b';',
        time_unit: TimeUnit::UnixMillis,
        accel_columns: ["ax".into(), "ay".into(), "az".into()],
        ..CsvOptions::default()
    };
    let rec = csv::read(text.as_bytes(), &opts).unwrap();
    assert_eq!(rec.time, vec![1.0, 1.01]);
    assert_eq!(rec.accel.z[0], 9.80665);
    let rec = csv::read(
        text.as_bytes(),
        &CsvOptions {
            accel_unit: AccelUnit::MetersPerSecondSquared,
            ..opts
        },
    )
    .unwrap();
    assert_eq!(rec.accel.z[0], 1.0);
}

#[test]
fn errors_name_line_column_and_offset() {
    let text = "1,0,0,1\n2,0,0,1\n3,zero,0,1\n";
    let opts = CsvOptions {
        gyro_columns: None,
        ..CsvOptions::default()
    };
    match csv::read(text.as_bytes(), &opts) {
        Err(ReadError::Corrupt { offset, what }) => {
            assert_eq!(offset, 18);
            assert!(what.contains("line 3, column 2"), "{what}");
        }
        other => panic!("expected a corrupt-field error, got {other:?}"),
    }
    match csv::read("1,0,0,1\n2,0,0\n".as_bytes(), &opts) {
        Err(ReadError::Corrupt { what, .. }) => assert!(what.contains("line 2"), "{what}"),
        other => panic!("expected a short-row error, got {other:?}"),
    }
    assert!(matches!(
        csv::read(&b""[..], &opts),
        Err(ReadError::Truncated { offset: 0, .. })
    ));
    let named = CsvOptions {
        time_column: "time".into(),
        ..opts.clone()
    };
    assert!(matches!(
        csv::read(&b"1,2,3,4\n"[..], &named),
        Err(ReadError::Unsupported(_))
    ));
}

#[test]
fn header_facts_from_a_prefix_estimate_the_end() {
    let bytes = std::fs::read(data("skdh/examples/example_data_2min.csv")).unwrap();
    let facts = csv::read_header(
        &bytes[..8192],
        Some(bytes.len() as u64),
        &CsvOptions::default(),
    )
    .unwrap();
    assert_eq!(facts.start, Some(1_572_339_786.3));
    assert!((facts.sample_rate.unwrap() - 98.4).abs() < 0.5);
    let true_end = csv::read(&bytes[..], &CsvOptions::default()).unwrap().time[10_359];
    assert!(facts.end_is_estimate);
    assert!(
        (facts.end.unwrap() - true_end).abs() < 3.0,
        "end {:?}",
        facts.end
    );
    assert_eq!(facts.channels, vec!["accel", "gyro"]);
}

#[test]
fn garbled_bytes_never_panic() {
    let original = std::fs::read(data("ggir/ax6_testfile_formatted_timestamps.csv")).unwrap();
    let opts = CsvOptions {
        time_unit: TimeUnit::Iso8601,
        ..CsvOptions::default()
    };
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut errors = 0;
    for _ in 0..300 {
        let mut bytes = original.clone();
        for _ in 0..(next() % 8 + 1) {
            let i = (next() as usize) % bytes.len();
            bytes[i] = next() as u8;
        }
        let cut = (next() as usize) % (bytes.len() + 1);
        if csv::read(&bytes[..cut], &opts).is_err() {
            errors += 1;
        }
        let _ = csv::read_header(&bytes[..cut.min(4096)], Some(bytes.len() as u64), &opts);
    }
    assert!(errors > 0);
}
