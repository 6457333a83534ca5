//! NPZ reader: SKDH's reference archives, deflated / Fortran-order / float32 archives written
//! here, header facts, and bad input.

use std::io::{Cursor, Write};
use std::path::PathBuf;

use biomarkers::io::{ReadError, npz};

fn data(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data")
        .join(rel)
}

fn npy(descr: &str, fortran: bool, shape: &str, data: &[u8]) -> Vec<u8> {
    let order = if fortran { "True" } else { "False" };
    let mut h = format!("{{'descr': '{descr}', 'fortran_order': {order}, 'shape': {shape}, }}")
        .into_bytes();
    while (h.len() + 11) % 64 != 0 {
        h.push(b' ');
    }
    h.push(b'\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(h.len() as u16).to_le_bytes());
    out.extend_from_slice(&h);
    out.extend_from_slice(data);
    out
}

fn zip_of(entries: &[(&str, Vec<u8>)], method: zip::CompressionMethod) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(method);
    for (name, bytes) in entries {
        w.start_file(*name, opts).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

#[test]
fn skdh_ax6_reference_reads_as_a_recording() {
    let rec = npz::read(std::fs::File::open(data("skdh/io/ax6_data.npz")).unwrap()).unwrap();
    assert_eq!(rec.len(), 10_360);
    assert_eq!(rec.fs, 100.0);
    assert_eq!(rec.gyro.as_ref().unwrap().len(), 10_360);
    assert_eq!(rec.temperature.as_ref().unwrap().len(), 10_360);
    assert_eq!(rec.header.channels, vec!["accel", "gyro", "temperature"]);
    let arrays =
        npz::read_arrays(std::fs::File::open(data("skdh/io/ax6_data.npz")).unwrap()).unwrap();
    assert_eq!(rec.accel.y[5], arrays["accel"].values[5 * 3 + 1]);
    assert_eq!(
        rec.gyro.as_ref().unwrap().z[7],
        arrays["gyro"].values[7 * 3 + 2]
    );
    assert_eq!(arrays["day_ends_8_12"].shape, vec![1, 2]);
}

#[test]
fn integer_light_and_rate_from_times() {
    let rec = npz::read(std::fs::File::open(data("skdh/io/gnactv_data.npz")).unwrap()).unwrap();
    assert_eq!(rec.light.as_ref().unwrap()[899], 21.0);
    // No fs array: the rate comes from the times (page gaps make it a little under 50 Hz).
    assert!(rec.fs > 45.0 && rec.fs < 50.0, "fs {}", rec.fs);
    let rec = npz::read(std::fs::File::open(data("skdh/gait/gait_input.npz")).unwrap()).unwrap();
    assert_eq!(rec.len(), 17_000);
    assert!((rec.fs - 197.0).abs() < 2.0, "fs {}", rec.fs);
}

#[test]
fn deflated_fortran_order_float32_archive() {
    let time: Vec<u8> = [10.0f64, 10.5, 11.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    // Fortran order: all x, then all y, then all z.
    let accel: Vec<u8> = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let fs: Vec<u8> = 2i64.to_le_bytes().to_vec();
    let bytes = zip_of(
        &[
            ("time.npy", npy("<f8", false, "(3,)", &time)),
            ("accel.npy", npy("<f4", true, "(3, 3)", &accel)),
            ("fs.npy", npy("<i8", false, "()", &fs)),
        ],
        zip::CompressionMethod::Deflated,
    );
    let rec = npz::read(Cursor::new(&bytes)).unwrap();
    assert_eq!(rec.time, vec![10.0, 10.5, 11.0]);
    assert_eq!(rec.accel.x, vec![1.0, 2.0, 3.0]);
    assert_eq!(rec.accel.z, vec![7.0, 8.0, 9.0]);
    assert_eq!(rec.fs, 2.0);
    let facts = npz::read_header(&bytes, Some(bytes.len() as u64)).unwrap();
    assert_eq!(facts.start, Some(10.0));
    assert_eq!(facts.sample_rate, Some(2.0));
    // All three times are inside the prefix: the end is read, not estimated.
    assert_eq!(facts.end, Some(11.0));
    assert!(!facts.end_is_estimate);
}

#[test]
fn mismatched_shapes_and_missing_arrays_are_errors() {
    let time: Vec<u8> = [1.0f64, 2.0].iter().flat_map(|v| v.to_le_bytes()).collect();
    let accel: Vec<u8> = [0.0f64; 9].iter().flat_map(|v| v.to_le_bytes()).collect();
    let bytes = zip_of(
        &[
            ("time.npy", npy("<f8", false, "(2,)", &time)),
            ("accel.npy", npy("<f8", false, "(3, 3)", &accel)),
        ],
        zip::CompressionMethod::Stored,
    );
    assert!(matches!(
        npz::read(Cursor::new(&bytes)),
        Err(ReadError::Corrupt { .. })
    ));
    let bytes = zip_of(
        &[("time.npy", npy("<f8", false, "(2,)", &time))],
        zip::CompressionMethod::Stored,
    );
    match npz::read(Cursor::new(&bytes)) {
        Err(ReadError::Corrupt { what, .. }) => assert!(what.contains("accel")),
        other => panic!("expected a missing-accel error, got {other:?}"),
    }
}

#[test]
fn header_facts_from_prefix_and_from_a_seekable_file() {
    let path = data("skdh/io/ax3_data.npz");
    let bytes = std::fs::read(&path).unwrap();
    let arrays = npz::read_arrays(Cursor::new(&bytes)).unwrap();
    let t = &arrays["time"].values;
    let facts = npz::read_header(&bytes[..4096], Some(bytes.len() as u64)).unwrap();
    assert_eq!(facts.start, Some(t[0]));
    let mut f = std::fs::File::open(&path).unwrap();
    let facts = npz::read_header_seek(&mut f).unwrap();
    assert_eq!(facts.start, Some(t[0]));
    assert_eq!(facts.end, Some(t[t.len() - 1]));
    assert!(!facts.end_is_estimate);
    assert_eq!(facts.sample_rate, Some(200.0));
    assert_eq!(facts.channels, vec!["accel", "temperature"]);
}

#[test]
fn truncated_and_empty_files_are_errors() {
    assert!(matches!(
        npz::read(Cursor::new(Vec::new())),
        Err(ReadError::Truncated { offset: 0, .. })
    ));
    let bytes = std::fs::read(data("skdh/io/gnactv_data.npz")).unwrap();
    for len in (0..bytes.len()).step_by(331) {
        assert!(
            npz::read(Cursor::new(&bytes[..len])).is_err(),
            "cut at {len} still read"
        );
        let _ = npz::read_header(&bytes[..len], Some(bytes.len() as u64));
    }
}

#[test]
fn garbled_bytes_never_panic() {
    let original = std::fs::read(data("skdh/io/gnactv_data.npz")).unwrap();
    let deflated = {
        let arrays = ["time", "accel", "light"].map(|k| {
            let mut z = zip::ZipArchive::new(Cursor::new(&original)).unwrap();
            let mut e = z.by_name(&format!("{k}.npy")).unwrap();
            let mut v = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut v).unwrap();
            (format!("{k}.npy"), v)
        });
        let refs: Vec<(&str, Vec<u8>)> = arrays
            .iter()
            .map(|(n, v)| (n.as_str(), v.clone()))
            .collect();
        zip_of(&refs, zip::CompressionMethod::Deflated)
    };
    let mut state = 0x1234_5678_9ABC_DEF1u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut failures = 0;
    for round in 0..400 {
        let mut bytes = if round % 2 == 0 {
            original.clone()
        } else {
            deflated.clone()
        };
        for _ in 0..(next() % 8 + 1) {
            let i = (next() as usize) % bytes.len();
            bytes[i] = next() as u8;
        }
        if npz::read(Cursor::new(&bytes)).is_err() {
            failures += 1;
        }
        let _ = npz::read_header(&bytes[..bytes.len().min(4096)], None);
        let _ = npz::read_header_seek(&mut Cursor::new(&bytes));
    }
    assert!(failures > 0);
}

/// Sets the uncompressed size that the local header and the central directory record of entry
/// `name` declare (a zip whose entries lie about their size).
fn declare_size(zip: &mut [u8], name: &str, size: u32) {
    let mut patched = 0;
    for i in 0..zip.len().saturating_sub(46) {
        let (name_at, size_at) = match &zip[i..i + 4] {
            b"PK\x03\x04" => (i + 30, i + 22),
            b"PK\x01\x02" => (i + 46, i + 24),
            _ => continue,
        };
        if zip.get(name_at..name_at + name.len()) == Some(name.as_bytes()) {
            zip[size_at..size_at + 4].copy_from_slice(&size.to_le_bytes());
            patched += 1;
        }
    }
    assert_eq!(patched, 2, "local and central records of {name}");
}

#[test]
fn an_entry_over_the_size_limit_is_refused_before_inflating() {
    // 8 MB of zeros deflate to ~8 KB: an honest entry, but over a 1 MiB limit.
    let n = 1_000_000;
    let time = npy("<f8", false, &format!("({n},)"), &vec![0u8; 8 * n]);
    let accel = npy("<f8", false, "(1, 3)", &[0u8; 24]);
    let bytes = zip_of(
        &[("time.npy", time), ("accel.npy", accel)],
        zip::CompressionMethod::Deflated,
    );
    assert!(bytes.len() < 64 * 1024, "{} bytes", bytes.len());
    let limits = biomarkers::io::InflateLimits {
        max_entry_bytes: 1 << 20,
    };
    match npz::read_with_limits(Cursor::new(&bytes), &limits) {
        Err(ReadError::TooLarge { what, .. }) => {
            assert!(
                what.contains("'time.npy'") && what.contains("8000128"),
                "{what}"
            );
        }
        other => panic!("{:?}", other.map(|r| r.len())),
    }
    assert!(matches!(
        npz::read_arrays_with_limits(Cursor::new(&bytes), &limits),
        Err(ReadError::TooLarge { .. })
    ));
    // The same limit through the dispatcher's options, on a file.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.npz");
    std::fs::write(&path, &bytes).unwrap();
    let opts = biomarkers::io::ReadOptions {
        inflate: limits,
        ..Default::default()
    };
    let err = biomarkers::io::read_file(&path, &opts).expect_err("over the limit");
    assert!(err.to_string().contains("time.npy"), "{err}");
    // Under the default 4 GiB limit the entry is inflated and the read goes on to the shapes.
    let rec = npz::read(Cursor::new(&bytes));
    assert!(
        matches!(&rec, Err(ReadError::Corrupt { what, .. }) if what.contains("accel")),
        "a 1-row accel against 1e6 times: {:?}",
        rec.map(|r| r.len())
    );
}

#[test]
fn an_entry_declaring_more_than_deflate_can_produce_is_a_bomb() {
    let time = npy("<f8", false, "(2,)", &[0u8; 16]);
    let accel = npy("<f8", false, "(2, 3)", &[0u8; 48]);
    let mut bytes = zip_of(
        &[("time.npy", time), ("accel.npy", accel)],
        zip::CompressionMethod::Deflated,
    );
    // ~100 compressed bytes claiming 3 GB (under the default 4 GiB limit): impossible for
    // deflate, refused before inflating anything.
    declare_size(&mut bytes, "time.npy", 3_000_000_000);
    match npz::read(Cursor::new(&bytes)) {
        Err(ReadError::Corrupt { what, .. }) => {
            assert!(
                what.contains("'time.npy'") && what.contains("zip bomb"),
                "{what}"
            );
        }
        other => panic!("{:?}", other.map(|r| r.len())),
    }
    // A stored entry must declare exactly its stored size.
    let time = npy("<f8", false, "(2,)", &[0u8; 16]);
    let mut stored = zip_of(&[("time.npy", time)], zip::CompressionMethod::Stored);
    declare_size(&mut stored, "time.npy", 1_000);
    assert!(matches!(
        npz::read_arrays(Cursor::new(&stored)),
        Err(ReadError::Corrupt { .. })
    ));
}

#[test]
fn an_entry_declaring_less_than_it_holds_is_read_only_as_far_as_declared() {
    // time.npy holds 4 values but declares only its header and 2 values' bytes: the reader
    // never inflates beyond the declaration, so the npy data is short of its shape.
    let time = npy("<f8", false, "(4,)", &[0u8; 32]);
    let declared = (time.len() - 16) as u32;
    let accel = npy("<f8", false, "(4, 3)", &[0u8; 96]);
    let mut bytes = zip_of(
        &[("time.npy", time), ("accel.npy", accel)],
        zip::CompressionMethod::Deflated,
    );
    declare_size(&mut bytes, "time.npy", declared);
    match npz::read(Cursor::new(&bytes)) {
        Err(ReadError::Truncated { what, .. }) => assert!(what.contains("npy data"), "{what}"),
        other => panic!("{:?}", other.map(|r| r.len())),
    }
}
