//! Day windows, wear detection (all four methods) and calibration compared with SKDH 0.17.18
//! on the synthetic scenarios of `scripts/skdh/scenarios.py` (references in `tests/reference/`,
//! made by `scripts/skdh/reference.py scenarios`).

#[path = "reference/signal.rs"]
mod signal;

use biomarkers::preprocessing::Axes;
use biomarkers::preprocessing::calibrate::{CalibrateParams, CalibrationStatus, calibrate};
use biomarkers::preprocessing::days::{LocalClock, day_windows};
use biomarkers::preprocessing::wear::{self, Shipping};
use signal::{close, generate, load_reference, num, pairs, scenario};

fn check_days_and_wear(name: &str) {
    let refj = load_reference(&format!("scenario_{name}"));
    let sc = scenario(name);
    let sig = generate(&sc);
    signal::check_fingerprint(&sig, &refj["input"]);
    let tz = refj["tz_name"].as_str();
    let clock = LocalClock::new(tz).unwrap();
    for (key, base, period) in [("0,24", 0, 24), ("12,24", 12, 24)] {
        let got = day_windows(&sig.time, sig.fs, base, period, &clock).unwrap();
        assert_eq!(
            got,
            pairs(&refj["day_ends"][key]),
            "{name}: day windows {key}"
        );
    }
    let a = Axes::new(&sig.x, &sig.y, &sig.z);
    let t = Some(sig.temperature.as_slice());
    let fs = sig.fs;
    let w = &refj["wear"];
    assert_eq!(
        wear::accel_threshold(a, fs, &Default::default()).unwrap(),
        pairs(&w["accel_threshold"]),
        "{name}: accel_threshold"
    );
    let ship = wear::AccelThresholdParams {
        shipping_criteria: Shipping::Pair([2, 2]),
        ..Default::default()
    };
    assert_eq!(
        wear::accel_threshold(a, fs, &ship).unwrap(),
        pairs(&w["accel_threshold_shipping"]),
        "{name}: accel_threshold shipping"
    );
    assert_eq!(
        wear::choi(&sig.time, a, fs, &Default::default()).unwrap(),
        pairs(&w["choi"]),
        "{name}: choi"
    );
    assert_eq!(
        wear::cta(a, t, fs, &Default::default()).unwrap(),
        pairs(&w["cta"]),
        "{name}: cta"
    );
    assert_eq!(
        wear::detach(a, t, fs, &Default::default()).unwrap(),
        pairs(&w["detach"]),
        "{name}: detach"
    );
}

#[test]
fn days_and_wear_match_skdh_on_62h_over_dst() {
    check_days_and_wear("days");
}

#[test]
fn days_and_wear_match_skdh_at_50hz() {
    check_days_and_wear("rate50");
}

#[test]
fn days_and_wear_match_skdh_on_84h_miscalibrated() {
    check_days_and_wear("calib");
}

#[test]
fn calibration_matches_skdh() {
    let refj = load_reference("scenario_calib");
    let sig = generate(&scenario("calib"));
    signal::check_fingerprint(&sig, &refj["input"]);
    let a = Axes::new(&sig.x, &sig.y, &sig.z);
    for (label, temp) in [
        ("with_temperature", Some(sig.temperature.as_slice())),
        ("without_temperature", None),
    ] {
        let r = &refj["calibration"][label];
        let c = calibrate(a, temp, sig.fs, &CalibrateParams::default());
        assert_eq!(
            c.status == CalibrationStatus::Calibrated,
            r["calibrated"].as_bool().unwrap(),
            "{label}: {c:?}"
        );
        for k in 0..3 {
            for (field, got) in [
                ("offset", c.offset[k]),
                ("scale", c.scale[k]),
                ("temperature_scale", c.temperature_scale[k]),
            ] {
                let want = num(&r[field][k]);
                assert!(
                    close(got, want, 1e-6) || (got - want).abs() < 1e-9,
                    "{label} {field}[{k}]: {got} vs SKDH {want}"
                );
            }
        }
        // the corrected acceleration SKDH passes on
        let mut x = sig.x.clone();
        let mut y = sig.y.clone();
        let mut z = sig.z.clone();
        c.apply(&mut x, &mut y, &mut z, temp);
        let idx: Vec<usize> = r["accel_checksum"]["index"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        for (j, &i) in idx.iter().enumerate() {
            for (k, ax) in [&x, &y, &z].iter().enumerate() {
                let want = num(&r["accel_checksum"]["values"][j][k]);
                assert!(
                    (ax[i] - want).abs() < 1e-6,
                    "{label} accel[{i}][{k}]: {} vs {want}",
                    ax[i]
                );
            }
        }
        assert!(c.error_after < c.error_before && c.error_after < 0.01);
    }
}

#[test]
fn too_short_or_unsuitable_inputs_give_errors_not_panics() {
    let n = 20 * 60 * 30; // 30 min at 20 Hz
    let z = vec![1.0; n];
    let o = vec![0.0; n];
    let a = Axes::new(&o, &o, &z);
    let e = wear::accel_threshold(a, 20.0, &Default::default()).unwrap_err();
    assert!(e.to_string().contains("too short"), "{e}");
    assert!(matches!(
        wear::cta(a, None, 20.0, &Default::default()),
        Err(wear::WearError::NoTemperature)
    ));
    let c = calibrate(a, None, 20.0, &CalibrateParams::default());
    assert_eq!(c.status, CalibrationStatus::TooShort);
    let time: Vec<f64> = (0..n).map(|i| i as f64 / 20.0).collect();
    assert!(day_windows(&time, 0.0, 0, 24, &LocalClock::naive()).is_err());
    assert!(day_windows(&[], 20.0, 0, 24, &LocalClock::naive()).is_err());
}
