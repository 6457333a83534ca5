//! Fuzz entry points of `biomarkers::io`: one function per fuzz target, each feeding arbitrary
//! bytes to every public reader function of one format (header from a prefix, header with
//! seeks, whole read) and checking the invariants the readers document. A panic or an abort
//! here is a finding; an `Err` is the expected answer to bad bytes.

use std::io::{Cursor, Write};

use biomarkers::io::{
    self, Recording, apdm, csv, cwa,
    cwa::{CwaChunks, CwaReadOptions},
    geneactiv, gt3x, npz, parquet,
};

/// Largest chunk asked of [`CwaChunks`] in [`cwa_chunks`], samples: small, so that a few
/// blocks already span several chunks.
const CHUNK_SAMPLES: usize = 50;

/// The invariants every [`Recording`] promises: all per-sample arrays have the length of
/// `time`. Panics (a finding) when one is broken.
pub fn check_recording(rec: &Recording) {
    let n = rec.time.len();
    let axes = |name: &str, t: &io::Triaxial| {
        assert_eq!(t.x.len(), n, "{name}.x length differs from time");
        assert_eq!(t.y.len(), n, "{name}.y length differs from time");
        assert_eq!(t.z.len(), n, "{name}.z length differs from time");
    };
    axes("accel", &rec.accel);
    if let Some(g) = &rec.gyro {
        axes("gyro", g);
    }
    if let Some(t) = &rec.temperature {
        assert_eq!(t.len(), n, "temperature length differs from time");
    }
    if let Some(l) = &rec.light {
        assert_eq!(l.len(), n, "light length differs from time");
    }
}

/// CWA header facts from a prefix (`cwa::read_header`, `CwaHeader::parse`).
pub fn cwa_header(data: &[u8]) {
    let _ = cwa::CwaHeader::parse(data);
    let _ = cwa::read_header(data, Some(data.len() as u64));
    let _ = cwa::read_header(data, None);
}

/// Whole CWA reads (`cwa::read`) with the default and the SKDH options, of the bytes as given
/// and of the bytes with every block checksum made right (so that mutations reach the block
/// decoder instead of stopping at the checksum test).
pub fn cwa_read(data: &[u8]) {
    let fixed = with_cwa_checksums(data);
    for bytes in [data, &fixed] {
        for opts in [CwaReadOptions::default(), CwaReadOptions::skdh()] {
            if let Ok(rec) = cwa::read(bytes, &opts) {
                check_recording(&rec);
            }
        }
    }
}

/// A copy of `data` whose complete 512-byte blocks after the 1024-byte header have their last
/// word set so the wrapping sum of the block's 256 little-endian words is zero (the CWA block
/// checksum).
pub fn with_cwa_checksums(data: &[u8]) -> Vec<u8> {
    let mut out = data.to_vec();
    let Some(blocks) = out.get_mut(1024..) else {
        return out;
    };
    for block in blocks.chunks_exact_mut(512) {
        let sum = block[..510].chunks_exact(2).fold(0u16, |a, w| {
            a.wrapping_add(u16::from_le_bytes([w[0], w[1]]))
        });
        block[510..].copy_from_slice(&sum.wrapping_neg().to_le_bytes());
    }
    out
}

/// Chunked CWA reads (`CwaChunks`) of the bytes as given and with the block checksums made
/// right: every chunk holds at most the asked number of samples, and a chunked read that ends
/// without error yields as many samples as the whole read.
pub fn cwa_chunks(data: &[u8]) {
    let fixed = with_cwa_checksums(data);
    cwa_chunks_of(data);
    cwa_chunks_of(&fixed);
}

fn cwa_chunks_of(data: &[u8]) {
    let opts = CwaReadOptions::default();
    let Ok(chunks) = CwaChunks::new(data, &opts, CHUNK_SAMPLES) else {
        return;
    };
    let mut total = 0usize;
    for chunk in chunks {
        match chunk {
            Ok(rec) => {
                check_recording(&rec);
                assert!(
                    rec.len() <= CHUNK_SAMPLES,
                    "chunk of {} samples exceeds the limit {CHUNK_SAMPLES}",
                    rec.len()
                );
                total += rec.len();
            }
            Err(_) => return,
        }
    }
    if let Ok(full) = cwa::read(data, &opts) {
        assert_eq!(
            total,
            full.len(),
            "chunked and whole reads differ in sample count"
        );
    }
    // The same chunks refilled into one caller-owned recording.
    let Ok(mut refill) = CwaChunks::new(data, &opts, CHUNK_SAMPLES) else {
        return;
    };
    let mut buf = biomarkers::io::Recording::default();
    let mut refilled = 0usize;
    while let Ok(true) = refill.next_into(&mut buf) {
        check_recording(&buf);
        assert!(
            buf.len() <= CHUNK_SAMPLES,
            "next_into exceeded the chunk limit"
        );
        refilled += buf.len();
    }
    assert_eq!(
        refilled, total,
        "next_into and the iterator differ in sample count"
    );
}

/// GENEActiv header facts from a prefix and whole reads.
pub fn geneactiv(data: &[u8]) {
    let _ = geneactiv::read_header(data, Some(data.len() as u64));
    if let Ok(rec) = geneactiv::read(data) {
        check_recording(&rec);
    }
}

/// GT3X header facts from a prefix and with seeks, and whole reads with default options and
/// with idle-sleep filling and calibration off.
pub fn gt3x(data: &[u8]) {
    let _ = gt3x::read_header(data, Some(data.len() as u64));
    let _ = gt3x::read_header_seek(&mut Cursor::new(data));
    let plain = gt3x::Gt3xOptions {
        fill_idle_sleep: false,
        calibrate: false,
    };
    for opts in [gt3x::Gt3xOptions::default(), plain] {
        if let Ok(rec) = gt3x::read(Cursor::new(data), &opts) {
            check_recording(&rec);
        }
    }
}

/// CSV option sniffing, header facts and whole reads with the sniffed and the default options.
pub fn csv(data: &[u8]) {
    let sniffed = csv::sniff_options(data);
    let _ = csv::read_header(data, Some(data.len() as u64), &sniffed);
    for opts in [sniffed, csv::CsvOptions::default()] {
        if let Ok(rec) = csv::read(data, &opts) {
            check_recording(&rec);
        }
    }
}

/// NPZ header facts (prefix and seeks), whole reads, the array reader, and the `.npy` header
/// and array parsers on the raw bytes.
pub fn npz(data: &[u8]) {
    let _ = npz::read_header(data, Some(data.len() as u64));
    let _ = npz::read_header_seek(&mut Cursor::new(data));
    let _ = npz::read_arrays(Cursor::new(data));
    if let Ok(rec) = npz::read(Cursor::new(data)) {
        check_recording(&rec);
    }
    let _ = npz::parse_npy_header(data, 0);
    let _ = npz::read_npy(data, data.len() as u64, 0);
}

/// Parquet header facts (prefix and footer seeks) and whole reads (which need a real file:
/// the bytes go to an unnamed temporary file).
pub fn parquet(data: &[u8]) {
    let _ = parquet::read_header(data, Some(data.len() as u64));
    let _ = parquet::read_header_seek(&mut Cursor::new(data));
    let Some(file) = temp_file_with(data) else {
        return;
    };
    if let Ok(rec) = parquet::read(file) {
        check_recording(&rec);
    }
}

/// APDM Opal HDF5 header facts from a prefix (as the whole file and as the start of a larger
/// one), whole reads from memory with the default options and with a sensor label, time
/// localisation and standard gravity, and through a temp file the sensor list, the header with
/// seeks and the streaming whole read.
pub fn apdm(data: &[u8]) {
    let _ = apdm::read_header(data, Some(data.len() as u64));
    let _ = apdm::read_header(data, Some(u64::MAX));
    let other = apdm::ApdmOptions {
        sensor_label: Some("Left Foot".into()),
        gravity: csv::STANDARD_GRAVITY,
        localize_timestamps: true,
    };
    for opts in [apdm::ApdmOptions::default(), other] {
        if let Ok(rec) = apdm::read(data, &opts) {
            check_recording(&rec);
        }
    }
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    let path = dir.path().join("recording.h5");
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let _ = apdm::sensors(&path);
    let _ = apdm::read_header_path(&path);
    if let Ok(rec) = apdm::read_file(&path, &apdm::ApdmOptions::default()) {
        check_recording(&rec);
    }
}

/// The dispatch functions: `detect_format` with and without each extension, `read_header` on
/// the bytes as a prefix, and `read_header_file` / `read_file` on the bytes as a file.
pub fn dispatch(data: &[u8]) {
    let names = [
        None,
        Some("r.cwa"),
        Some("r.bin"),
        Some("r.gt3x"),
        Some("r.agdc"),
        Some("r.npz"),
        Some("r.parquet"),
        Some("r.csv"),
        Some("r.txt"),
    ];
    for name in names {
        let _ = io::detect_format(data, name);
        if let Ok(facts) = io::read_header(data, Some(data.len() as u64), name) {
            assert!(facts.format.is_some(), "read_header left the format unset");
        }
    }
    let _ = io::read_header(data, None, None);
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    let path = dir.path().join("recording");
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let _ = io::read_header_file(&path);
    if let Ok(rec) = io::read_file(&path, &io::ReadOptions::default()) {
        check_recording(&rec);
    }
}

/// An unnamed temporary file holding `data`, positioned at its start.
fn temp_file_with(data: &[u8]) -> Option<std::fs::File> {
    use std::io::Seek;
    let mut f = tempfile::tempfile().ok()?;
    f.write_all(data).ok()?;
    f.rewind().ok()?;
    Some(f)
}

/// One fuzz entry point: takes the raw input bytes, panics on a finding.
pub type Entry = fn(&[u8]);

/// Every entry point of this module by target name (what the regression tests iterate).
pub const ENTRIES: &[(&str, Entry)] = &[
    ("cwa_header", cwa_header),
    ("cwa_read", cwa_read),
    ("cwa_chunks", cwa_chunks),
    ("geneactiv", geneactiv),
    ("gt3x", gt3x),
    ("csv", csv),
    ("npz", npz),
    ("parquet", parquet),
    ("apdm", apdm),
    ("dispatch", dispatch),
];
