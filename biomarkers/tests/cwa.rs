//! CWA reader parity against SKDH and Open Movement's converter, corrupt-block handling, header
//! facts, chunking, and robustness to truncated or garbled input.

use std::io::Read;
use std::path::PathBuf;

use biomarkers::io::cwa::{CwaChunks, CwaReadOptions, CwaTime, read, read_file, read_header};
use biomarkers::io::{Format, ReadError, Recording};

fn data(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data")
        .join(rel)
}

/// SKDH's reference arrays are rounded to 4 decimals (time) and 6 (values): half a unit of the
/// 4th decimal, plus a few ulps of a 1.6e9 s timestamp (2.4e-7 s each).
const TIME_ATOL: f64 = 5e-5 + 1e-6;
const ATOL: f64 = 5e-5;

/// A float64 array from a `.npy` member of an `.npz` archive: (values, shape).
fn npy(npz: &str, name: &str) -> (Vec<f64>, Vec<usize>) {
    let f = std::fs::File::open(data(npz)).expect("npz present");
    let mut z = zip::ZipArchive::new(f).expect("zip");
    let mut m = z.by_name(&format!("{name}.npy")).expect("member");
    let mut b = Vec::new();
    m.read_to_end(&mut b).expect("read member");
    assert_eq!(&b[..6], b"\x93NUMPY");
    let (hlen, at) = if b[6] == 1 {
        (u16::from_le_bytes([b[8], b[9]]) as usize, 10)
    } else {
        (u32::from_le_bytes([b[8], b[9], b[10], b[11]]) as usize, 12)
    };
    let h = std::str::from_utf8(&b[at..at + hlen]).expect("ascii header");
    assert!(h.contains("'descr': '<f8'"), "{h}");
    assert!(h.contains("'fortran_order': False"), "{h}");
    let shape_txt = &h[h.find("'shape': (").expect("shape") + 10..];
    let shape: Vec<usize> = shape_txt[..shape_txt.find(')').expect(")")]
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let vals: Vec<f64> = b[at + hlen..]
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
        .collect();
    assert_eq!(vals.len(), shape.iter().product::<usize>());
    (vals, shape)
}

fn assert_close(what: &str, got: &[f64], want: &[f64], atol: f64) {
    assert_close_rel(what, got, want, atol, 0.0);
}

/// `|got - want| <= atol + rtol * |want|` everywhere.
fn assert_close_rel(what: &str, got: &[f64], want: &[f64], atol: f64, rtol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let (i, d) = got
        .iter()
        .zip(want)
        .map(|(g, w)| (g - w).abs() - rtol * w.abs())
        .enumerate()
        .fold((0, 0.0), |acc, (i, d)| if d > acc.1 { (i, d) } else { acc });
    assert!(
        d <= atol,
        "{what}: max |diff| {d} at {i} ({} vs {})",
        got[i],
        want[i]
    );
}

/// Compares one (N, 3) reference array with three axes.
fn assert_axes(
    what: &str,
    x: &[f64],
    y: &[f64],
    z: &[f64],
    want: &(Vec<f64>, Vec<usize>),
    rtol: f64,
) {
    assert_eq!(want.1, vec![x.len(), 3], "{what}: shape");
    for (k, got) in [x, y, z].into_iter().enumerate() {
        let col: Vec<f64> = want.0.iter().skip(k).step_by(3).copied().collect();
        assert_close_rel(&format!("{what}[{k}]"), got, &col, ATOL, rtol);
    }
}

fn skdh_parity(stem: &str) -> Recording {
    let rec = read_file(
        data(&format!("skdh/io/{stem}_sample.cwa")),
        &CwaReadOptions::skdh(),
    )
    .expect("read");
    let npz = format!("skdh/io/{stem}_data.npz");
    assert!(rec.issues.is_empty(), "{:?}", rec.issues);
    assert_close("time", &rec.time, &npy(&npz, "time").0, TIME_ATOL);
    assert_axes(
        "accel",
        &rec.accel.x,
        &rec.accel.y,
        &rec.accel.z,
        &npy(&npz, "accel"),
        0.0,
    );
    assert_close(
        "temperature",
        rec.temperature.as_ref().expect("temp"),
        &npy(&npz, "temperature").0,
        ATOL,
    );
    assert_eq!(rec.fs, npy(&npz, "fs").0[0]);
    rec
}

#[test]
fn ax3_matches_skdh() {
    let rec = skdh_parity("ax3");
    assert!(rec.gyro.is_none());
    assert_eq!(rec.header.device, "Axivity AX3");
}

#[test]
fn ax6_matches_skdh() {
    let rec = skdh_parity("ax6");
    let g = rec.gyro.as_ref().expect("gyro");
    // SKDH scales the gyro in single precision (its 32768/2000 is a 32-bit float and the
    // result is rounded to float32), so large rates differ by float32 rounding: rtol 2e-7.
    assert_axes(
        "gyro",
        &g.x,
        &g.y,
        &g.z,
        &npy("skdh/io/ax6_data.npz", "gyro"),
        2e-7,
    );
    assert_eq!(rec.header.device, "Axivity AX6");
    assert_eq!(
        rec.header.channels,
        ["accel", "gyro", "temperature", "light"]
    );
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
}

/// `YYYY-MM-DD hh:mm:ss.fff` as unix seconds.
fn parse_stamp(s: &str) -> f64 {
    let n = |a: usize, b: usize| s[a..b].parse::<i64>().expect("digits");
    let secs = days_from_civil(n(0, 4), n(5, 7), n(8, 10)) * 86_400
        + n(11, 13) * 3600
        + n(14, 16) * 60
        + n(17, 19);
    secs as f64 + n(20, 23) as f64 / 1000.0
}

#[test]
fn example_610_steps_matches_cwa_convert_every_sample() {
    let path = data("openmovement/example-610-steps.cwa");
    let opts = CwaReadOptions {
        time: CwaTime::WholeSecond,
        ..Default::default()
    };
    let rec = read_file(&path, &opts).expect("read");
    assert!(rec.issues.is_empty());
    let gz = std::fs::File::open(data(
        "openmovement/example-610-steps.cwa.cwa-convert.full.csv.gz",
    ))
    .expect("csv");
    let mut text = String::new();
    flate2::read::GzDecoder::new(gz)
        .read_to_string(&mut text)
        .expect("gunzip");
    let mut n = 0;
    for (i, line) in text.lines().enumerate() {
        // Columns: time (UTC, milliseconds truncated), then accel x, y, z in g printed "%f".
        let cols: Vec<&str> = line.split(',').collect();
        assert_eq!(cols.len(), 4, "line {i}: {line}");
        let t = parse_stamp(cols[0]);
        let d = rec.time[i] - t;
        // cwa-convert truncates to the millisecond after single-precision arithmetic.
        assert!(
            (-2e-6..1e-3 + 2e-6).contains(&d),
            "sample {i}: time {} vs {line}",
            rec.time[i]
        );
        for (k, got) in [rec.accel.x[i], rec.accel.y[i], rec.accel.z[i]]
            .into_iter()
            .enumerate()
        {
            let want: f64 = cols[1 + k].parse().expect("number");
            assert!(
                (got - want).abs() <= 5e-7 + 1e-12,
                "sample {i} axis {k}: {got} vs {want}"
            );
        }
        n += 1;
    }
    assert_eq!(n, rec.len());
    assert_eq!(n, 71_400);
}

#[test]
fn corrupt_blocks_are_reported_and_skipped() {
    let clean = read_file(
        data("ggirread/ax3_testfile.cwa"),
        &CwaReadOptions::default(),
    )
    .expect("clean");
    let bad = read_file(
        data("ggirread/ax3_testfile_corrupt_blocks_0_13_14_142_143_144.cwa"),
        &CwaReadOptions::default(),
    )
    .expect("corrupt file still reads");
    assert!(clean.issues.is_empty());
    let bad_blocks = [0u64, 13, 14, 142, 143, 144];
    let offsets: Vec<u64> = bad.issues.iter().map(|i| i.offset).collect();
    assert_eq!(
        offsets,
        bad_blocks.map(|b| 1024 + 512 * b),
        "{:?}",
        bad.issues
    );
    assert!(bad.issues.iter().all(|i| i.message.contains("checksum")));
    // Block 0 is the first data block (byte 1024); every block holds 120 samples.
    let per = 120;
    assert_eq!(clean.len(), 145 * per);
    let kept: Vec<usize> = (0..145)
        .filter(|b| !bad_blocks.contains(&(*b as u64)))
        .collect();
    assert_eq!(bad.len(), kept.len() * per);
    for (j, &b) in kept.iter().enumerate() {
        let after_skip = b > 0 && bad_blocks.contains(&(b as u64 - 1));
        for s in 0..per {
            let (i, k) = (b * per + s, j * per + s);
            assert_eq!(bad.accel.x[k], clean.accel.x[i]);
            assert_eq!(bad.accel.y[k], clean.accel.y[i]);
            assert_eq!(bad.accel.z[k], clean.accel.z[i]);
            assert_eq!(
                bad.light.as_ref().unwrap()[k],
                clean.light.as_ref().unwrap()[i]
            );
            assert_eq!(
                bad.temperature.as_ref().unwrap()[k],
                clean.temperature.as_ref().unwrap()[i]
            );
            if after_skip {
                // The first block after a skipped one keeps its own clock instead of being
                // joined to the previous block's end (as in the clean file): a few ms apart.
                assert!(
                    (bad.time[k] - clean.time[i]).abs() < 0.05,
                    "block {b} sample {s}"
                );
            } else {
                assert_eq!(bad.time[k], clean.time[i], "block {b} sample {s}");
            }
        }
    }
}

#[test]
fn other_real_files_read_cleanly() {
    // GGIRread's tests: the third temperature of each test file, by the format's formula.
    for (file, temp) in [
        ("ggirread/ax3_testfile.cwa", 25.5859375),
        ("ggirread/ax6_testfile.cwa", 27.34375),
    ] {
        let rec = read_file(data(file), &CwaReadOptions::default()).expect(file);
        assert!(rec.issues.is_empty(), "{file}: {:?}", rec.issues);
        assert_eq!(rec.temperature.as_ref().expect("t")[2], temp, "{file}");
    }
    for (file, device, fs) in [
        ("ggirread/ax3_testfile.cwa", "Axivity AX3", 100.0),
        ("skdh/examples/example_data.cwa", "Axivity AX3", 100.0),
    ] {
        let rec = read_file(data(file), &CwaReadOptions::default()).expect(file);
        assert!(rec.issues.is_empty(), "{file}: {:?}", rec.issues);
        assert_eq!(rec.header.device, device);
        assert_eq!(rec.fs, fs);
        assert!(
            rec.time.windows(2).all(|w| w[1] > w[0]),
            "{file}: time increases"
        );
        let mean_dt = (rec.time[rec.len() - 1] - rec.time[0]) / (rec.len() - 1) as f64;
        // Device clocks run a little off the nominal rate (about 1 % for this AX3).
        assert!(
            (mean_dt * fs - 1.0).abs() < 0.03,
            "{file}: mean period {mean_dt}"
        );
        // A device at rest or worn reads about 1 g on average.
        let mag: f64 = (0..rec.len())
            .map(|i| {
                (rec.accel.x[i].powi(2) + rec.accel.y[i].powi(2) + rec.accel.z[i].powi(2)).sqrt()
            })
            .sum::<f64>()
            / rec.len() as f64;
        assert!((0.8..1.2).contains(&mag), "{file}: mean |a| {mag}");
        let t = rec.temperature.as_ref().expect("temperature");
        assert!(
            t.iter().all(|c| (0.0..50.0).contains(c)),
            "{file}: temperature range"
        );
    }
}

#[test]
fn header_facts_from_prefix() {
    for (stem, device, fs, range, gyro) in [
        ("ax3", "Axivity AX3", 200.0, 8.0, false),
        ("ax6", "Axivity AX6", 100.0, 16.0, true),
    ] {
        let path = data(&format!("skdh/io/{stem}_sample.cwa"));
        let bytes = std::fs::read(&path).expect("file");
        let size = bytes.len() as u64;
        let facts = read_header(&bytes[..1536], Some(size)).expect("facts");
        let rec = read_file(&path, &CwaReadOptions::default()).expect("read");
        assert_eq!(facts.format, Some(Format::Cwa));
        assert_eq!(facts.device, device);
        assert_eq!(facts.sample_rate, Some(fs));
        assert_eq!(facts.accel_range_g, Some(range));
        assert_eq!(facts.channels.contains(&"gyro".to_string()), gyro);
        assert_eq!(facts.file_size, Some(size));
        assert_eq!(facts.device_id, rec.header.device_id);
        assert!(facts.device_id.is_some());
        assert_eq!(facts.start, Some(rec.time[0]));
        assert!(facts.end_is_estimate);
        let end = facts.end.expect("estimated end");
        let last = *rec.time.last().expect("samples");
        // The estimate assumes the nominal rate; real AX3 clocks run a percent or two off.
        let duration = last - rec.time[0];
        assert!(
            (end - last).abs() < 0.02 * duration,
            "{stem}: estimated end {end} vs {last}"
        );
        assert!(!rec.header.end_is_estimate);
        assert_eq!(rec.header.end, Some(last));
        // Without a data block the layout comes from the header and there is no start.
        let bare = read_header(&bytes[..1024], None).expect("header only");
        assert_eq!((bare.start, bare.end), (None, None));
        assert_eq!(bare.sample_rate, Some(fs));
        assert_eq!(bare.device, device);
    }
    let h = biomarkers::io::cwa::CwaHeader::parse(
        &std::fs::read(data("openmovement/example-610-steps.cwa")).expect("f"),
    )
    .expect("header");
    assert_eq!(h.annotation, "_so=Kim");
    assert!(h.device_metadata.starts_with("?_b=&_e=2012-03-27"));
}

fn small_valid_file() -> Vec<u8> {
    // Header plus the first four blocks of a real AX6 file.
    let b = std::fs::read(data("skdh/io/ax6_sample.cwa")).expect("file");
    b[..1024 + 4 * 512].to_vec()
}

#[test]
fn errors_name_the_byte_offset() {
    let opts = CwaReadOptions::default();
    let valid = small_valid_file();
    match read(&[][..], &opts) {
        Err(ReadError::Truncated { offset: 0, .. }) => {}
        other => panic!("empty: {other:?}"),
    }
    match read(&valid[..700], &opts) {
        Err(ReadError::Truncated { offset: 700, .. }) => {}
        other => panic!("short header: {other:?}"),
    }
    match read_header(&valid[..700], None) {
        Err(ReadError::Truncated { offset: 700, .. }) => {}
        other => panic!("short header facts: {other:?}"),
    }
    let mut wrong = valid.clone();
    wrong[0] = b'X';
    match read(&wrong[..], &opts) {
        Err(ReadError::Corrupt { offset: 0, .. }) => {}
        other => panic!("magic: {other:?}"),
    }
    let cut = 1024 + 512 + 100;
    match read(&valid[..cut], &opts) {
        Err(ReadError::Truncated { offset, what }) => {
            assert_eq!(offset, cut as u64);
            assert!(what.contains("1536"), "{what}");
        }
        other => panic!("truncated block: {other:?}"),
    }
    let header_only = read(&valid[..1024], &opts).expect("header-only file is valid");
    assert!(header_only.is_empty() && header_only.issues.is_empty());
}

/// A small deterministic generator (xorshift64*), so the garbling is reproducible.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

fn check_any(bytes: &[u8]) {
    let opts = CwaReadOptions::default();
    if let Ok(rec) = read(bytes, &opts) {
        let n = rec.len();
        assert!(rec.accel.x.len() == n && rec.accel.y.len() == n && rec.accel.z.len() == n);
        assert_eq!(rec.temperature.as_ref().map_or(n, Vec::len), n);
        assert_eq!(rec.light.as_ref().map_or(n, Vec::len), n);
        assert_eq!(rec.gyro.as_ref().map_or(n, |g| g.len()), n);
        // Every 512 bytes yields at most one block of samples.
        assert!(n <= bytes.len() / 512 * 120);
    }
    let _ = read_header(bytes, Some(bytes.len() as u64));
    if let Ok(chunks) = CwaChunks::new(bytes, &opts, 33) {
        for c in chunks.flatten() {
            assert!(c.len() <= 33);
        }
    }
}

#[test]
fn garbage_and_truncations_never_panic() {
    let valid = small_valid_file();
    let full = read(&valid[..], &CwaReadOptions::default()).expect("valid");
    assert_eq!(full.len(), 160);
    for len in 0..=valid.len() {
        let r = read(&valid[..len], &CwaReadOptions::default());
        // Exactly the whole-block lengths past the header read; everything else is an error.
        assert_eq!(
            r.is_ok(),
            len >= 1024 && (len - 1024) % 512 == 0,
            "len {len}"
        );
        check_any(&valid[..len]);
    }
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..300 {
        let len = (rng.next() % 4000) as usize;
        let mut b: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if len >= 2 && rng.next().is_multiple_of(2) {
            b[0] = b'M';
            b[1] = b'D';
        }
        check_any(&b);
    }
    for _ in 0..300 {
        let mut b = valid.clone();
        for _ in 0..(1 + rng.next() % 8) {
            let i = (rng.next() as usize) % b.len();
            b[i] = rng.next() as u8;
        }
        check_any(&b);
        if b[..1024] == valid[..1024] {
            // Any changed byte in a block breaks its word sum: exactly the changed blocks are
            // reported, and only the intact ones are decoded.
            let changed: Vec<u64> = (0..4u64)
                .filter(|k| {
                    let r = 1024 + 512 * *k as usize..1024 + 512 * (*k as usize + 1);
                    b[r.clone()] != valid[r]
                })
                .map(|k| 1024 + 512 * k)
                .collect();
            let rec = read(&b[..], &CwaReadOptions::default()).expect("header intact");
            let offsets: Vec<u64> = rec.issues.iter().map(|i| i.offset).collect();
            assert_eq!(offsets, changed);
            assert_eq!(rec.len(), 40 * (4 - changed.len()));
        }
    }
}

#[test]
fn chunks_concatenate_to_the_full_read() {
    let path = data("ggirread/ax6_testfile.cwa");
    let opts = CwaReadOptions::default();
    let full = read_file(&path, &opts).expect("full");
    for max in [1usize, 7, 40, 1000, 1_000_000] {
        let mut time = Vec::new();
        let (mut gx, mut az, mut temp) = (Vec::new(), Vec::new(), Vec::new());
        let mut chunks = 0;
        for c in CwaChunks::open(&path, &opts, max).expect("open") {
            let c = c.expect("chunk");
            assert!(c.len() <= max && !c.is_empty());
            assert_eq!(c.header.start, full.header.start);
            time.extend_from_slice(&c.time);
            gx.extend_from_slice(&c.gyro.as_ref().expect("gyro").x);
            az.extend_from_slice(&c.accel.z);
            temp.extend_from_slice(c.temperature.as_ref().expect("t"));
            chunks += 1;
        }
        assert_eq!(chunks, full.len().div_ceil(max), "max {max}");
        assert_eq!(time, full.time);
        assert_eq!(gx, full.gyro.as_ref().expect("gyro").x);
        assert_eq!(az, full.accel.z);
        assert_eq!(temp.len(), full.len());
    }
    // Issues travel with the chunk that met them.
    let bad = data("ggirread/ax3_testfile_corrupt_blocks_0_13_14_142_143_144.cwa");
    let mut offsets = Vec::new();
    for c in CwaChunks::open(&bad, &opts, 1200).expect("open") {
        offsets.extend(c.expect("chunk").issues.iter().map(|i| i.offset));
    }
    assert_eq!(
        offsets,
        [0u64, 13, 14, 142, 143, 144].map(|b| 1024 + 512 * b)
    );
}

#[test]
fn issue_listing_is_capped_with_a_summary() {
    // Header, 1100 blank (erased) sectors, then one good block.
    let valid = small_valid_file();
    let mut b = valid[..1024].to_vec();
    b.extend(std::iter::repeat_n(0xffu8, 1100 * 512));
    b.extend_from_slice(&valid[1024..1536]);
    let rec = read(&b[..], &CwaReadOptions::default()).expect("read");
    assert_eq!(rec.len(), 40);
    assert_eq!(rec.issues.len(), 1001);
    assert_eq!(rec.issues[999].offset, 1024 + 999 * 512);
    assert_eq!(rec.issues[1000].offset, 1024 + 1000 * 512);
    assert!(
        rec.issues[1000].message.starts_with("100 further"),
        "{}",
        rec.issues[1000].message
    );
}
