//! Parquet reader: SKDH's example parquet against the example CSV (same recording), a file
//! written here with TIMESTAMP(MICROS) time, nulls and two row groups, footer header facts, and
//! bad input.

use std::io::Cursor;
use std::path::PathBuf;
use std::sync::Arc;

use biomarkers::io::csv::{self, CsvOptions};
use biomarkers::io::{ReadError, parquet as pq};
use parquet::data_type::{DoubleType, Int64Type};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;

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

#[test]
fn skdh_example_parquet_matches_the_example_csv() {
    let rec = pq::read_path(&data("skdh/examples/example_data_2min.parquet")).unwrap();
    let csv_file = std::fs::File::open(data("skdh/examples/example_data_2min.csv")).unwrap();
    let reference = csv::read(csv_file, &CsvOptions::default()).unwrap();
    assert_eq!(rec.len(), 10_360);
    assert!(max_abs_diff(&rec.time, &reference.time) < 1e-6);
    assert!(max_abs_diff(&rec.accel.x, &reference.accel.x) < 1e-9);
    assert!(max_abs_diff(&rec.accel.z, &reference.accel.z) < 1e-9);
    let (g, rg) = (rec.gyro.as_ref().unwrap(), reference.gyro.as_ref().unwrap());
    assert!(max_abs_diff(&g.y, &rg.y) < 1e-9);
    assert_eq!(rec.header.channels, vec!["accel", "gyro"]);
}

#[test]
fn footer_header_facts() {
    let path = data("skdh/examples/example_data_2min.parquet");
    let full = pq::read_path(&path).unwrap();
    let facts = pq::read_header_seek(&mut std::fs::File::open(&path).unwrap()).unwrap();
    assert_eq!(facts.start, full.time.first().copied());
    assert_eq!(facts.end, full.time.last().copied());
    assert!((facts.sample_rate.unwrap() - full.fs).abs() < 1e-9);
    assert_eq!(facts.channels, vec!["accel", "gyro"]);
    let prefix = std::fs::read(&path).unwrap();
    let facts = pq::read_header(&prefix[..4096], None).unwrap();
    assert_eq!(facts.format, Some(biomarkers::io::Format::Parquet));
}

fn write_timestamp_file() -> Vec<u8> {
    let schema = Arc::new(
        parse_message_type(
            "message rec {
                required int64 timestamp (TIMESTAMP(MICROS, true));
                required double accel_x;
                required double accel_y;
                optional double accel_z;
                required double temperature;
            }",
        )
        .unwrap(),
    );
    let mut out = Vec::new();
    let mut w = SerializedFileWriter::new(&mut out, schema, Default::default()).unwrap();
    for group in 0..2i64 {
        let mut rg = w.next_row_group().unwrap();
        let t: Vec<i64> = (0..3)
            .map(|i| 1_600_000_000_000_000 + (group * 3 + i) * 500_000)
            .collect();
        let mut c = rg.next_column().unwrap().unwrap();
        c.typed::<Int64Type>().write_batch(&t, None, None).unwrap();
        c.close().unwrap();
        for v in [0.5, -0.5] {
            let mut c = rg.next_column().unwrap().unwrap();
            c.typed::<DoubleType>()
                .write_batch(&[v; 3], None, None)
                .unwrap();
            c.close().unwrap();
        }
        // accel_z has a null in the middle row of each group.
        let mut c = rg.next_column().unwrap().unwrap();
        c.typed::<DoubleType>()
            .write_batch(&[1.0, 1.0], Some(&[1, 0, 1]), None)
            .unwrap();
        c.close().unwrap();
        let mut c = rg.next_column().unwrap().unwrap();
        c.typed::<DoubleType>()
            .write_batch(&[30.0; 3], None, None)
            .unwrap();
        c.close().unwrap();
        rg.close().unwrap();
    }
    w.close().unwrap();
    out
}

#[test]
fn timestamp_micros_nulls_and_row_groups() {
    let bytes = write_timestamp_file();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.parquet");
    std::fs::write(&path, &bytes).unwrap();
    let rec = pq::read_path(&path).unwrap();
    assert_eq!(
        rec.time,
        vec![
            1.6e9,
            1.6e9 + 0.5,
            1.6e9 + 1.0,
            1.6e9 + 1.5,
            1.6e9 + 2.0,
            1.6e9 + 2.5
        ]
    );
    assert_eq!(rec.fs, 2.0);
    assert_eq!(rec.accel.x, vec![0.5; 6]);
    assert!(rec.accel.z[1].is_nan() && rec.accel.z[4].is_nan());
    assert_eq!(rec.accel.z[2], 1.0);
    assert_eq!(rec.temperature.as_ref().unwrap()[5], 30.0);
    let facts = pq::read_header_seek(&mut Cursor::new(&bytes)).unwrap();
    assert_eq!((facts.start, facts.end), (Some(1.6e9), Some(1.6e9 + 2.5)));
    assert_eq!(facts.channels, vec!["accel", "temperature"]);
}

#[test]
fn truncated_empty_and_garbled_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.parquet");
    std::fs::write(&path, b"").unwrap();
    assert!(matches!(
        pq::read_path(&path),
        Err(ReadError::Truncated { offset: 0, .. })
    ));
    let original = std::fs::read(data("skdh/examples/example_data_2min.parquet")).unwrap();
    std::fs::write(&path, &original[..original.len() / 2]).unwrap();
    assert!(matches!(
        pq::read_path(&path),
        Err(ReadError::Truncated { .. })
    ));

    let small = write_timestamp_file();
    let mut state = 0xDEAD_BEEF_CAFE_F00Du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut failures = 0;
    for _ in 0..300 {
        let mut bytes = small.clone();
        for _ in 0..(next() % 6 + 1) {
            let i = (next() as usize) % bytes.len();
            bytes[i] = next() as u8;
        }
        std::fs::write(&path, &bytes).unwrap();
        if pq::read_path(&path).is_err() {
            failures += 1;
        }
        let _ = pq::read_header_seek(&mut Cursor::new(&bytes));
    }
    assert!(failures > 0);
}
