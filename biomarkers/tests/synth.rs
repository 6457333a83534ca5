//! Tests of the synthetic recording generator: determinism, truth shape, signal statistics per
//! activity state, and the CWA round trip.

use biomarkers::io::Recording;
use biomarkers::io::cwa::{CwaReadOptions, CwaWriteOptions, read};
use biomarkers::synth::{
    ActivityState, CalibrationError, Placement, SynthError, SynthParams, Truth, generate,
    generate_recording, write_cwa, write_cwa_with,
};
use biomarkers::table::ColumnData;

fn params(days: f64, fs: f64, placement: Placement) -> SynthParams {
    let mut p = SynthParams {
        days,
        fs,
        placement,
        ..SynthParams::default()
    };
    // Short recordings still need every state: more running and non-wear than the defaults.
    p.schedule.mix.mvpa.weight = 0.15;
    p.schedule.nonwear_per_day = 2.0;
    p
}

/// Sample index range of truth minute `m`.
fn minute_samples(rec: &Recording, m: usize) -> std::ops::Range<usize> {
    let spm = 60.0 * rec.fs;
    let a = (m as f64 * spm).round() as usize;
    let b = (((m + 1) as f64 * spm).round() as usize).min(rec.len());
    a..b
}

fn accel(rec: &Recording, i: usize) -> [f64; 3] {
    [rec.accel.x[i], rec.accel.y[i], rec.accel.z[i]]
}

fn minute_enmo(rec: &Recording, m: usize) -> f64 {
    let r = minute_samples(rec, m);
    let n = r.len() as f64;
    r.map(|i| {
        let a = accel(rec, i);
        ((a[0] * a[0] + a[1] * a[1] + a[2] * a[2]).sqrt() - 1.0).max(0.0)
    })
    .sum::<f64>()
        / n
}

fn minutes_in(truth: &Truth, state: ActivityState) -> Vec<usize> {
    (0..truth.len())
        .filter(|&i| truth.state[i] == state)
        .collect()
}

/// Equality of truths with NaN cadences counted as equal (and a short failure message).
fn same_truth(a: &Truth, b: &Truth) -> bool {
    format!("{a:?}") == format!("{b:?}")
}

fn sd(xs: &[f64]) -> f64 {
    let mean = xs.iter().sum::<f64>() / xs.len() as f64;
    (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64).sqrt()
}

#[test]
fn same_seed_same_bytes_and_different_seed_differs() {
    let p = params(0.05, 25.0, Placement::Wrist);
    let a = {
        let mut v = Vec::new();
        write_cwa(&p, &mut v).expect("write");
        v
    };
    let b = {
        let mut v = Vec::new();
        write_cwa(&p, &mut v).expect("write");
        v
    };
    assert!(a.len() > 1024 + 512, "file too short: {}", a.len());
    assert_eq!(a, b, "same seed must give identical bytes");
    let other = SynthParams {
        seed: p.seed + 1,
        ..p
    };
    let mut c = Vec::new();
    write_cwa(&other, &mut c).expect("write");
    assert_ne!(a, c, "a different seed must give a different file");

    let (r1, t1) = generate_recording(&p).expect("generate");
    let (r2, t2) = generate_recording(&p).expect("generate");
    assert!(r1 == r2, "same seed must give the same samples");
    assert!(same_truth(&t1, &t2), "same seed must give the same truth");
}

#[test]
fn truth_has_one_row_per_minute_and_consistent_summary() {
    let p = params(1.3, 12.5, Placement::Wrist);
    let (rec, truth) = generate_recording(&p).expect("generate");
    let minutes = (1.3f64 * 1440.0).round() as usize;
    assert_eq!(truth.len(), minutes);
    assert_eq!(rec.len() as u64, truth.n_samples);
    assert_eq!(rec.len(), minutes * 60 * 25 / 2);
    for (i, t) in truth.minute_start.iter().enumerate() {
        assert_eq!(*t, p.start + 60.0 * i as f64);
    }
    assert_eq!(rec.time[0], p.start);
    assert!((rec.time[rec.len() - 1] - (p.start + (rec.len() - 1) as f64 / p.fs)).abs() < 1e-6);
    assert!(
        rec.temperature
            .as_ref()
            .is_some_and(|t| t.len() == rec.len())
    );
    assert!(rec.gyro.is_none());

    let table = truth.to_table();
    assert_eq!(table.num_rows(), minutes);
    for col in &table.columns {
        assert_eq!(col.data.len(), minutes, "column {}", col.name);
    }
    match table.column("state").map(|c| &c.data) {
        Some(ColumnData::Str(v)) => assert_eq!(v[0], truth.state[0].name()),
        other => panic!("state column missing or mistyped: {other:?}"),
    }
    assert!(
        table
            .column("enmo")
            .is_some_and(|c| c.unit.as_deref() == Some("g"))
    );

    let s = truth.summary();
    assert_eq!(s.minutes, minutes);
    assert_eq!(s.wear_minutes + s.nonwear_minutes, minutes);
    let sm = s.state_minutes;
    assert_eq!(
        sm.sleep + sm.sedentary + sm.light + sm.mvpa + sm.walking + sm.nonwear,
        minutes
    );
    assert_eq!(sm.nonwear, s.nonwear_minutes);
    assert!(
        sm.sleep > 300 && sm.walking > 0 && sm.mvpa > 0 && sm.nonwear > 0,
        "{sm:?}"
    );
    let complete: Vec<_> = s.nights.iter().filter(|n| n.complete).collect();
    assert!(!complete.is_empty());
    for n in complete {
        assert!(
            n.bed_time < n.sleep_onset
                && n.sleep_onset < n.sleep_offset
                && n.sleep_offset <= n.rise_time
        );
        let hours = (n.rise_time - n.bed_time) / 3600.0;
        assert!((5.0..11.0).contains(&hours), "time in bed {hours} h");
        assert!(n.sleep_minutes as f64 > 0.7 * hours * 60.0);
    }
    // Walking and running minutes have a cadence and steps; others have neither.
    for i in 0..truth.len() {
        let gait = matches!(truth.state[i], ActivityState::Walking | ActivityState::Mvpa);
        assert_eq!(truth.cadence_spm[i].is_finite(), gait, "minute {i}");
        if !gait {
            assert_eq!(truth.steps[i], 0, "minute {i}");
        }
        assert_eq!(truth.worn[i], truth.state[i] != ActivityState::Nonwear);
    }
    let bout_steps: u64 = truth.gait_bouts.iter().map(|b| b.steps).sum();
    assert_eq!(bout_steps, s.total_steps);
}

#[test]
fn wrist_enmo_is_low_in_sleep_and_high_in_mvpa() {
    let mut p = params(1.0, 25.0, Placement::Wrist);
    p.calibration_error = CalibrationError::none();
    let (rec, truth) = generate_recording(&p).expect("generate");
    let sleep = minutes_in(&truth, ActivityState::Sleep);
    let mvpa = minutes_in(&truth, ActivityState::Mvpa);
    let sedentary = minutes_in(&truth, ActivityState::Sedentary);
    assert!(
        sleep.len() > 300 && mvpa.len() > 10,
        "sleep {} mvpa {}",
        sleep.len(),
        mvpa.len()
    );
    let sleep_enmo: Vec<f64> = sleep.iter().map(|&m| minute_enmo(&rec, m)).collect();
    let mean_sleep = sleep_enmo.iter().sum::<f64>() / sleep_enmo.len() as f64;
    assert!(mean_sleep < 0.01, "mean sleep ENMO {mean_sleep}");
    let low = sleep_enmo.iter().filter(|&&e| e < 0.05).count() as f64 / sleep_enmo.len() as f64;
    assert!(low > 0.97, "only {low} of sleep minutes below 0.05 g");
    for &m in &mvpa {
        let e = minute_enmo(&rec, m);
        assert!(e > 0.11, "MVPA minute {m}: ENMO {e}");
        // The truth's noise-free ENMO agrees with the measured one.
        assert!(
            (e - truth.enmo_g[m]).abs() < 0.02,
            "minute {m}: {e} vs truth {}",
            truth.enmo_g[m]
        );
    }
    let sed_enmo: Vec<f64> = sedentary.iter().map(|&m| minute_enmo(&rec, m)).collect();
    let sed_low = sed_enmo.iter().filter(|&&e| e < 0.05).count() as f64 / sed_enmo.len() as f64;
    assert!(sed_low > 0.95, "sedentary minutes below 0.05 g: {sed_low}");
    // Light activity sits between the cut-points on average.
    let light = minutes_in(&truth, ActivityState::Light);
    let light_mean = light.iter().map(|&m| minute_enmo(&rec, m)).sum::<f64>() / light.len() as f64;
    assert!(
        (0.04..0.12).contains(&light_mean),
        "light mean ENMO {light_mean}"
    );
}

#[test]
fn nonwear_is_still_and_cools_down() {
    for placement in [Placement::Wrist, Placement::Lumbar] {
        let p = params(1.0, 25.0, placement);
        let (rec, truth) = generate_recording(&p).expect("generate");
        let temps = rec.temperature.as_ref().expect("temperature");
        let nonwear = minutes_in(&truth, ActivityState::Nonwear);
        assert!(nonwear.len() >= 60, "{} non-wear minutes", nonwear.len());
        for &m in &nonwear {
            let r = minute_samples(&rec, m);
            for axis in [&rec.accel.x, &rec.accel.y, &rec.accel.z] {
                let s = sd(&axis[r.clone()]);
                assert!(s < 0.013, "non-wear minute {m}: axis SD {s}");
            }
        }
        // Worn minutes of activity are not that still.
        let walking = minutes_in(&truth, ActivityState::Walking);
        assert!(
            walking
                .iter()
                .all(|&m| sd(&rec.accel.x[minute_samples(&rec, m)]) > 0.05)
        );

        assert!(!truth.nonwear.is_empty());
        for ep in &truth.nonwear {
            let m0 = ((ep.start - p.start) / 60.0) as usize;
            let m1 = ((ep.end - p.start) / 60.0) as usize;
            if m1 - m0 < 45 {
                continue;
            }
            let mean_t = |a: usize, b: usize| -> f64 {
                let (i, j) = (
                    minute_samples(&rec, a).start,
                    minute_samples(&rec, b - 1).end,
                );
                temps[i..j].iter().sum::<f64>() / (j - i) as f64
            };
            let first = mean_t(m0, m0 + 3);
            let last = mean_t(m1 - 3, m1);
            assert!(
                first > last + 4.0,
                "{placement:?}: temperature {first} -> {last}"
            );
            assert!(
                (last - p.temperature.ambient_c).abs() < 1.0,
                "settles near ambient: {last}"
            );
            assert!(first > 28.0, "starts warm: {first}");
            // Falling (per-minute means never rise by more than numerical noise).
            for m in m0..m1 - 1 {
                assert!(truth.temperature_c[m + 1] <= truth.temperature_c[m] + 1e-9);
            }
        }
        // Worn, the device is at skin temperature.
        let worn_t: Vec<f64> = (0..truth.len())
            .filter(|&m| truth.worn[m] && m > 0 && truth.worn[m - 1])
            .map(|m| truth.temperature_c[m])
            .collect();
        let median = {
            let mut v = worn_t.clone();
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        assert!(
            (31.5..35.0).contains(&median),
            "worn median temperature {median}"
        );
    }
}

/// Frequency (Hz) with the largest DFT magnitude of the mean-removed `x` between `lo` and `hi`.
fn dominant_frequency(x: &[f64], fs: f64, lo: f64, hi: f64) -> f64 {
    let mean = x.iter().sum::<f64>() / x.len() as f64;
    let mut best = (0.0, lo);
    let mut f = lo;
    while f <= hi {
        let w = std::f64::consts::TAU * f / fs;
        let (mut re, mut im) = (0.0, 0.0);
        for (i, v) in x.iter().enumerate() {
            let (s, c) = (w * i as f64).sin_cos();
            re += (v - mean) * c;
            im += (v - mean) * s;
        }
        let power = re * re + im * im;
        if power > best.0 {
            best = (power, f);
        }
        f += 0.01;
    }
    best.1
}

#[test]
fn lumbar_walking_has_its_cadence_as_dominant_frequency() {
    let mut p = params(1.0, 25.0, Placement::Lumbar);
    p.schedule.mix.walking.weight = 0.5;
    let (rec, truth) = generate_recording(&p).expect("generate");
    let walking = minutes_in(&truth, ActivityState::Walking);
    assert!(walking.len() >= 20, "{} walking minutes", walking.len());
    let mut checked = 0;
    for &m in &walking {
        let r = minute_samples(&rec, m);
        let mag: Vec<f64> = r
            .clone()
            .map(|i| {
                let a = accel(&rec, i);
                (a[0] * a[0] + a[1] * a[1] + a[2] * a[2]).sqrt()
            })
            .collect();
        let cadence = truth.cadence_spm[m];
        let f = dominant_frequency(&mag, rec.fs, 0.5, 4.0);
        assert!(
            (f - cadence / 60.0).abs() < 0.05,
            "minute {m}: dominant {f} Hz, cadence {cadence} steps/min"
        );
        // The medio-lateral axis (device y) swings at the stride frequency.
        let ml = &rec.accel.y[r];
        let f_ml = dominant_frequency(ml, rec.fs, 0.3, 1.5);
        assert!(
            (f_ml - cadence / 120.0).abs() < 0.05,
            "minute {m}: ML {f_ml} Hz"
        );
        // Steps counted in a full walking minute match the cadence.
        if m > 0
            && truth.state[m - 1] == ActivityState::Walking
            && truth.state.get(m + 1) == Some(&ActivityState::Walking)
        {
            let steps = f64::from(truth.steps[m]);
            assert!(
                (steps - cadence).abs() <= 0.06 * cadence + 1.0,
                "minute {m}: {steps} steps at {cadence}"
            );
            checked += 1;
        }
    }
    assert!(checked > 5);
}

#[test]
fn wrist_walking_swings_at_the_stride_frequency() {
    let mut p = params(0.5, 25.0, Placement::Wrist);
    p.schedule.mix.walking.weight = 0.6;
    p.start += 8.0 * 3600.0; // a daytime half day
    let (rec, truth) = generate_recording(&p).expect("generate");
    let walking = minutes_in(&truth, ActivityState::Walking);
    assert!(walking.len() >= 10, "{} walking minutes", walking.len());
    for &m in &walking {
        // Arm swing is a rotation about the device z axis: x and y exchange gravity.
        let y = &rec.accel.y[minute_samples(&rec, m)];
        let f = dominant_frequency(y, rec.fs, 0.3, 1.5);
        let stride = truth.cadence_spm[m] / 120.0;
        assert!(
            (f - stride).abs() < 0.05,
            "minute {m}: {f} Hz vs stride {stride} Hz"
        );
    }
}

#[test]
fn calibration_error_is_applied() {
    let p = params(1.0, 12.5, Placement::Wrist);
    let (rec, truth) = generate_recording(&p).expect("generate");
    let cal = p.calibration_error;
    let (offset, scale) = cal.skdh_correction();
    let mut raw_dev = 0.0;
    let mut corrected_dev = 0.0;
    let mut n = 0.0;
    for m in minutes_in(&truth, ActivityState::Nonwear) {
        let r = minute_samples(&rec, m);
        let len = r.len() as f64;
        let mean: [f64; 3] = [
            rec.accel.x[r.clone()].iter().sum::<f64>() / len,
            rec.accel.y[r.clone()].iter().sum::<f64>() / len,
            rec.accel.z[r].iter().sum::<f64>() / len,
        ];
        let corrected: [f64; 3] = std::array::from_fn(|i| (mean[i] + offset[i]) * scale[i]);
        let norm = |v: [f64; 3]| (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
        raw_dev += (norm(mean) - 1.0).abs();
        corrected_dev += (norm(corrected) - 1.0).abs();
        n += 1.0;
    }
    assert!(n > 30.0);
    let (raw_dev, corrected_dev) = (raw_dev / n, corrected_dev / n);
    assert!(
        corrected_dev < 0.002,
        "after correction |norm - 1| = {corrected_dev}"
    );
    assert!(raw_dev > 0.005, "calibration error not visible: {raw_dev}");
}

#[test]
fn shorter_recording_is_a_prefix_and_schedule_ignores_fs() {
    let long = params(1.0, 25.0, Placement::Lumbar);
    let short = SynthParams { days: 0.4, ..long };
    let (rl, tl) = generate_recording(&long).expect("generate");
    let (rs, ts) = generate_recording(&short).expect("generate");
    let n = rs.len();
    assert_eq!(rs.accel.x[..], rl.accel.x[..n]);
    assert_eq!(rs.accel.z[..], rl.accel.z[..n]);
    assert_eq!(
        rs.temperature.as_ref().map(|t| &t[..]),
        rl.temperature.as_ref().map(|t| &t[..n])
    );
    assert_eq!(ts.state[..], tl.state[..ts.len()]);

    let fast = SynthParams { fs: 50.0, ..long };
    let (_, tf) = {
        // Only the truth is needed; a counting sink keeps memory flat.
        struct Count(u64);
        impl biomarkers::synth::SampleSink for Count {
            fn push(
                &mut self,
                _: f64,
                _: [f64; 3],
                _: Option<[f64; 3]>,
                _: f64,
                _: f64,
            ) -> Result<(), SynthError> {
                self.0 += 1;
                Ok(())
            }
        }
        let mut c = Count(0);
        let t = generate(&fast, &mut c).expect("generate");
        assert_eq!(c.0, t.n_samples);
        assert_eq!(c.0, 1440 * 60 * 50);
        ((), t)
    };
    assert_eq!(tf.state, tl.state);
    assert_eq!(tf.posture, tl.posture);
    assert_eq!(
        tf.cadence_spm
            .iter()
            .map(|c| c.to_bits())
            .collect::<Vec<_>>(),
        tl.cadence_spm
            .iter()
            .map(|c| c.to_bits())
            .collect::<Vec<_>>()
    );
}

#[test]
fn invalid_parameters_are_errors() {
    let ok = SynthParams::default();
    for bad in [
        SynthParams { fs: 0.0, ..ok },
        SynthParams { fs: f64::NAN, ..ok },
        SynthParams { days: 0.0, ..ok },
        SynthParams { days: -1.0, ..ok },
        SynthParams { days: 1e9, ..ok },
        SynthParams {
            noise_sd_g: -0.1,
            ..ok
        },
        SynthParams {
            start: f64::INFINITY,
            ..ok
        },
    ] {
        assert!(
            matches!(generate_recording(&bad), Err(SynthError::InvalidParams(_))),
            "{bad:?}"
        );
    }
    let mut bad = ok;
    bad.schedule.walking_cadence_spm = (130.0, 90.0);
    assert!(
        matches!(bad.validate(), Err(SynthError::InvalidParams(m)) if m.contains("walking_cadence"))
    );
    let mut bad = ok;
    bad.calibration_error.scale[1] = 0.0;
    assert!(bad.validate().is_err());
    // A rate the CWA format cannot hold is the writer's error, not a panic.
    let odd = SynthParams {
        fs: 30.0,
        days: 0.01,
        ..ok
    };
    assert!(matches!(
        write_cwa(&odd, Vec::new()),
        Err(SynthError::Cwa(_))
    ));
}

#[test]
fn cwa_round_trip_equals_generated_samples() {
    for (with_gyro, packed) in [(false, false), (false, true), (true, false)] {
        let mut p = params(0.03, 50.0, Placement::Lumbar);
        p.with_gyro = with_gyro;
        p.start += 9.0 * 3600.0 + 0.0; // daytime: movement on every axis
        let (rec, truth) = generate_recording(&p).expect("generate");
        let opts = CwaWriteOptions {
            packed,
            ..CwaWriteOptions::default()
        };
        let mut bytes = Vec::new();
        let t2 = write_cwa_with(&p, opts, &mut bytes).expect("write");
        assert!(
            same_truth(&truth, &t2),
            "the truth does not depend on the sink"
        );
        let back = read(&bytes[..], &CwaReadOptions::default()).expect("read");
        assert!(back.issues.is_empty(), "{:?}", back.issues);
        assert_eq!(back.len(), rec.len(), "gyro {with_gyro} packed {packed}");
        assert_eq!(back.fs, p.fs);
        // Unpacked AX3 and packed samples are 1/256 g, AX6 (with gyro, +/-8 g) 1/4096 g; in a
        // packed sample whose largest axis exceeds 511/256 g all three axes share a coarser
        // exponent (2^e / 256 g).
        let q = if with_gyro { 1.0 / 4096.0 } else { 1.0 / 256.0 };
        for i in 0..rec.len() {
            assert!((back.time[i] - rec.time[i]).abs() < 1e-3, "time {i}");
            let biggest = accel(&rec, i).iter().fold(0.0f64, |m, v| m.max(v.abs()));
            let mut step = q;
            while packed && biggest / step > 511.5 {
                step *= 2.0;
            }
            for (a, b) in [
                (&back.accel.x, &rec.accel.x),
                (&back.accel.y, &rec.accel.y),
                (&back.accel.z, &rec.accel.z),
            ] {
                let tol = step * 0.5 + 1e-9;
                assert!(
                    (a[i] - b[i]).abs() <= tol,
                    "gyro {with_gyro} packed {packed} sample {i}: {} vs {} (neighbours read {:?} made {:?})",
                    a[i],
                    b[i],
                    &a[i.saturating_sub(2)..(i + 3).min(a.len())],
                    &b[i.saturating_sub(2)..(i + 3).min(b.len())]
                );
            }
        }
        if with_gyro {
            let (g, h) = (
                back.gyro.as_ref().expect("gyro read"),
                rec.gyro.as_ref().expect("gyro made"),
            );
            let q = 2000.0 / 32768.0;
            for i in 0..rec.len() {
                assert!((g.x[i] - h.x[i]).abs() <= q, "gyro {i}");
                assert!((g.z[i] - h.z[i]).abs() <= q, "gyro {i}");
            }
        }
        // Temperature is stored once per block (its mean), at 75/256 deg C resolution.
        let (tb, tr) = (
            back.temperature.as_ref().expect("t"),
            rec.temperature.as_ref().expect("t"),
        );
        for i in (0..rec.len()).step_by(97) {
            assert!(
                (tb[i] - tr[i]).abs() < 0.3,
                "temperature {i}: {} vs {}",
                tb[i],
                tr[i]
            );
        }
    }
}
