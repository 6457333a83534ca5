//! ActiGraph reader against ActiLife's own exports (NEO layout, AGDC raw and calibrated), the
//! idle-sleep-mode pair recorded side by side, and plausibility on every other real file.

use std::fs::File;
use std::io::Cursor;
use std::path::PathBuf;

use biomarkers::io::gt3x::{self, Gt3xOptions};
use biomarkers::io::{ReadError, Recording};

fn data(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data")
        .join(rel)
}

fn read(rel: &str) -> Recording {
    gt3x::read(File::open(data(rel)).unwrap(), &Gt3xOptions::default()).unwrap()
}

/// Rows of an ActiLife CSV export (10 header lines, a column line, then x,y,z).
fn actilife_rows(rel: &str) -> Vec<[f64; 3]> {
    let text = std::fs::read_to_string(data(rel)).unwrap();
    text.lines()
        .skip(11)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Vec<f64> = l.split(',').map(|f| f.trim().parse().unwrap()).collect();
            [v[0], v[1], v[2]]
        })
        .collect()
}

fn median_norm(rec: &Recording) -> f64 {
    let mut n: Vec<f64> = (0..rec.len())
        .map(|i| (rec.accel.x[i].powi(2) + rec.accel.y[i].powi(2) + rec.accel.z[i].powi(2)).sqrt())
        .collect();
    n.sort_by(f64::total_cmp);
    n[n.len() / 2]
}

/// Every second from the first to the last holds exactly `fs` samples at s + i / fs.
fn assert_regular_grid(rec: &Recording) {
    let fs = rec.fs;
    let t0 = rec.time[0];
    for (i, t) in rec.time.iter().enumerate() {
        let expected = t0 + (i / fs as usize) as f64 + (i % fs as usize) as f64 / fs;
        assert!(
            (t - expected).abs() < 1e-6,
            "sample {i} at {t}, expected {expected}"
        );
    }
}

#[test]
fn neo_layout_equals_actilife_raw_export() {
    let rec = read("pygt3x/neo.gt3x");
    let rows = actilife_rows("pygt3x/neo.csv");
    assert_eq!(rec.len(), rows.len());
    assert_eq!(rec.len(), 18_004);
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(
            [rec.accel.x[i], rec.accel.y[i], rec.accel.z[i]],
            *r,
            "row {i}"
        );
    }
    // Start Time 11:55:00, Start Date 12/20/2021 (local), 30 Hz.
    assert_eq!(rec.time[0], 1_640_001_300.0);
    assert!((rec.time[18_003] - (1_640_001_300.0 + 18_003.0 / 30.0)).abs() < 1e-9);
    assert_eq!(rec.header.device_id.as_deref(), Some("NEO1C04110003"));
    let light = rec.light.as_ref().expect("lux.bin");
    assert_eq!(light.len(), rec.len());
    assert!(
        light
            .iter()
            .all(|l| l.is_nan() || (0.0..=2500.0).contains(l))
    );
}

#[test]
fn agdc_counts_equal_actilife_raw_lsb_export() {
    let opts = Gt3xOptions {
        calibrate: false,
        ..Gt3xOptions::default()
    };
    let rec = gt3x::read(
        File::open(data("pygt3x/WRIST_rawLSB_032Hz_test.agdc")).unwrap(),
        &opts,
    )
    .unwrap();
    let rows = actilife_rows("pygt3x/WRIST_rawLSB_032Hz.csv");
    assert_eq!(rec.len(), 1920);
    assert_eq!(rows.len(), 1920);
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(
            [rec.accel.x[i], rec.accel.y[i], rec.accel.z[i]],
            *r,
            "row {i}"
        );
    }
    assert_eq!(rec.fs, 32.0);
}

#[test]
fn agdc_calibration_equals_actilife_calibrated_export() {
    let rec = read("pygt3x/WRIST_rawLSB_032Hz_test.agdc");
    let rows = actilife_rows("pygt3x/WRIST_rawCalibrated_032Hz.csv");
    assert_eq!(rec.len(), rows.len());
    let mut worst = 0.0f64;
    for (i, r) in rows.iter().enumerate() {
        for (k, v) in [rec.accel.x[i], rec.accel.y[i], rec.accel.z[i]]
            .iter()
            .enumerate()
        {
            worst = worst.max((v - r[k]).abs());
        }
    }
    assert!(worst < 1e-12, "max |diff| {worst}");
    // pygt3x's own test means.
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    assert!((mean(&rec.accel.x) - 1.118_573_427_200_317_4).abs() < 1e-6);
    assert!((mean(&rec.accel.y) - 0.429_336_965_084_075_9).abs() < 1e-6);
    assert!((mean(&rec.accel.z) - -0.081_949_554_383_754_73).abs() < 1e-6);
}

#[test]
fn idle_sleep_gaps_are_filled_like_actilife() {
    let enabled = read("pygt3x/ISM_Enabled.gt3x");
    let disabled = read("pygt3x/ISM_Disabled.gt3x");
    // Two devices recording side by side, one with idle sleep mode: the same time grid.
    assert_eq!(enabled.len(), 300 * 30);
    assert_eq!(enabled.time, disabled.time);
    assert_regular_grid(&enabled);
    // Asleep 1616169537..=1616169574: the last sample before sleep, repeated.
    let idx = |t: f64| enabled.time.iter().position(|x| *x >= t).unwrap();
    let (a, b) = (idx(1_616_169_537.0), idx(1_616_169_575.0));
    let before = [
        enabled.accel.x[a - 1],
        enabled.accel.y[a - 1],
        enabled.accel.z[a - 1],
    ];
    for i in a..b {
        assert_eq!(
            [enabled.accel.x[i], enabled.accel.y[i], enabled.accel.z[i]],
            before
        );
    }
    assert_ne!(enabled.accel.x[b..b + 30], enabled.accel.x[b - 30..b]);
    // Without filling, the three sleep periods stay gaps.
    let opts = Gt3xOptions {
        fill_idle_sleep: false,
        ..Gt3xOptions::default()
    };
    let raw = gt3x::read(File::open(data("pygt3x/ISM_Enabled.gt3x")).unwrap(), &opts).unwrap();
    assert_eq!(raw.len(), 73 * 30);
    assert!(enabled.issues.is_empty(), "{:?}", enabled.issues);
}

#[test]
fn link_and_wgt3x_bt_files_decode_plausibly() {
    for (rel, fs, serial) in [
        ("pygt3x/small.gt3x", 30.0, "TAS1F06180456"),
        ("skdh/gt3x/gt3x_sample.gt3x", 30.0, "TAS1E06160523"),
        ("ggir/actigraph_testfile.gt3x", 30.0, "MOS2E39180594"),
        ("actfast/actigraph.gt3x", 60.0, "MOS2E17210537"),
    ] {
        let rec = read(rel);
        assert_eq!(rec.fs, fs, "{rel}");
        assert_eq!(rec.header.device_id.as_deref(), Some(serial));
        let g = median_norm(&rec);
        assert!((g - 1.0).abs() < 0.05, "{rel}: median |a| = {g} g");
        assert!(
            rec.issues.iter().all(|i| !i.message.contains("checksum")),
            "{rel}: {:?}",
            rec.issues
        );
        if rel != "actfast/actigraph.gt3x" {
            assert_regular_grid(&rec);
        }
    }
}

#[test]
fn ggir_test_file_fills_all_23_sleep_periods() {
    let rec = read("ggir/actigraph_testfile.gt3x");
    // First activity second 1598436540, last 1598438307 (the final record is a USB marker).
    assert_eq!(rec.time[0], 1_598_436_540.0);
    assert_eq!(rec.len(), (1_598_438_307 - 1_598_436_540 + 1) * 30);
    assert!(rec.issues.is_empty(), "{:?}", rec.issues);
}

#[test]
fn header_facts_from_prefixes_and_bounded_seeks() {
    // info.txt first (small.gt3x, deflated): everything is in the prefix.
    let bytes = std::fs::read(data("pygt3x/small.gt3x")).unwrap();
    let f = gt3x::read_header(&bytes[..4096], Some(bytes.len() as u64)).unwrap();
    assert_eq!(f.device, "ActiGraph Link");
    assert_eq!(f.device_id.as_deref(), Some("TAS1F06180456"));
    assert_eq!(f.sample_rate, Some(30.0));
    // The first activity second (the configured Start Date, 1557105360, is 10 h earlier).
    assert_eq!(f.start, Some(1_557_142_718.0));
    // Last Sample Time equals the download time here: an upper bound (data end at ...646).
    assert_eq!(f.end, Some(1_557_191_653.0));
    assert!(f.end_is_estimate);
    assert_eq!(f.accel_range_g, Some(8.0));

    // log.bin first (stored, 600 KB) and info.txt at the end: the prefix has the PARAMETERS.
    let bytes = std::fs::read(data("skdh/gt3x/gt3x_sample.gt3x")).unwrap();
    let f = gt3x::read_header(&bytes[..65_536], Some(bytes.len() as u64)).unwrap();
    assert_eq!(f.sample_rate, Some(30.0));
    assert_eq!(f.start, Some(1_579_769_400.0));
    assert!(f.end_is_estimate);
    let full = read("skdh/gt3x/gt3x_sample.gt3x");
    let true_end = *full.time.last().unwrap();
    // Idle sleep shortens the log, so the size-based estimate falls short; it is a lower bound.
    assert!(f.end.unwrap() <= true_end + 60.0 && f.end.unwrap() > 1_579_769_400.0);
    let f = gt3x::read_header_seek(&mut File::open(data("skdh/gt3x/gt3x_sample.gt3x")).unwrap())
        .unwrap();
    assert_eq!(f.device_id.as_deref(), Some("TAS1E06160523"));
    assert_eq!(f.start, Some(1_579_769_400.0)); // info.txt Start Date
    // Its Last Sample Time is the download time: an upper bound, flagged as an estimate.
    assert!(f.end_is_estimate);
    assert!(f.end.unwrap() >= true_end && f.end.unwrap() - true_end < 3600.0);

    // NEO: activity.bin size gives the end.
    let f = gt3x::read_header_seek(&mut File::open(data("pygt3x/neo.gt3x")).unwrap()).unwrap();
    assert_eq!(f.start, Some(1_640_001_300.0));
    assert!((f.end.unwrap() - (1_640_001_300.0 + 18_004.0 / 30.0)).abs() < 1.0);
    assert_eq!(f.channels, vec!["accel", "light"]);
}

#[test]
fn truncated_and_empty_archives_are_errors() {
    assert!(matches!(
        gt3x::read(Cursor::new(Vec::new()), &Gt3xOptions::default()),
        Err(ReadError::Truncated { offset: 0, .. })
    ));
    let bytes = std::fs::read(data("pygt3x/ISM_Enabled.gt3x")).unwrap();
    for len in (0..bytes.len()).step_by(211) {
        assert!(gt3x::read(Cursor::new(&bytes[..len]), &Gt3xOptions::default()).is_err());
        let _ = gt3x::read_header(&bytes[..len], Some(bytes.len() as u64));
    }
}

#[test]
fn garbled_bytes_never_panic() {
    let mut state = 0x0123_4567_89AB_CDEFu64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut decoded_with_issues = 0;
    for rel in [
        "pygt3x/ISM_Enabled.gt3x",
        "actfast/actigraph.gt3x",
        "pygt3x/WRIST_rawLSB_032Hz_test.agdc",
    ] {
        let original = std::fs::read(data(rel)).unwrap();
        for _ in 0..150 {
            let mut bytes = original.clone();
            for _ in 0..(next() % 8 + 1) {
                let i = (next() as usize) % bytes.len();
                bytes[i] = next() as u8;
            }
            if let Ok(rec) = gt3x::read(Cursor::new(&bytes), &Gt3xOptions::default()) {
                assert_eq!(rec.time.len(), rec.accel.len());
                if !rec.issues.is_empty() {
                    decoded_with_issues += 1;
                }
            }
            let _ = gt3x::read_header(&bytes[..bytes.len().min(8192)], None);
            let _ = gt3x::read_header_seek(&mut Cursor::new(&bytes));
        }
    }
    assert!(decoded_with_issues > 0);
}

/// A gt3x-shaped zip: `info.txt` and a deflated `log.bin` of `log_len` zero bytes.
fn gt3x_with_log(log_len: usize) -> Vec<u8> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    w.start_file("info.txt", opts).unwrap();
    w.write_all(b"Serial Number: MOS2E00000000\r\nSample Rate: 30\r\n")
        .unwrap();
    w.start_file("log.bin", opts).unwrap();
    w.write_all(&vec![0u8; log_len]).unwrap();
    w.finish().unwrap().into_inner()
}

#[test]
fn a_log_over_the_size_limit_is_refused_before_inflating() {
    let bytes = gt3x_with_log(4 << 20);
    assert!(bytes.len() < 64 * 1024, "{} bytes", bytes.len());
    let limits = biomarkers::io::InflateLimits {
        max_entry_bytes: 1 << 20,
    };
    match gt3x::read_with_limits(Cursor::new(&bytes), &Gt3xOptions::default(), &limits) {
        Err(ReadError::TooLarge { what, .. }) => {
            assert!(
                what.contains("'log.bin'") && what.contains("4194304"),
                "{what}"
            );
        }
        other => panic!("{:?}", other.map(|r| r.len())),
    }
    // Under the default limit the same file is read (and holds no activity records).
    let err = gt3x::read(Cursor::new(&bytes), &Gt3xOptions::default()).expect_err("no records");
    assert!(!matches!(err, ReadError::TooLarge { .. }), "{err}");
}

#[test]
fn a_log_declaring_more_than_deflate_can_produce_is_a_bomb() {
    let mut bytes = gt3x_with_log(1000);
    let mut patched = 0;
    for i in 0..bytes.len().saturating_sub(46) {
        let (name_at, size_at) = match &bytes[i..i + 4] {
            b"PK\x03\x04" => (i + 30, i + 22),
            b"PK\x01\x02" => (i + 46, i + 24),
            _ => continue,
        };
        if bytes.get(name_at..name_at + 7) == Some(b"log.bin".as_slice()) {
            bytes[size_at..size_at + 4].copy_from_slice(&3_000_000_000u32.to_le_bytes());
            patched += 1;
        }
    }
    assert_eq!(patched, 2);
    match gt3x::read(Cursor::new(&bytes), &Gt3xOptions::default()) {
        Err(ReadError::Corrupt { what, .. }) => {
            assert!(
                what.contains("'log.bin'") && what.contains("zip bomb"),
                "{what}"
            );
        }
        other => panic!("{:?}", other.map(|r| r.len())),
    }
}
