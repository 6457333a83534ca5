//! CWA writer: round trips through the reader, header facts, block structure, option checks.

use std::path::PathBuf;

use biomarkers::io::cwa::{
    CwaHeader, CwaReadOptions, CwaTime, CwaWriteError, CwaWriteOptions, CwaWriter, read, read_file,
    read_header, write_recording,
};
use biomarkers::io::{Recording, Triaxial};

fn data(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data")
        .join(rel)
}

/// A deterministic test signal, g: gravity on z plus motion, reaching +/-1.5 * `peak` so that
/// some samples are clipped.
fn accel(i: usize, peak: f64) -> [f64; 3] {
    let t = i as f64 * 0.013;
    [
        peak * 1.5 * (t * 1.3).sin(),
        0.3 * (t * 5.1).cos() - 0.05,
        1.0 + 0.2 * (t * 0.7).sin(),
    ]
}

fn gyro(i: usize, range: f64) -> [f64; 3] {
    let t = i as f64 * 0.011;
    [
        range * 1.2 * (t * 0.9).sin(),
        37.25 * (t * 2.0).cos(),
        -12.5,
    ]
}

/// Packed quantum for one sample: 1/256 g times the smallest exponent that fits all axes.
fn packed_quantum(a: [f64; 3], clip: f64) -> f64 {
    let m = a
        .iter()
        .map(|v| v.abs().min(clip) * 256.0)
        .fold(0.0, f64::max);
    let e = (0..4).find(|e| m / f64::from(1 << e) <= 511.5).unwrap_or(3);
    f64::from(1 << e) / 256.0
}

struct Case {
    opts: CwaWriteOptions,
    n: usize,
}

fn cases() -> Vec<Case> {
    let base = CwaWriteOptions {
        device_id: 0x0012_3456,
        session_id: 987_654,
        ..Default::default()
    };
    vec![
        Case {
            opts: CwaWriteOptions {
                packed: true,
                annotation: "_sc=Study%201&_se=wrist".into(),
                ..base.clone()
            },
            n: 1200,
        },
        Case {
            opts: CwaWriteOptions {
                range_g: 16,
                sample_rate: 50.0,
                ..base.clone()
            },
            n: 1000 + 17,
        },
        Case {
            opts: CwaWriteOptions {
                with_gyro: true,
                ..base.clone()
            },
            n: 40 * 30,
        },
        Case {
            opts: CwaWriteOptions {
                with_gyro: true,
                gyro_range_dps: 250,
                range_g: 2,
                sample_rate: 200.0,
                ..base.clone()
            },
            n: 40 * 25 + 3,
        },
        Case {
            opts: CwaWriteOptions {
                packed: true,
                range_g: 4,
                sample_rate: 12.5,
                start: 1_704_067_200.37,
                ..base.clone()
            },
            n: 120 * 5 + 1,
        },
        Case {
            opts: CwaWriteOptions {
                sample_rate: 3200.0,
                start: 1_750_000_000.5,
                ..base
            },
            n: 80 * 3,
        },
    ]
}

fn write_case(c: &Case) -> Vec<u8> {
    let mut w = CwaWriter::new(Vec::new(), c.opts.clone()).expect("writer");
    for i in 0..c.n {
        let temp = 20.0 + (i / 100) as f64 * 0.5;
        let g = c
            .opts
            .with_gyro
            .then(|| gyro(i, f64::from(c.opts.gyro_range_dps)));
        w.push(accel(i, f64::from(c.opts.range_g)), g, temp, 321.0)
            .expect("push");
    }
    w.finish().expect("finish")
}

#[test]
fn round_trips_within_quantisation() {
    for c in cases() {
        let o = &c.opts;
        let bytes = write_case(&c);
        let per = if o.packed {
            120
        } else if o.with_gyro {
            40
        } else {
            80
        };
        assert_eq!(bytes.len(), 1024 + 512 * c.n.div_ceil(per), "{o:?}");
        let rec = read(&bytes[..], &CwaReadOptions::default()).expect("read back");
        assert!(rec.issues.is_empty(), "{:?}", rec.issues);
        assert_eq!(rec.len(), c.n);
        assert_eq!(rec.fs, o.sample_rate);
        let range = f64::from(o.range_g);
        // Unpacked AX3 samples are 1/256 g; AX6 ones 1/2^(8+n) g with 16 bits for the range.
        let unpacked_q = if o.with_gyro {
            range / 32768.0
        } else {
            1.0 / 256.0
        };
        let clip = if o.packed {
            range.min(4088.0 / 256.0)
        } else {
            range.min(32767.0 * unpacked_q)
        };
        for i in 0..c.n {
            // The fraction of a second is stored in 15 bits.
            let t = o.start + i as f64 / o.sample_rate;
            assert!(
                (rec.time[i] - t).abs() < 2e-5,
                "{o:?} sample {i}: {} vs {t}",
                rec.time[i]
            );
            let a = accel(i, range);
            let q = if o.packed {
                packed_quantum(a, clip)
            } else {
                unpacked_q
            };
            for (k, got) in [rec.accel.x[i], rec.accel.y[i], rec.accel.z[i]]
                .into_iter()
                .enumerate()
            {
                let want = a[k].clamp(-clip, clip);
                assert!(
                    (got - want).abs() <= q / 2.0 + 1e-12,
                    "{o:?} sample {i} axis {k}: {got} vs {want}"
                );
            }
            if o.with_gyro {
                let g = rec.gyro.as_ref().expect("gyro");
                let r = f64::from(o.gyro_range_dps);
                let want = gyro(i, r).map(|v| v.clamp(-r, r));
                for (k, got) in [g.x[i], g.y[i], g.z[i]].into_iter().enumerate() {
                    assert!(
                        (got - want[k]).abs() <= r / 32768.0,
                        "{o:?} gyro {i}/{k}: {got} vs {}",
                        want[k]
                    );
                }
            } else {
                assert!(rec.gyro.is_none());
            }
            assert_eq!(rec.light.as_ref().expect("light")[i], 321.0);
        }
        // Temperature is one value per block: the block mean, within half a raw step.
        let temps = rec.temperature.as_ref().expect("temperature");
        for (b, chunk) in temps.chunks(per).enumerate() {
            let first = b * per;
            let mean = (first..first + chunk.len())
                .map(|i| 20.0 + (i / 100) as f64 * 0.5)
                .sum::<f64>()
                / chunk.len() as f64;
            assert!(
                chunk
                    .iter()
                    .all(|&t| (t - mean).abs() <= 75.0 / 512.0 + 1e-9),
                "{o:?} block {b}"
            );
        }
        // Clipping happened and reads back at the clip value.
        assert!(
            rec.accel
                .x
                .iter()
                .any(|&x| (x.abs() - clip).abs() <= unpacked_q.max(1.0 / 64.0))
        );
    }
}

#[test]
fn header_facts_match_the_options() {
    for c in cases() {
        let o = &c.opts;
        let bytes = write_case(&c);
        let facts = read_header(&bytes[..1536], Some(bytes.len() as u64)).expect("facts");
        assert_eq!(
            facts.device,
            if o.with_gyro {
                "Axivity AX6"
            } else {
                "Axivity AX3"
            }
        );
        assert_eq!(facts.device_id, Some(o.device_id.to_string()));
        assert_eq!(facts.sample_rate, Some(o.sample_rate));
        assert_eq!(facts.accel_range_g, Some(f64::from(o.range_g)));
        assert_eq!(facts.channels.iter().any(|c| c == "gyro"), o.with_gyro);
        assert!((facts.start.expect("start") - o.start).abs() < 2e-5);
        // Whole blocks are counted as full, so the estimate can overshoot by one partial block.
        let last = o.start + (c.n - 1) as f64 / o.sample_rate;
        let end = facts.end.expect("end");
        assert!(
            end >= last - 2e-5 && end - last < 120.0 / o.sample_rate,
            "{o:?}: {end} vs {last}"
        );
        let h = CwaHeader::parse(&bytes).expect("header");
        assert_eq!(h.session_id, o.session_id);
        assert_eq!(h.device_id, o.device_id);
        assert_eq!(h.annotation, o.annotation);
        assert_eq!(
            h.gyro_range_dps,
            o.with_gyro.then_some(f64::from(o.gyro_range_dps))
        );
        assert_eq!(h.axes, if o.with_gyro { 6 } else { 3 });
    }
}

#[test]
fn blocks_are_well_formed() {
    for c in cases() {
        let bytes = write_case(&c);
        let per = if c.opts.packed {
            120
        } else if c.opts.with_gyro {
            40
        } else {
            80
        };
        let blocks: Vec<&[u8]> = bytes[1024..].chunks(512).collect();
        for (k, b) in blocks.iter().enumerate() {
            let word = |at: usize| u16::from_le_bytes([b[at], b[at + 1]]);
            assert_eq!(&b[0..2], b"AX");
            assert_eq!(word(2), 508);
            let sum = (0..256).fold(0u16, |s, w| s.wrapping_add(word(2 * w)));
            assert_eq!(sum, 0, "block {k} checksum");
            assert_eq!(
                u32::from_le_bytes([b[10], b[11], b[12], b[13]]),
                k as u32,
                "sequence id"
            );
            assert_eq!(
                u32::from_le_bytes([b[6], b[7], b[8], b[9]]),
                c.opts.session_id
            );
            assert!(word(4) & 0x8000 != 0, "fractional timestamp flag");
            let count = usize::from(word(28));
            let expect = if k + 1 < blocks.len() {
                per
            } else {
                c.n - per * k
            };
            assert_eq!(count, expect, "block {k} sample count");
        }
    }
}

#[test]
fn whole_second_readers_get_exact_times_on_aligned_starts() {
    // With a start on a whole second and an integer rate, a sample falls on each block's
    // timestamp, so cwa-convert/SKDH-style reading (no fraction) is exact too.
    for c in cases()
        .into_iter()
        .filter(|c| c.opts.start.fract() == 0.0 && c.opts.sample_rate >= 25.0)
    {
        let bytes = write_case(&c);
        let rec = read(
            &bytes[..],
            &CwaReadOptions {
                time: CwaTime::WholeSecond,
                ..Default::default()
            },
        )
        .expect("read");
        for (i, t) in rec.time.iter().enumerate() {
            let want = c.opts.start + i as f64 / c.opts.sample_rate;
            assert!((t - want).abs() < 1e-6, "{:?} sample {i}", c.opts);
        }
    }
}

#[test]
fn real_recordings_survive_a_rewrite_exactly() {
    // AX6: 16 g accel (1/2048 g) and 2000 dps gyro, unpacked, 40 per block.
    let ax6 = read_file(data("skdh/io/ax6_sample.cwa"), &CwaReadOptions::default()).expect("ax6");
    let opts = CwaWriteOptions {
        with_gyro: true,
        range_g: 16,
        start: ax6.time[0],
        ..Default::default()
    };
    let again = read(
        &write_recording(&ax6, opts, Vec::new()).expect("write")[..],
        &CwaReadOptions::default(),
    )
    .expect("reread");
    assert_eq!(again.accel, ax6.accel);
    assert_eq!(again.gyro, ax6.gyro);
    assert_eq!(again.light, ax6.light);
    assert_eq!(again.temperature, ax6.temperature);
    // AX3 packed at 200 Hz: every packed value is representable again.
    let ax3 = read_file(data("skdh/io/ax3_sample.cwa"), &CwaReadOptions::default()).expect("ax3");
    let opts = CwaWriteOptions {
        packed: true,
        sample_rate: 200.0,
        start: ax3.time[0],
        ..Default::default()
    };
    let again = read(
        &write_recording(&ax3, opts, Vec::new()).expect("write")[..],
        &CwaReadOptions::default(),
    )
    .expect("reread");
    assert_eq!(again.accel, ax3.accel);
    assert_eq!(again.len(), ax3.len());
}

#[test]
fn invalid_options_and_samples_are_errors() {
    let bad = |o: CwaWriteOptions| {
        matches!(
            CwaWriter::new(Vec::new(), o),
            Err(CwaWriteError::InvalidOptions(_))
        )
    };
    assert!(bad(CwaWriteOptions {
        sample_rate: 30.0,
        ..Default::default()
    }));
    assert!(bad(CwaWriteOptions {
        range_g: 3,
        ..Default::default()
    }));
    assert!(bad(CwaWriteOptions {
        packed: true,
        with_gyro: true,
        ..Default::default()
    }));
    assert!(bad(CwaWriteOptions {
        with_gyro: true,
        gyro_range_dps: 300,
        ..Default::default()
    }));
    assert!(bad(CwaWriteOptions {
        start: 631_152_000.0,
        ..Default::default()
    }));
    assert!(bad(CwaWriteOptions {
        start: f64::NAN,
        ..Default::default()
    }));
    let mut w = CwaWriter::new(Vec::new(), CwaWriteOptions::default()).expect("writer");
    assert!(matches!(
        w.push([f64::NAN, 0.0, 1.0], None, 20.0, 0.0),
        Err(CwaWriteError::InvalidSample { index: 0, .. })
    ));
    assert!(w.push([0.0, 0.0, 1.0], Some([0.0; 3]), 20.0, 0.0).is_err());
    w.push([0.0, 0.0, 1.0], None, f64::NAN, f64::NAN)
        .expect("NaN temperature/light allowed");
    // No temperature in a block is written as "not recorded" and reads back as NaN.
    let rec = read(&w.finish().expect("finish")[..], &CwaReadOptions::default()).expect("read");
    assert_eq!(rec.len(), 1);
    assert!(rec.temperature.expect("t")[0].is_nan());
    let mut w = CwaWriter::new(
        Vec::new(),
        CwaWriteOptions {
            with_gyro: true,
            ..Default::default()
        },
    )
    .expect("writer");
    assert!(w.push([0.0, 0.0, 1.0], None, 20.0, 0.0).is_err());
    let no_gyro = Recording {
        accel: Triaxial {
            x: vec![0.0],
            y: vec![0.0],
            z: vec![1.0],
        },
        ..Default::default()
    };
    assert!(
        write_recording(
            &no_gyro,
            CwaWriteOptions {
                with_gyro: true,
                ..Default::default()
            },
            Vec::new()
        )
        .is_err()
    );
}
