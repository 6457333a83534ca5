//! GENEActiv reader against SKDH's decoded output, GENEActiv's own CSV export, and the
//! GGIRread / actfast unit-test values.

use std::path::PathBuf;

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

#[test]
fn skdh_sample_matches_readbin_output() {
    let rec =
        geneactiv::read(std::fs::File::open(data("skdh/io/gnactv_sample.bin")).unwrap()).unwrap();
    let reference =
        npz::read_arrays(std::fs::File::open(data("skdh/io/gnactv_data.npz")).unwrap()).unwrap();
    assert_eq!(rec.len(), 900);
    assert_eq!(rec.fs, 50.0);
    assert!(rec.issues.is_empty(), "{:?}", rec.issues);
    assert!(max_abs_diff(&rec.time, &reference["time"].values) < 5e-5);
    let acc = &reference["accel"].values;
    for (axis, ours) in [&rec.accel.x, &rec.accel.y, &rec.accel.z]
        .into_iter()
        .enumerate()
    {
        let theirs: Vec<f64> = acc.chunks_exact(3).map(|r| r[axis]).collect();
        assert!(max_abs_diff(ours, &theirs) < 5e-5, "axis {axis}");
    }
    assert!(
        max_abs_diff(
            rec.temperature.as_ref().unwrap(),
            &reference["temperature"].values
        ) < 5e-5
    );
    assert!(max_abs_diff(rec.light.as_ref().unwrap(), &reference["light"].values) < 5e-5);
    assert_eq!(rec.header.device_id.as_deref(), Some("051386"));
    assert_eq!(rec.header.accel_range_g, Some(8.0));
}

#[test]
fn pkmas_recording_matches_the_csv_export() {
    let bin =
        data("skdh/gait_pkmas_reference/TestACH20200305-PKMA_back_048877_2020-03-05_14-40-44.bin");
    let rec = geneactiv::read(std::fs::File::open(bin).unwrap()).unwrap();
    let csv = std::fs::read_to_string(data("skdh/gait_pkmas_reference/gnactv_data.csv")).unwrap();
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(rec.len(), 6600);
    assert_eq!(rows.len(), 6600);
    let mut worst = [0.0f64; 6];
    for (i, r) in rows.iter().enumerate() {
        let t = biomarkers::io::csv::parse_iso8601(r[0]).unwrap();
        let vals: Vec<f64> = r[1..].iter().map(|v| v.parse().unwrap()).collect();
        let ours = [rec.time[i], rec.accel.x[i], rec.accel.y[i], rec.accel.z[i]];
        let theirs = [t, vals[0], vals[1], vals[2]];
        for k in 0..4 {
            worst[k] = worst[k].max((ours[k] - theirs[k]).abs());
        }
        // Light is floored like SKDH; the export keeps the fraction.
        worst[4] = worst[4].max((rec.light.as_ref().unwrap()[i] - vals[3].floor()).abs());
        worst[5] = worst[5].max((rec.temperature.as_ref().unwrap()[i] - vals[4]).abs());
    }
    assert!(worst[0] < 1e-6, "time {worst:?}");
    assert!(worst[1..4].iter().all(|w| *w < 1e-12), "accel {worst:?}");
    assert!(
        worst[4] < 1e-9 && worst[5] < 1e-12,
        "light/temperature {worst:?}"
    );
}

#[test]
fn ggirread_firmware_1_30_at_85_7_hz() {
    let path = data("ggirread/GENEActiv_testfile.bin");
    let rec = geneactiv::read(std::fs::File::open(&path).unwrap()).unwrap();
    assert_eq!(rec.fs, 85.7);
    assert_eq!(rec.time[0], 1_369_908_774.5);
    assert!((rec.time[299] - (1_369_908_774.5 + 299.0 / 85.7)).abs() < 1e-6);
    assert_eq!(rec.temperature.as_ref().unwrap()[0], 21.5);
    let z = rec.accel.z[299];
    assert!((z - -0.808_364_033_699_035_6).abs() < 1e-6, "z[299] {z}");
    // GGIRread reports 2.666667 lux (unfloored); SKDH floors it.
    assert_eq!(rec.light.as_ref().unwrap()[1], 2.0);
    // The test file is cut at 64 KiB inside page 17: 16 whole pages, the cut one reported.
    assert_eq!(rec.len(), 16 * 300);
    assert_eq!(rec.issues.len(), 1, "{:?}", rec.issues);
    assert!(rec.issues[0].message.contains("ends inside"));
    assert!(rec.issues[0].offset > 60_000 && rec.issues[0].offset < 65_536);
}

#[test]
fn actfast_firmware_06_17_at_60_hz() {
    let rec = geneactiv::read(std::fs::File::open(data("actfast/geneactiv.bin")).unwrap()).unwrap();
    assert_eq!(rec.len(), 6000);
    assert_eq!(rec.fs, 60.0);
    assert_eq!(rec.time[0], 1_714_490_010.0);
    assert!((rec.time[5999] - 1_714_490_110.0).abs() < 1.0);
    let first = [rec.accel.x[0], rec.accel.y[0], rec.accel.z[0]];
    let last = [rec.accel.x[5999], rec.accel.y[5999], rec.accel.z[5999]];
    for (a, b) in first
        .iter()
        .zip([0.943_648_595, 0.038_804_781, 0.093_962_705])
    {
        assert!((a - b).abs() < 1e-6);
    }
    for (a, b) in last.iter().zip([0.084_922_833, -0.837_689_2, 0.061_742_32]) {
        assert!((a - b).abs() < 1e-6);
    }
    let temp = rec.temperature.as_ref().unwrap();
    assert_eq!((temp[0], temp[5999]), (35.8, 31.2));
    assert_eq!(rec.light.as_ref().unwrap()[5999], 55.0); // floor(3 * 997 / 54)
    assert!(rec.issues.is_empty());
}

#[test]
fn header_facts_from_a_4_kib_prefix() {
    let bytes = std::fs::read(data("skdh/io/gnactv_sample.bin")).unwrap();
    let facts = geneactiv::read_header(&bytes[..4096], Some(bytes.len() as u64)).unwrap();
    assert_eq!(facts.device, "GENEActiv 1.1");
    assert_eq!(facts.device_id.as_deref(), Some("051386"));
    assert_eq!(facts.sample_rate, Some(50.0));
    assert_eq!(facts.start, Some(1_558_455_403.5));
    assert_eq!(facts.accel_range_g, Some(8.0));
    assert!(facts.end_is_estimate);
    let end = facts.end.unwrap();
    assert!((end - (1_558_455_403.5 + 18.0)).abs() < 1.0, "end {end}");

    // The truncated GGIRread file claims 222,048 pages; the size bounds the estimate.
    let bytes = std::fs::read(data("ggirread/GENEActiv_testfile.bin")).unwrap();
    let facts = geneactiv::read_header(&bytes[..8192], Some(bytes.len() as u64)).unwrap();
    assert_eq!(facts.sample_rate, Some(85.7));
    let span = facts.end.unwrap() - facts.start.unwrap();
    assert!(span > 50.0 && span < 65.0, "span {span}");
}

#[test]
fn empty_and_foreign_files_are_clear_errors() {
    assert!(matches!(
        geneactiv::read(&[][..]),
        Err(ReadError::Truncated { offset: 0, .. })
    ));
    assert!(matches!(
        geneactiv::read(&b"PK\x03\x04garbage"[..]),
        Err(ReadError::UnknownFormat(_))
    ));
    assert!(geneactiv::read_header(b"", Some(0)).is_err());
}

#[test]
fn truncation_at_any_length_never_panics() {
    let bytes = std::fs::read(data("skdh/io/gnactv_sample.bin")).unwrap();
    let mut full_pages_seen = 0;
    for len in (0..bytes.len()).step_by(37) {
        let cut = &bytes[..len];
        if let Ok(rec) = geneactiv::read(cut) {
            assert_eq!(rec.len() % 300, 0, "only whole pages are kept");
            full_pages_seen = full_pages_seen.max(rec.len() / 300);
        }
        let _ = geneactiv::read_header(cut, Some(bytes.len() as u64));
    }
    assert_eq!(full_pages_seen, 2);
}

#[test]
fn garbled_bytes_never_panic() {
    let original = std::fs::read(data("skdh/io/gnactv_sample.bin")).unwrap();
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut decoded = 0;
    for _ in 0..300 {
        let mut bytes = original.clone();
        for _ in 0..(next() % 16 + 1) {
            let i = (next() as usize) % bytes.len();
            bytes[i] = next() as u8;
        }
        if let Ok(rec) = geneactiv::read(&bytes[..]) {
            decoded += 1;
            assert_eq!(rec.time.len(), rec.accel.len());
        }
        let _ = geneactiv::read_header(&bytes[..4096], Some(bytes.len() as u64));
    }
    assert!(decoded > 0);
}
