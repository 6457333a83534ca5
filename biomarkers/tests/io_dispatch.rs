//! Format detection, header facts and whole-file reads through `biomarkers::io`'s dispatch
//! functions, on every kind of real sample file.

use std::path::PathBuf;

use biomarkers::io::{
    Format, HEADER_PREFIX_LEN, ReadError, ReadOptions, detect_format, read_file, read_header,
    read_header_file,
};

fn data(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data")
        .join(rel)
}

const FILES: &[(&str, Format)] = &[
    ("skdh/io/ax3_sample.cwa", Format::Cwa),
    ("openmovement/example-610-steps.cwa", Format::Cwa),
    ("skdh/io/gnactv_sample.bin", Format::GeneActiv),
    ("ggirread/GENEActiv_testfile.bin", Format::GeneActiv),
    ("actfast/geneactiv.bin", Format::GeneActiv),
    (
        "skdh/gait_pkmas_reference/TestACH20200305-PKMA_back_048877_2020-03-05_14-40-44.bin",
        Format::GeneActiv,
    ),
    ("pygt3x/neo.gt3x", Format::Gt3x),
    ("pygt3x/small.gt3x", Format::Gt3x),
    ("pygt3x/ISM_Enabled.gt3x", Format::Gt3x),
    ("pygt3x/WRIST_rawLSB_032Hz_test.agdc", Format::Gt3x),
    ("skdh/gt3x/gt3x_sample.gt3x", Format::Gt3x),
    ("ggir/actigraph_testfile.gt3x", Format::Gt3x),
    ("actfast/actigraph.gt3x", Format::Gt3x),
    ("skdh/io/gnactv_data.npz", Format::Npz),
    ("skdh/gait/gait_input2.npz", Format::Npz),
    ("skdh/examples/example_data_2min.parquet", Format::Parquet),
    ("skdh/examples/example_data_2min.csv", Format::Csv),
    ("skdh/gait_pkmas_reference/gnactv_data.csv", Format::Csv),
    ("sit2standpy/sample.csv", Format::Csv),
    ("ggir/ax6_testfile_formatted_timestamps.csv", Format::Csv),
    ("skdh/io/apdm_sample.h5", Format::Apdm),
];

fn prefix(rel: &str) -> (Vec<u8>, u64) {
    let bytes = std::fs::read(data(rel)).unwrap();
    let size = bytes.len() as u64;
    (bytes[..bytes.len().min(HEADER_PREFIX_LEN)].to_vec(), size)
}

#[test]
fn content_detection_needs_no_file_name() {
    for (rel, format) in FILES {
        let (p, _) = prefix(rel);
        assert_eq!(detect_format(&p, None), Some(*format), "{rel}");
        assert_eq!(
            detect_format(&p[..p.len().min(512)], None),
            Some(*format),
            "{rel} (512-byte prefix)"
        );
    }
}

#[test]
fn extensions_only_break_ties() {
    // A GENEActiv file named .csv is still GENEActiv.
    let (p, _) = prefix("skdh/io/gnactv_sample.bin");
    assert_eq!(detect_format(&p, Some("x.csv")), Some(Format::GeneActiv));
    // A zip whose visible entries are unknown: the extension decides.
    let zip = b"PK\x03\x04\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x05\x00\x00\x00\x05\x00\x00\x00\x05\x00\x00\x00other";
    assert_eq!(detect_format(zip, Some("a.npz")), Some(Format::Npz));
    assert_eq!(detect_format(zip, Some("a.gt3x")), Some(Format::Gt3x));
    assert_eq!(detect_format(zip, Some("a.zip")), None);
    // Text that is not numeric rows: CSV only by extension.
    assert_eq!(
        detect_format(b"hello world\nsecond line\n", Some("notes.txt")),
        Some(Format::Csv)
    );
    assert_eq!(detect_format(b"hello world\nsecond line\n", None), None);
    assert_eq!(detect_format(b"\x00\x01\x02garbage", Some("x.csv")), None);
    assert_eq!(detect_format(b"", None), None);
}

#[test]
fn header_facts_from_prefixes() {
    for (rel, format) in FILES {
        let (p, size) = prefix(rel);
        let facts = read_header(&p, Some(size), None).unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert_eq!(facts.format, Some(*format), "{rel}");
        assert_eq!(facts.file_size, Some(size));
        if *format == Format::Parquet {
            continue; // facts live in the footer
        }
        if *format == Format::Apdm {
            // HDF5 metadata is spread through the file: a prefix only tells the device.
            assert_eq!(facts.device, "APDM Opal", "{rel}");
            continue;
        }
        if rel.ends_with("neo.gt3x") || rel.ends_with("gait_input2.npz") {
            // info.txt / time.npy come after 131 KB of other entries: nothing to see.
            assert_eq!((facts.start, facts.sample_rate), (None, None));
            continue;
        }
        let fs = facts
            .sample_rate
            .unwrap_or_else(|| panic!("{rel}: no rate"));
        assert!((10.0..=250.0).contains(&fs), "{rel}: {fs} Hz");
        let start = facts.start.unwrap_or_else(|| panic!("{rel}: no start"));
        assert!(start > 1.2e9 && start < 2.0e9, "{rel}: start {start}");
        if let Some(end) = facts.end {
            assert!(end > start, "{rel}: end {end} <= start {start}");
        }
    }
}

#[test]
fn header_facts_from_files_agree_with_full_reads() {
    for (rel, format) in FILES {
        let facts = read_header_file(&data(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert_eq!(facts.format, Some(*format), "{rel}");
        let rec =
            read_file(&data(rel), &csv_aware_options(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert!(!rec.is_empty(), "{rel}");
        assert_eq!(rec.header.format, Some(*format));
        let first = rec.time[0];
        let last = rec.time[rec.len() - 1];
        let start = facts.start.unwrap_or_else(|| panic!("{rel}: no start"));
        assert!(
            (start - first).abs() < 10.0,
            "{rel}: header start {start}, first sample {first}"
        );
        let end = facts.end.unwrap_or_else(|| panic!("{rel}: no end"));
        // Exact ends must match; estimates within 5 % of the duration (idle sleep aside).
        let tol = if facts.end_is_estimate {
            0.05 * (last - first) + 60.0
        } else {
            1.0
        };
        if !(rel.contains("gt3x_sample") || rel.contains("small.gt3x")) {
            assert!(
                (end - last).abs() <= tol,
                "{rel}: header end {end}, last sample {last}"
            );
        }
    }
}

/// The sniffed CSV layout (as `read_file` guesses it), with what these files need beyond it.
fn csv_aware_options(rel: &str) -> ReadOptions {
    let mut opts = ReadOptions::default();
    if rel.ends_with(".csv") {
        let (p, _) = prefix(rel);
        let mut csv = biomarkers::io::csv::sniff_options(&p);
        if rel.contains("gnactv_data") || rel.contains("sit2standpy") {
            csv.gyro_columns = None;
        }
        if rel.contains("sit2standpy") {
            csv.accel_unit = biomarkers::io::csv::AccelUnit::MetersPerSecondSquared;
        }
        opts.csv = Some(csv);
    }
    opts
}

#[test]
fn empty_and_unknown_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.cwa");
    std::fs::write(&empty, b"").unwrap();
    assert!(matches!(
        read_file(&empty, &ReadOptions::default()),
        Err(ReadError::Truncated { offset: 0, .. })
    ));
    assert!(matches!(
        read_header_file(&empty),
        Err(ReadError::Truncated { offset: 0, .. })
    ));
    let junk = dir.path().join("junk.dat");
    std::fs::write(&junk, [0xFFu8; 100]).unwrap();
    assert!(matches!(
        read_file(&junk, &ReadOptions::default()),
        Err(ReadError::UnknownFormat(_))
    ));
    assert!(matches!(
        read_header(&[0xFF; 100], None, None),
        Err(ReadError::UnknownFormat(_))
    ));
    // A forced format on the wrong content fails cleanly.
    let opts = ReadOptions {
        format: Some(Format::Gt3x),
        ..ReadOptions::default()
    };
    assert!(read_file(&data("skdh/io/gnactv_sample.bin"), &opts).is_err());
}

#[test]
fn prefixes_cut_anywhere_never_panic() {
    for (rel, _) in FILES {
        let (p, size) = prefix(rel);
        for len in (0..p.len().min(8192)).step_by(97) {
            let _ = detect_format(&p[..len], None);
            let _ = read_header(&p[..len], Some(size), None);
        }
    }
}
