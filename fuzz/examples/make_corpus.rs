//! Writes the seed corpus `fuzz/corpus/<target>/`: tiny synthetic files of every format
//! (CWA from `CwaWriter`, hand-built GENEActiv text, GT3X and NPZ zips stored uncompressed so
//! mutations reach the payload, a small Parquet file, CSV and config text). Run from `fuzz/`:
//! `cargo run --example make_corpus`. Deterministic: rerunning rewrites the same bytes.

use std::collections::BTreeMap;
use std::fs;
use std::io::{Cursor, Write};
use std::path::Path;
use std::sync::Arc;

use biomarkers::io::cwa::{CwaWriteOptions, CwaWriter};
use parquet::data_type::DoubleType;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;

type Files = BTreeMap<&'static str, Vec<u8>>;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let cwa = cwa_files();
    let gene = geneactiv_files();
    let gt3x = gt3x_files();
    let npz = npz_files();
    let parq = parquet_files();
    let csv = csv_files();
    let mut header_only: Files = BTreeMap::new();
    for (name, bytes) in &cwa {
        header_only.insert(name, bytes[..bytes.len().min(1024 + 512)].to_vec());
    }
    let mut dispatch: Files = BTreeMap::new();
    for set in [&cwa, &gene, &gt3x, &npz, &parq, &csv] {
        // The smallest file of each format keeps the dispatch corpus small.
        if let Some((name, bytes)) = set.iter().min_by_key(|(_, b)| b.len()) {
            dispatch.insert(name, bytes.clone());
        }
    }
    let targets: [(&str, &Files); 11] = [
        ("cwa_header", &header_only),
        ("cwa_read", &cwa),
        ("cwa_chunks", &cwa),
        ("geneactiv", &gene),
        ("gt3x", &gt3x),
        ("csv", &csv),
        ("npz", &npz),
        ("parquet", &parq),
        ("dispatch", &dispatch),
        ("config", &config_files()),
        ("subject_metadata", &metadata_files()),
    ];
    for (target, files) in targets {
        let dir = root.join(target);
        fs::create_dir_all(&dir).expect("create corpus dir");
        for (name, bytes) in files {
            fs::write(dir.join(name), bytes).expect("write seed");
        }
        println!("{target}: {} files", files.len());
    }
}

fn cwa(opts: CwaWriteOptions, n: usize) -> Vec<u8> {
    let gyro = opts.with_gyro;
    let mut w = CwaWriter::new(Vec::new(), opts).expect("cwa options");
    for i in 0..n {
        let t = i as f64 * 0.1;
        let g = gyro.then_some([10.0 * t.sin(), -5.0, 1.0]);
        w.push([t.sin() * 0.3, 0.1, 1.0 - t.cos() * 0.2], g, 24.5, 100.0)
            .expect("cwa sample");
    }
    w.finish().expect("cwa finish")
}

fn cwa_files() -> Files {
    let unpacked = cwa(CwaWriteOptions::default(), 100);
    let packed = cwa(
        CwaWriteOptions {
            packed: true,
            sample_rate: 50.0,
            range_g: 4,
            annotation: "_sc=subject01&_se=site".into(),
            ..CwaWriteOptions::default()
        },
        130,
    );
    let gyro = cwa(
        CwaWriteOptions {
            with_gyro: true,
            gyro_range_dps: 2000,
            ..CwaWriteOptions::default()
        },
        50,
    );
    let truncated = unpacked[..1024 + 300].to_vec();
    BTreeMap::from([
        ("unpacked_100hz.cwa", unpacked),
        ("packed_50hz.cwa", packed),
        ("gyro_ax6.cwa", gyro),
        ("truncated_block.cwa", truncated),
    ])
}

fn geneactiv(samples: usize, pages: usize) -> Vec<u8> {
    let mut s = String::new();
    let header = [
        "Device Identity",
        "Device Unique Serial Code:012345",
        "Device Type:GENEActiv",
        "Device Model:1.1",
        "Device Firmware:Ver06.17 15June2016",
        "Calibration Date:2020-01-01 09:00:00:000",
        "",
        "Device Capabilities",
        "Accelerometer Range:-8 to 8",
        "Accelerometer Units:g",
        "Light Meter Units:lux",
        "",
        "Configuration Info",
        "Measurement Frequency:50 Hz",
        "Measurement Period:1 Hours",
        "Start Time:2020-01-01 10:00:00:000",
        "Time Zone:GMT +00:00",
        "",
        "Calibration Data",
        "x gain:25548",
        "x offset:-1420",
        "y gain:25580",
        "y offset:-30",
        "z gain:25506",
        "z offset:-350",
        "Volts:300",
        "Lux:800",
        "",
        "Memory Status",
    ];
    for line in header {
        s.push_str(line);
        s.push_str("\r\n");
    }
    s.push_str(&format!("Number of Pages:{pages}\r\n"));
    for p in 0..pages {
        s.push_str("Recorded Data\r\n");
        s.push_str("Device Unique Serial Code:012345\r\n");
        s.push_str(&format!("Sequence Number:{p}\r\n"));
        s.push_str(&format!("Page Time:2020-01-01 10:00:{:02}:000\r\n", p * 6));
        s.push_str("Unassigned:\r\nTemperature:25.5\r\nBattery voltage:4.0\r\n");
        s.push_str("Device Status:Recording\r\nMeasurement Frequency:50.0 Hz\r\n");
        for i in 0..samples {
            // x, y, z 12-bit two's complement, then 10 bits of light and the button bit.
            let x = (i as i32 * 7 % 200 - 100) & 0xfff;
            let y = -30 & 0xfff;
            let z = 255 & 0xfff;
            let light = (i as i32 * 4) & 0xffc;
            s.push_str(&format!("{x:03X}{y:03X}{z:03X}{light:03X}"));
        }
        s.push_str("\r\n");
    }
    s.into_bytes()
}

fn geneactiv_files() -> Files {
    let full = geneactiv(300, 1);
    let cut = full[..full.len() - 2000].to_vec();
    BTreeMap::from([
        ("one_page.bin", full),
        ("two_short_pages.bin", geneactiv(12, 2)),
        ("cut_page.bin", cut),
    ])
}

fn zip_stored(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, bytes) in entries {
        w.start_file(*name, opts).expect("zip entry");
        w.write_all(bytes).expect("zip write");
    }
    w.finish().expect("zip finish").into_inner()
}

/// .NET ticks of a unix second (what gt3x `info.txt` dates hold).
fn ticks(unix: i64) -> i64 {
    621_355_968_000_000_000 + unix * 10_000_000
}

fn gt3x_info(serial: &str, rate: u32, scale: bool) -> Vec<u8> {
    let start = 1_600_000_000;
    let mut s = format!(
        "Serial Number: {serial}\nDevice Type: wGT3XBT\nFirmware: 1.9.2\nSample Rate: {rate}\n\
         Start Date: {}\nStop Date: {}\nLast Sample Time: {}\nDownload Date: {}\n\
         TimeZone: 00:00:00\nAcceleration Min: -8.0\nAcceleration Max: 8.0\n",
        ticks(start),
        ticks(start + 2),
        ticks(start + 2),
        ticks(start + 10),
    );
    if scale {
        s.push_str("Acceleration Scale: 256.0\n");
    }
    s.into_bytes()
}

/// One log.bin record: separator, type, unix second, payload size, payload, checksum (the
/// complement of the XOR of everything before it).
fn gt3x_record(kind: u8, ts: u32, payload: &[u8]) -> Vec<u8> {
    let mut r = vec![0x1e, kind];
    r.extend_from_slice(&ts.to_le_bytes());
    r.extend_from_slice(&(payload.len() as u16).to_le_bytes());
    r.extend_from_slice(payload);
    let sum = r.iter().fold(0u8, |a, b| a ^ b);
    r.push(!sum);
    r
}

fn gt3x_files() -> Files {
    let rate = 10u32;
    let mut log = Vec::new();
    for sec in 0..2u32 {
        let mut payload = Vec::new();
        for i in 0..rate as i16 {
            for v in [i * 3, -20, 256] {
                payload.extend_from_slice(&v.to_le_bytes());
            }
        }
        log.extend(gt3x_record(0x1a, 1_600_000_000 + sec, &payload));
    }
    let log_zip = zip_stored(&[
        ("info.txt", gt3x_info("MOS2E12345678", rate, true)),
        ("log.bin", log),
    ]);
    // NEO layout: one continuous stream of 12-bit Y, X, Z values, two 36-bit samples per 9 bytes.
    let mut activity = Vec::new();
    for i in 0..(2 * rate as u64) {
        let (y, x, z) = (0u64, (i * 5) & 0xfff, 341u64);
        let pair = y << 60 | x << 48 | z << 36 | y << 24 | x << 12 | z;
        activity.extend_from_slice(&pair.to_be_bytes()[..8]);
        activity.push(0);
    }
    let neo_zip = zip_stored(&[
        ("info.txt", gt3x_info("NEO1A12345678", rate, false)),
        ("activity.bin", activity),
        ("lux.bin", vec![0, 1, 0, 2]),
    ]);
    BTreeMap::from([
        ("log_activity2.gt3x", log_zip),
        ("neo_activity.gt3x", neo_zip),
    ])
}

fn npy(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
    let mut h =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}").into_bytes();
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

fn npz_files() -> Files {
    let n = 12;
    let time: Vec<u8> = (0..n)
        .flat_map(|i| (1_600_000_000.0 + f64::from(i) * 0.02).to_le_bytes())
        .collect();
    let accel: Vec<u8> = (0..n * 3)
        .flat_map(|i| (f64::from(i % 3) * 0.5).to_le_bytes())
        .collect();
    let accel32: Vec<u8> = (0..n * 3)
        .flat_map(|i| (i as f32 * 0.1).to_le_bytes())
        .collect();
    let f8 = zip_stored(&[
        ("time.npy", npy("<f8", &format!("({n},)"), &time)),
        ("accel.npy", npy("<f8", &format!("({n}, 3)"), &accel)),
    ]);
    let f4 = zip_stored(&[
        ("time.npy", npy("<f8", &format!("({n},)"), &time)),
        ("accel.npy", npy("<f4", &format!("({n}, 3)"), &accel32)),
        ("fs.npy", npy("<f8", "()", &50.0f64.to_le_bytes())),
    ]);
    BTreeMap::from([("f8_time_accel.npz", f8), ("f4_accel_fs.npz", f4)])
}

fn parquet_files() -> Files {
    let schema = Arc::new(
        parse_message_type(
            "message rec {
                required double time;
                required double accel_x;
                required double accel_y;
                optional double accel_z;
            }",
        )
        .expect("schema"),
    );
    let mut out = Vec::new();
    let mut w = SerializedFileWriter::new(&mut out, schema, Default::default()).expect("writer");
    let mut rg = w.next_row_group().expect("row group");
    let n = 8;
    let time: Vec<f64> = (0..n)
        .map(|i| 1_600_000_000.0 + f64::from(i) * 0.01)
        .collect();
    let cols: [(Vec<f64>, Option<Vec<i16>>); 4] = [
        (time, None),
        (vec![0.1; n as usize], None),
        (vec![-0.2; n as usize], None),
        (
            vec![1.0; n as usize - 1],
            Some((0..n).map(|i| i16::from(i != 3)).collect()),
        ),
    ];
    for (values, def) in cols {
        let mut c = rg.next_column().expect("column").expect("column exists");
        c.typed::<DoubleType>()
            .write_batch(&values, def.as_deref(), None)
            .expect("write column");
        c.close().expect("close column");
    }
    rg.close().expect("close row group");
    w.close().expect("close file");
    BTreeMap::from([("time_accel.parquet", out)])
}

fn csv_files() -> Files {
    let mut unix = String::from("time,accel_x,accel_y,accel_z\n");
    let mut iso = String::from("timestamp;ax;ay;az;gx;gy;gz\n");
    let mut bare = String::new();
    for i in 0..10 {
        let t = 1_600_000_000.0 + f64::from(i) * 0.02;
        unix.push_str(&format!("{t:.2},0.01,-0.02,0.98\n"));
        iso.push_str(&format!(
            "2020-09-13T12:26:40.{:03}Z;0.1;0.2;-0.9;1.5;-2;0\n",
            i * 20
        ));
        bare.push_str(&format!("{t:.2}\t9.81\t0\t0\n"));
    }
    BTreeMap::from([
        ("unix_header.csv", unix.into_bytes()),
        ("iso_gyro_semicolon.csv", iso.into_bytes()),
        ("tab_no_header.csv", bare.into_bytes()),
    ])
}

fn config_files() -> Files {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let read = |rel: &str| fs::read(repo.join(rel)).expect("read example config");
    BTreeMap::from([
        (
            "demo-wrist.yaml",
            read("studies-example/studies/demo-wrist.yaml"),
        ),
        (
            "demo-skdh.yaml",
            read("studies-example/studies/demo-skdh.yaml"),
        ),
        (
            "demo-skdh.skdh",
            read("studies-example/skdh/demo-skdh.skdh"),
        ),
    ])
}

fn metadata_files() -> Files {
    BTreeMap::from([
        (
            "study.csv",
            b"subject,age,height_cm,sex,dominant_wrist,timezone\n\
              S01,34,170.5,F,yes,Europe/London\nS02,51,,M,no,America/New_York\n"
                .to_vec(),
        ),
        (
            "study.yaml",
            b"S01:\n  age: 34\n  height_cm: 170.5\n  timezone: Europe/London\nS02:\n  age: 51\n"
                .to_vec(),
        ),
        (
            "subject.json",
            br#"{"age": 34, "sex": "F", "dominant_wrist": true, "timezone": "UTC"}"#.to_vec(),
        ),
    ])
}
