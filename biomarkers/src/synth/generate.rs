//! Sample generation: each schedule segment becomes a plan (orientation keyframes, movement
//! bursts, an optional gait oscillator), which is rendered sample by sample into a sink.
//!
//! Plans are built from the segment's own random stream and times in seconds, so they do not
//! depend on the sampling rate; only sensor noise is drawn per sample. The per-sample work is
//! a linear interpolation of the orientation plus, inside bursts and gait, one or two
//! `sin_cos`; rotations are never recomputed per sample outside gait.

use std::f64::consts::{PI, TAU};

use super::math::{self, sin_cos};
use super::params::{Placement, SynthParams};
use super::rng::{Rng, Stream};
use super::schedule::{Kind, Schedule, Segment};
use super::truth::{ActivityState, GaitBout, Posture, TruthBuilder};
use super::{SampleSink, SynthError};

/// Standard gravity, m/s^2: converts the arm-swing mechanics to g.
const G: f64 = 9.80665;

type V3 = [f64; 3];

fn add(a: V3, b: V3) -> V3 {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}
fn scale(a: V3, s: f64) -> V3 {
    [a[0] * s, a[1] * s, a[2] * s]
}
fn dot(a: V3, b: V3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}
fn cross(a: V3, b: V3) -> V3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}
fn norm(a: V3) -> f64 {
    dot(a, a).sqrt()
}
fn normalize(a: V3) -> V3 {
    let n = norm(a);
    if n > 0.0 {
        scale(a, 1.0 / n)
    } else {
        [0.0, 0.0, 1.0]
    }
}

/// A unit vector perpendicular to `u`, in a random direction.
fn random_perpendicular(u: V3, rng: &mut Rng) -> V3 {
    for _ in 0..8 {
        let r = rng.unit_vector();
        let p = add(r, scale(u, -dot(r, u)));
        if norm(p) > 1e-3 {
            return normalize(p);
        }
    }
    // u is (nearly) parallel to every draw only in theory; any perpendicular will do.
    let other = if u[0].abs() < 0.9 {
        [1.0, 0.0, 0.0]
    } else {
        [0.0, 1.0, 0.0]
    };
    normalize(cross(u, other))
}

/// `u` rotated by `angle` radians towards a random perpendicular direction.
pub(crate) fn tilt_towards_random(u: V3, angle: f64, rng: &mut Rng) -> V3 {
    let p = random_perpendicular(u, rng);
    let (s, c) = sin_cos(angle);
    normalize(add(scale(u, c), scale(p, s)))
}

/// (w cos p, w sin p) for four (weight, phase) pairs given as a flat list.
fn harmonic_table(wp: &[f64]) -> [(f64, f64); 4] {
    std::array::from_fn(|n| {
        let (w, ph) = (
            wp.get(2 * n).copied().unwrap_or(0.0),
            wp.get(2 * n + 1).copied().unwrap_or(0.0),
        );
        let (s, c) = sin_cos(ph);
        (w * c, w * s)
    })
}

/// Light in Axivity raw units (10 bits, roughly 341 * log10(lux)).
fn light_raw(lux: f64) -> f64 {
    (341.0 * math::ln(lux.max(1.0)) / std::f64::consts::LN_10)
        .round()
        .clamp(0.0, 1023.0)
}

/// Orientation keyframe: the up direction in the device frame at time `t` (s from the start).
#[derive(Debug, Clone, Copy)]
struct Key {
    t: f64,
    u: V3,
}

/// A windowed oscillation of linear acceleration (a gesture, a twitch, handling the device).
#[derive(Debug, Clone, Copy)]
struct Burst {
    t0: f64,
    t1: f64,
    freq_hz: f64,
    amp_g: V3,
}

/// Gait oscillator of one walking or running segment.
#[derive(Debug, Clone)]
struct Gait {
    t0: f64,
    t1: f64,
    cadence_spm: f64,
    running: bool,
    rng: Rng,
    /// Lumbar body axes in the device frame (vertical, anterior-posterior, medio-lateral).
    v: V3,
    ap: V3,
    ml: V3,
    /// Wrist: swing axis in the device frame, swing amplitude (rad), lever (m), impact (g).
    k: V3,
    swing_rad: f64,
    lever_m: f64,
    impact_g: f64,
    /// Lumbar harmonic shapes: (w cos p, w sin p) of harmonics 1-4 of the step frequency,
    /// so that harmonic n contributes w cos(n phi + p).
    v_harmonics: [(f64, f64); 4],
    ap_harmonics: [(f64, f64); 4],
    /// Lumbar amplitudes, g.
    a_v: f64,
    a_ap: f64,
    a_ml: f64,
    // Oscillator state.
    step_phase: f64,
    odd_step: bool,
    step_s: f64,
    step_gain: f64,
    /// Extra gain of the 2nd harmonic for the current step (step-to-step shape variation).
    step_h2: f64,
    /// Left/right amplitude asymmetry of this walker (odd steps are 1 + asym, even 1 - asym).
    asym: f64,
    /// Low-pass "body" noise riding on the gait signal (trunk and soft-tissue movement), g.
    body_noise_g: f64,
    body_noise: V3,
    started: bool,
    steps: u64,
}

impl Gait {
    fn draw_step(&mut self) {
        self.step_s = 60.0 / self.cadence_spm * (1.0 + 0.02 * self.rng.normal()).clamp(0.9, 1.1);
        let side = if self.odd_step {
            1.0 + self.asym
        } else {
            1.0 - self.asym
        };
        self.step_gain = side * (1.0 + 0.06 * self.rng.normal()).clamp(0.8, 1.2);
        self.step_h2 = (1.0 + 0.15 * self.rng.normal()).clamp(0.5, 1.5);
    }
}

/// How restless the body is in one kind of segment.
#[derive(Debug, Clone, Copy)]
struct Profile {
    /// Interval between slow orientation wander keyframes, s (min, max).
    drift_every_s: (f64, f64),
    /// Wander around the current pose, degrees (SD).
    drift_deg: f64,
    /// Interval between pose changes, s (min, max); `None`: no pose changes.
    pose_every_s: Option<(f64, f64)>,
    /// Duration of a pose change, s, and the movement amplitude during it, g.
    pose_move_s: (f64, f64),
    pose_burst_g: (f64, f64),
    /// Mean interval between gestures/twitches, s; `None`: no bursts.
    burst_every_s: Option<f64>,
    burst_dur_s: (f64, f64),
    burst_g: (f64, f64),
    burst_hz: (f64, f64),
    /// Pose shift left behind by a burst, degrees (SD).
    burst_tilt_deg: f64,
}

/// One row of the profile table below, in field order (a positional table reads better
/// than ten named fields per row).
#[allow(clippy::too_many_arguments)]
const fn profile(
    drift_every_s: (f64, f64),
    drift_deg: f64,
    pose_every_s: Option<(f64, f64)>,
    pose_move_s: (f64, f64),
    pose_burst_g: (f64, f64),
    burst_every_s: Option<f64>,
    burst_dur_s: (f64, f64),
    burst_g: (f64, f64),
    burst_hz: (f64, f64),
    burst_tilt_deg: f64,
) -> Profile {
    Profile {
        drift_every_s,
        drift_deg,
        pose_every_s,
        pose_move_s,
        pose_burst_g,
        burst_every_s,
        burst_dur_s,
        burst_g,
        burst_hz,
        burst_tilt_deg,
    }
}

#[rustfmt::skip]
fn profile_for(placement: Placement, kind: Kind, p: &SynthParams) -> Profile {
    let s = &p.schedule;
    let sleep_pose = Some((s.posture_change_min.0 * 60.0, s.posture_change_min.1 * 60.0));
    let twitch = Some(s.brief_movement_interval_min * 60.0);
    match (placement, kind) {
        (Placement::Wrist, Kind::Sleep) => profile(
            (20.0, 60.0), 0.3, sleep_pose, (4.0, 12.0), (0.1, 0.3),
            twitch, (1.0, 4.0), (0.05, 0.2), (1.0, 3.0), 4.0,
        ),
        // Awake in bed the hands are busy (phone, book, scratching): enough for Cole-Kripke
        // to score wake, still sedentary by ENMO.
        (Placement::Wrist, Kind::BedAwake) => profile(
            (3.0, 15.0), 3.0, Some((60.0, 240.0)), (1.0, 3.0), (0.05, 0.15),
            Some(4.0), (2.0, 6.0), (0.15, 0.35), (1.0, 3.0), 0.0,
        ),
        (Placement::Wrist, Kind::Sedentary) => profile(
            (1.0, 5.0), 4.0, Some((30.0, 300.0)), (1.0, 3.0), (0.05, 0.2),
            Some(15.0), (1.0, 5.0), (0.03, 0.15), (1.0, 4.0), 0.0,
        ),
        (Placement::Wrist, Kind::Light) => profile(
            (0.5, 2.0), 12.0, Some((10.0, 60.0)), (0.5, 2.0), (0.2, 0.5),
            Some(2.0), (2.0, 8.0), (0.3, 0.8), (1.0, 3.0), 0.0,
        ),
        (Placement::Lumbar, Kind::Sleep) => profile(
            (20.0, 60.0), 0.3, sleep_pose, (5.0, 15.0), (0.05, 0.2),
            twitch, (1.0, 4.0), (0.02, 0.1), (1.0, 3.0), 1.5,
        ),
        (Placement::Lumbar, Kind::BedAwake) => profile(
            (5.0, 20.0), 1.0, Some((120.0, 600.0)), (3.0, 8.0), (0.05, 0.15),
            Some(60.0), (1.0, 3.0), (0.02, 0.08), (1.0, 3.0), 0.0,
        ),
        (Placement::Lumbar, Kind::Sedentary) => profile(
            (2.0, 10.0), 1.5, Some((60.0, 480.0)), (1.0, 4.0), (0.05, 0.15),
            Some(40.0), (1.0, 3.0), (0.02, 0.08), (1.0, 3.0), 0.0,
        ),
        (Placement::Lumbar, Kind::Light) => profile(
            (0.5, 2.0), 4.0, Some((10.0, 60.0)), (1.0, 3.0), (0.1, 0.3),
            Some(4.0), (1.0, 5.0), (0.05, 0.25), (1.0, 3.0), 0.0,
        ),
        // Walking and running: the gait oscillator does the work; keep a gentle wander.
        (_, Kind::Walking | Kind::Running) => profile(
            (1.0, 3.0), 2.0, None, (1.0, 2.0), (0.1, 0.3),
            None, (1.0, 1.0), (0.0, 0.0), (1.0, 1.0), 0.0,
        ),
        (_, Kind::Nonwear) => profile(
            (1.0, 1.0), 0.0, None, (1.0, 1.0), (0.0, 0.0),
            None, (1.0, 1.0), (0.0, 0.0), (1.0, 1.0), 0.0,
        ),
    }
}

/// Draws a new pose (up direction in the device frame, body posture) for a segment kind.
fn draw_pose(placement: Placement, kind: Kind, rng: &mut Rng) -> (V3, Posture) {
    let deg = |d: f64| d.to_radians();
    let lying = |rng: &mut Rng| match rng.weighted(&[0.4, 0.25, 0.25, 0.1]) {
        0 => Posture::Supine,
        1 => Posture::LeftSide,
        2 => Posture::RightSide,
        _ => Posture::Prone,
    };
    match (placement, kind) {
        (Placement::Wrist, Kind::Sleep | Kind::BedAwake) => {
            // A sleeping wrist ends up in any orientation: this is also what lets
            // auto-calibration see every axis point up and down.
            (rng.unit_vector(), lying(rng))
        }
        (Placement::Wrist, Kind::Sedentary) => {
            let u = match rng.weighted(&[0.6, 0.2, 0.2]) {
                0 => tilt_towards_random([0.0, 0.0, 1.0], deg(rng.range(0.0, 40.0)), rng),
                1 => {
                    let side = if rng.chance(0.5) { 1.0 } else { -1.0 };
                    tilt_towards_random([0.0, side, 0.0], deg(rng.range(0.0, 20.0)), rng)
                }
                _ => {
                    let along = if rng.chance(0.5) { 1.0 } else { -1.0 };
                    tilt_towards_random([along, 0.0, 0.0], deg(rng.range(0.0, 25.0)), rng)
                }
            };
            (u, Posture::Sitting)
        }
        (Placement::Wrist, Kind::Light) => {
            let u = if rng.chance(0.5) {
                tilt_towards_random([-1.0, 0.0, 0.0], deg(rng.range(0.0, 30.0)), rng)
            } else {
                tilt_towards_random([0.0, 0.0, 1.0], deg(rng.range(0.0, 45.0)), rng)
            };
            (u, Posture::Standing)
        }
        (Placement::Wrist, Kind::Walking) => (
            tilt_towards_random([-1.0, 0.0, 0.0], deg(rng.range(0.0, 10.0)), rng),
            Posture::Standing,
        ),
        (Placement::Wrist, Kind::Running) => (
            tilt_towards_random(normalize([-0.3, 0.9, 0.2]), deg(rng.range(0.0, 8.0)), rng),
            Posture::Standing,
        ),
        (Placement::Lumbar, Kind::Sleep | Kind::BedAwake) => {
            let posture = lying(rng);
            let u = match posture {
                Posture::Supine => [0.0, 0.0, 1.0],
                Posture::Prone => [0.0, 0.0, -1.0],
                Posture::LeftSide => [0.0, -1.0, 0.0],
                _ => [0.0, 1.0, 0.0],
            };
            (
                tilt_towards_random(u, deg(rng.range(0.0, 15.0)), rng),
                posture,
            )
        }
        (Placement::Lumbar, Kind::Sedentary) => {
            let (s, c) = sin_cos(deg(rng.range(10.0, 35.0)));
            (
                tilt_towards_random([c, 0.0, s], deg(rng.range(0.0, 4.0)), rng),
                Posture::Sitting,
            )
        }
        (Placement::Lumbar, Kind::Light) => {
            let lean = if rng.chance(0.8) {
                rng.range(0.0, 10.0)
            } else {
                rng.range(20.0, 60.0)
            };
            let (s, c) = sin_cos(deg(lean));
            (
                tilt_towards_random([c, 0.0, -s], deg(rng.range(0.0, 3.0)), rng),
                Posture::Standing,
            )
        }
        (Placement::Lumbar, Kind::Walking | Kind::Running) => {
            let (s, c) = sin_cos(deg(rng.range(2.0, 8.0)));
            (normalize([c, 0.0, -s]), Posture::Standing)
        }
        (_, Kind::Nonwear) => ([0.0, 0.0, 1.0], Posture::NotWorn),
    }
}

fn is_lying(p: Posture) -> bool {
    matches!(
        p,
        Posture::Supine | Posture::Prone | Posture::LeftSide | Posture::RightSide
    )
}

/// Everything needed to render one segment.
struct Plan {
    t0: f64,
    t1: f64,
    keys: Vec<Key>,
    bursts: Vec<Burst>,
    gait: Option<Gait>,
    /// Body posture from each time on (sorted, first at `t0`).
    postures: Vec<(f64, Posture)>,
    temp_target_c: f64,
    temp_tau_s: f64,
    light: f64,
}

impl Plan {
    fn push_key(&mut self, t: f64, u: V3) {
        let last_t = self.keys.last().map_or(f64::NEG_INFINITY, |k| k.t);
        // Keyframe times must increase strictly for the interpolation.
        self.keys.push(Key {
            t: t.max(last_t + 1e-3),
            u,
        });
    }

    fn last_u(&self) -> V3 {
        self.keys.last().map_or([0.0, 0.0, 1.0], |k| k.u)
    }

    fn last_key_t(&self) -> f64 {
        self.keys.last().map_or(self.t0, |k| k.t)
    }

    fn push_burst(&mut self, t0: f64, dur: f64, freq_hz: f64, amp_g: V3) {
        let start = self.bursts.last().map_or(t0, |b| t0.max(b.t1));
        if start + 0.2 < t0 + dur {
            self.bursts.push(Burst {
                t0: start,
                t1: t0 + dur,
                freq_hz,
                amp_g,
            });
        }
    }

    /// A movement from the current orientation to `to` over `[t, t + dur)`.
    fn move_to(&mut self, t: f64, dur: f64, to: V3, amp_g: f64, rng: &mut Rng) {
        let from = self.last_u();
        self.push_key(t, from);
        self.push_key(t + dur, to);
        let dir = rng.unit_vector();
        let freq = rng.range(1.0, 2.5);
        self.push_burst(t, dur, freq, scale(dir, amp_g));
    }
}

/// State carried from one segment to the next.
struct Carry {
    up: V3,
    posture: Posture,
    worn: bool,
    temp_c: f64,
}

fn temperature_target(p: &SynthParams, kind: Kind) -> f64 {
    let t = &p.temperature;
    match kind {
        Kind::Sleep => t.skin_c + 1.0,
        Kind::BedAwake => t.skin_c + 0.8,
        Kind::Sedentary => t.skin_c,
        Kind::Light => t.skin_c - 0.5,
        Kind::Walking => t.skin_c - 0.8,
        Kind::Running => t.skin_c - 1.5,
        Kind::Nonwear => t.ambient_c,
    }
}

fn clock_hour(p: &SynthParams, t_rel: f64) -> f64 {
    ((p.start + t_rel).rem_euclid(86_400.0)) / 3600.0
}

fn build_plan(p: &SynthParams, seg: &Segment, next: Option<&Segment>, carry: &Carry) -> Plan {
    let placement = p.placement;
    let mut rng = Rng::new(p.seed, Stream::Segment, seg.key);
    let t0 = seg.start_min as f64 * 60.0;
    let t1 = seg.end_min as f64 * 60.0;
    let kind = seg.kind;
    let hour = clock_hour(p, 0.5 * (t0 + t1));
    let daylight = (7.0..19.0).contains(&hour);
    let lux = match kind {
        Kind::Sleep => 0.0,
        Kind::BedAwake => rng.range(0.0, 20.0),
        Kind::Sedentary | Kind::Light if daylight => rng.range(100.0, 600.0),
        Kind::Sedentary | Kind::Light => rng.range(20.0, 200.0),
        Kind::Walking | Kind::Running if daylight => rng.range(1000.0, 20_000.0),
        Kind::Walking | Kind::Running => rng.range(2.0, 50.0),
        Kind::Nonwear if daylight => rng.range(50.0, 400.0),
        Kind::Nonwear => rng.range(0.0, 10.0),
    };
    let tc = &p.temperature;
    let temp_tau_min = if kind == Kind::Nonwear {
        tc.cooling_tau_min
    } else if !carry.worn {
        tc.warming_tau_min
    } else {
        tc.worn_tau_min
    };
    let jitter = if kind == Kind::Nonwear {
        0.0
    } else {
        0.2 * rng.normal()
    };
    let mut plan = Plan {
        t0,
        t1,
        keys: Vec::new(),
        bursts: Vec::new(),
        gait: None,
        postures: Vec::new(),
        temp_target_c: temperature_target(p, kind) + jitter,
        temp_tau_s: temp_tau_min * 60.0,
        light: light_raw(lux),
    };

    if kind == Kind::Nonwear {
        plan.push_key(t0, seg.rest_up);
        plan.postures.push((t0, Posture::NotWorn));
        return plan;
    }

    let prof = profile_for(placement, kind, p);
    // Taking the device off happens in the last seconds of the worn segment before non-wear.
    let removal = next.filter(|n| n.kind == Kind::Nonwear).map(|n| n.rest_up);
    let events_end = if removal.is_some() { t1 - 15.0 } else { t1 };

    // Start: continue the pose when lying on in bed, otherwise move into a new one (longer
    // and with more handling when the device is being put on).
    plan.push_key(t0, carry.up);
    let in_bed = matches!(kind, Kind::Sleep | Kind::BedAwake);
    let (mut base, mut posture) = (carry.up, carry.posture);
    if !(in_bed && is_lying(carry.posture)) {
        let (u, post) = draw_pose(placement, kind, &mut rng);
        let (dur, amp) = if carry.worn {
            (
                rng.in_range(prof.pose_move_s).max(1.0),
                rng.in_range(prof.pose_burst_g),
            )
        } else {
            (rng.range(10.0, 20.0), rng.range(0.1, 0.4))
        };
        plan.move_to(t0, dur.min((events_end - t0) * 0.5), u, amp, &mut rng);
        base = u;
        posture = post;
    }
    plan.postures.push((t0, posture));

    if matches!(kind, Kind::Walking | Kind::Running) {
        let running = kind == Kind::Running;
        let range = if running {
            p.schedule.running_cadence_spm
        } else {
            p.schedule.walking_cadence_spm
        };
        let cadence = rng.in_range(range);
        // Faster walking is harder walking: amplitudes grow with cadence.
        let speed = (cadence / 110.0) * (cadence / 110.0).sqrt(); // (c / 110)^1.5
        // Lumbar body axes: vertical = the upright pose, AP = device z made perpendicular to it.
        let v = base;
        let ap = normalize(add([0.0, 0.0, 1.0], scale(v, -v[2])));
        let ml = cross(v, ap);
        let gait_start = (plan.last_key_t() + 0.5).min(events_end);
        let mut g = Gait {
            t0: gait_start,
            t1: events_end.max(gait_start),
            cadence_spm: cadence,
            running,
            rng: Rng::new(p.seed, Stream::Gait, seg.key),
            v,
            ap,
            ml,
            k: [0.0, 0.0, 1.0],
            swing_rad: if running {
                0.45
            } else {
                0.30 * cadence / 110.0
            },
            lever_m: if running { 0.3 } else { 0.6 },
            impact_g: if running { 0.8 } else { 0.12 * speed },
            a_v: if running { 0.7 } else { 0.22 * speed },
            a_ap: if running { 0.4 } else { 0.20 * speed },
            a_ml: if running { 0.25 } else { 0.09 },
            step_phase: 0.0,
            odd_step: false,
            step_s: 60.0 / cadence,
            step_gain: 1.0,
            step_h2: 1.0,
            // Vertical: harmonics nearly in phase, so each heel strike is a sharp peak (crest
            // factor ~2.5) as in lumbar recordings; AP leads it by about a quarter step.
            v_harmonics: harmonic_table(&[1.0, 0.0, 0.6, 0.3, 0.35, 0.6, 0.2, 0.9]),
            ap_harmonics: harmonic_table(&[1.0, -1.17, 0.5, -0.57, 0.2, 0.0, 0.0, 0.0]),
            asym: 0.0,
            body_noise_g: if running { 0.05 } else { 0.03 },
            body_noise: [0.0; 3],
            started: false,
            steps: 0,
        };
        g.asym = (0.04 * g.rng.normal()).clamp(-0.1, 0.1);
        g.draw_step();
        plan.gait = Some(g);
    }

    // Events: wander, pose changes and bursts, processed in time order.
    let mut next_drift = plan.last_key_t() + rng.in_range(prof.drift_every_s);
    let mut next_pose = prof
        .pose_every_s
        .map_or(f64::INFINITY, |r| t0 + rng.in_range(r));
    let mut next_burst = prof
        .burst_every_s
        .map_or(f64::INFINITY, |m| t0 + rng.exponential(m));
    loop {
        let t = next_drift.min(next_pose).min(next_burst);
        if t >= events_end {
            break;
        }
        if t == next_pose {
            let (u, post) = draw_pose(placement, kind, &mut rng);
            let dur = rng.in_range(prof.pose_move_s).min(events_end - t);
            let amp = rng.in_range(prof.pose_burst_g);
            let start = t.max(plan.last_key_t());
            plan.move_to(start, dur, u, amp, &mut rng);
            if post != posture {
                plan.postures.push((start, post));
            }
            base = u;
            posture = post;
            next_pose =
                plan.last_key_t() + prof.pose_every_s.map_or(f64::INFINITY, |r| rng.in_range(r));
        } else if t == next_burst {
            let dur = rng.in_range(prof.burst_dur_s).min(events_end - t);
            let amp = rng.in_range(prof.burst_g);
            let freq = rng.in_range(prof.burst_hz);
            let dir = rng.unit_vector();
            plan.push_burst(t, dur, freq, scale(dir, amp));
            if prof.burst_tilt_deg > 0.0 {
                let angle = (prof.burst_tilt_deg * rng.normal()).to_radians();
                base = tilt_towards_random(base, angle, &mut rng);
                let from = plan.last_u();
                let start = t.max(plan.last_key_t());
                plan.push_key(start, from);
                plan.push_key(start + dur, base);
            }
            next_burst = t
                + dur
                + prof
                    .burst_every_s
                    .map_or(f64::INFINITY, |m| rng.exponential(m));
        } else {
            let angle = (prof.drift_deg * rng.normal()).to_radians();
            let u = if kind == Kind::Sleep {
                // Asleep, the wrist creeps: a slow random walk pulled weakly back to the pose.
                // Small steps keep the z-angle change per 5 s far below SKDH's rest threshold
                // (0.1 deg), while their sum keeps every axis's 30-min SD above SKDH's 0.001 g
                // "internal non-wear" test, as in real sleep.
                let from = plan.last_u();
                let pulled = normalize(add(scale(from, 0.97), scale(base, 0.03)));
                tilt_towards_random(pulled, angle, &mut rng)
            } else {
                tilt_towards_random(base, angle, &mut rng)
            };
            if t > plan.last_key_t() {
                plan.push_key(t, u);
            }
            next_drift = t.max(plan.last_key_t()) + rng.in_range(prof.drift_every_s);
        }
    }
    if let Some(rest) = removal {
        let start = events_end.max(plan.last_key_t());
        let dur = (t1 - 1.0 - start).max(0.5);
        let amp = rng.range(0.1, 0.4);
        plan.move_to(start, dur, rest, amp, &mut rng);
    }
    plan
}

/// Renders the whole schedule into `sink`, filling `truth` on the way.
pub(crate) fn render(
    p: &SynthParams,
    schedule: &Schedule,
    truth: &mut TruthBuilder,
    sink: &mut impl SampleSink,
) -> Result<(), SynthError> {
    let fs = p.fs;
    let dt = 1.0 / fs;
    let n_samples = p.samples() as i64;
    let mut noise = Rng::new(p.seed, Stream::Noise, 0);
    let first_worn = schedule
        .segments
        .first()
        .is_none_or(|s| s.kind != Kind::Nonwear);
    let mut carry = Carry {
        up: match p.placement {
            Placement::Wrist => [0.0, 0.0, 1.0],
            Placement::Lumbar => [1.0, 0.0, 0.0],
        },
        posture: Posture::Sitting,
        worn: first_worn,
        temp_c: if first_worn {
            p.temperature.skin_c
        } else {
            p.temperature.ambient_c
        },
    };
    let mut prev_u = carry.up;
    let rad_to_deg = 180.0 / PI;
    let cal = p.calibration_error;
    // One-pole low-pass at 4 Hz for the gait body noise.
    let noise_pole = math::exp(-TAU * 4.0 / fs);
    let with_gyro = p.with_gyro;

    for (si, seg) in schedule.segments.iter().enumerate() {
        let mut plan = build_plan(p, seg, schedule.segments.get(si + 1), &carry);
        let worn = seg.kind != Kind::Nonwear;
        let in_bed = matches!(seg.kind, Kind::Sleep | Kind::BedAwake);
        let state = match seg.kind {
            Kind::Sleep => ActivityState::Sleep,
            Kind::BedAwake | Kind::Sedentary => ActivityState::Sedentary,
            Kind::Light => ActivityState::Light,
            Kind::Walking => ActivityState::Walking,
            Kind::Running => ActivityState::Mvpa,
            Kind::Nonwear => ActivityState::Nonwear,
        };
        let cadence = plan.gait.as_ref().map_or(f64::NAN, |g| g.cadence_spm);
        truth.set_segment(
            seg.start_min,
            seg.end_min,
            state,
            worn,
            in_bed,
            cadence,
            &plan.postures,
        );

        let i0 = ((plan.t0 * fs).ceil() as i64).max(0);
        let i1 = ((plan.t1 * fs).ceil() as i64).min(n_samples);
        let alpha = 1.0 - math::exp(-dt / plan.temp_tau_s);
        let mut ki = 0usize;
        let mut bi = 0usize;
        let mut temp = carry.temp_c;
        let mut u = carry.up;
        let gait_first_step = plan.gait.as_ref().map(|g| g.t0);
        for i in i0..i1 {
            let t = i as f64 / fs;
            // Orientation from the keyframes.
            let keys = &plan.keys;
            while ki + 1 < keys.len() && keys[ki + 1].t <= t {
                ki += 1;
            }
            let k0 = keys[ki];
            u = if ki + 1 < keys.len() && t > k0.t {
                let k1 = keys[ki + 1];
                let w = (t - k0.t) / (k1.t - k0.t);
                normalize(add(scale(k0.u, 1.0 - w), scale(k1.u, w)))
            } else {
                k0.u
            };
            let mut dynamic = [0.0; 3];
            let mut extra_gyro = [0.0; 3];
            // Bursts.
            let bursts = &plan.bursts;
            while bi < bursts.len() && bursts[bi].t1 <= t {
                bi += 1;
            }
            if let Some(b) = bursts.get(bi)
                && t >= b.t0
            {
                // Trapezoid envelope (quarter-length ramps): cheaper than a Hann window and
                // keeps the burst's energy where the movement is.
                let tau = t - b.t0;
                let len = b.t1 - b.t0;
                let w = (4.0 * tau / len).min(4.0 * (len - tau) / len).min(1.0);
                let s = math::sin(TAU * b.freq_hz * tau);
                dynamic = scale(b.amp_g, w * s);
            }
            // Gait.
            if let Some(g) = plan.gait.as_mut()
                && t >= g.t0
                && t < g.t1
            {
                if g.started {
                    g.step_phase += TAU * dt / g.step_s;
                    while g.step_phase >= TAU {
                        g.step_phase -= TAU;
                        g.odd_step = !g.odd_step;
                        g.steps += 1;
                        truth.add_step(i);
                        g.draw_step();
                    }
                } else {
                    // The first rendered sample may lie inside the bout (recording start).
                    g.started = true;
                    let cycles = (t - g.t0) / g.step_s;
                    g.step_phase = TAU * cycles.fract();
                    g.odd_step = (cycles.floor() as i64) % 2 == 1;
                }
                let ramp = ((t - g.t0) / 1.5).min((g.t1 - t) / 1.5).clamp(0.0, 1.0) * g.step_gain;
                // Stride phase psi; the step phase is 2 psi, so one sin_cos gives every harmonic.
                let psi = 0.5 * (g.step_phase + if g.odd_step { TAU } else { 0.0 });
                let (sp, cp) = sin_cos(psi);
                let (c1, s1) = (cp * cp - sp * sp, 2.0 * sp * cp);
                let (c2, s2) = (2.0 * c1 * c1 - 1.0, 2.0 * s1 * c1);
                let (c3, s3) = (c2 * c1 - s2 * s1, s2 * c1 + c2 * s1);
                let stride_w = PI / g.step_s; // stride angular frequency, rad/s
                match p.placement {
                    Placement::Lumbar => {
                        // Vertical and AP at the step frequency with harmonics, ML at the
                        // stride frequency.
                        let h2 = g.step_h2;
                        let (c4, s4) = (2.0 * c2 * c2 - 1.0, 2.0 * s2 * c2);
                        let cs = [(c1, s1), (c2, s2), (c3, s3), (c4, s4)];
                        let harmonics = |h: &[(f64, f64); 4]| -> f64 {
                            let mut sum = 0.0;
                            for (n, (&(c, s), &(wc, ws))) in cs.iter().zip(h).enumerate() {
                                let gain = if n == 1 { h2 } else { 1.0 };
                                sum += gain * (c * wc - s * ws);
                            }
                            sum
                        };
                        let a_v = g.a_v * harmonics(&g.v_harmonics);
                        let a_ap = g.a_ap * harmonics(&g.ap_harmonics);
                        let sin3psi = 3.0 * sp - 4.0 * sp * sp * sp;
                        let a_ml = g.a_ml * (sp + 0.35 * sin3psi + 0.3 * s1);
                        dynamic = add(
                            dynamic,
                            scale(
                                add(add(scale(g.v, a_v), scale(g.ap, a_ap)), scale(g.ml, a_ml)),
                                ramp,
                            ),
                        );
                        // Trunk pitch at the step frequency and roll at the stride frequency.
                        let tilt_ap = 0.03 * ramp * s1;
                        let tilt_ml = 0.04 * ramp * sp;
                        u = normalize(add(add(u, scale(g.ap, tilt_ap)), scale(g.ml, tilt_ml)));
                        // Pelvic yaw (about the vertical, invisible to gravity): +/- 5 degrees.
                        let yaw_rate = 0.09 * ramp * stride_w * cp;
                        extra_gyro = scale(g.v, yaw_rate);
                    }
                    Placement::Wrist => {
                        // Pendulum arm swing at the stride frequency about the device z axis.
                        let theta = g.swing_rad * ramp * sp;
                        let theta_dot = g.swing_rad * ramp * stride_w * cp;
                        let theta_ddot = -g.swing_rad * ramp * stride_w * stride_w * sp;
                        let (st, ct) = sin_cos(theta);
                        let k = g.k;
                        let ub = u;
                        u = add(
                            add(scale(ub, ct), scale(cross(k, ub), st)),
                            scale(k, dot(k, ub) * (1.0 - ct)),
                        );
                        let kxu = cross(k, u);
                        let tangential = scale(kxu, -g.lever_m * theta_ddot / G);
                        let centripetal = scale(u, g.lever_m * theta_dot * theta_dot / G);
                        let impact = g.impact_g
                            * ramp
                            * (c1
                                + 0.5
                                    * (c2 * 0.764_842_187_284_488_5 - s2 * 0.644_217_687_237_691));
                        dynamic = add(add(add(dynamic, tangential), centripetal), scale(u, impact));
                    }
                }
            }
            if let Some(g) = plan.gait.as_mut()
                && g.body_noise_g > 0.0
                && t >= g.t0
                && t < g.t1
            {
                let a = noise_pole;
                let b = (1.0 - a * a).sqrt() * g.body_noise_g;
                for k in 0..3 {
                    g.body_noise[k] = a * g.body_noise[k] + b * g.rng.normal();
                }
                dynamic = add(dynamic, g.body_noise);
            }
            let a_true = add(u, dynamic);
            temp += (plan.temp_target_c - temp) * alpha;
            let measured_clean = cal.apply(a_true, temp);
            let sd = p.noise_sd_g;
            let measured = [
                measured_clean[0] + sd * noise.normal(),
                measured_clean[1] + sd * noise.normal(),
                measured_clean[2] + sd * noise.normal(),
            ];
            let gyro = if with_gyro {
                let w = add(scale(cross(prev_u, u), fs), extra_gyro);
                let gs = p.gyro_noise_sd_dps;
                Some([
                    w[0] * rad_to_deg + gs * noise.normal(),
                    w[1] * rad_to_deg + gs * noise.normal(),
                    w[2] * rad_to_deg + gs * noise.normal(),
                ])
            } else {
                None
            };
            prev_u = u;
            let enmo = (norm(a_true) - 1.0).max(0.0);
            truth.add_sample(i, enmo, temp);
            sink.push(p.start + t, measured, gyro, temp, plan.light)?;
        }
        if let (Some(g), Some(_)) = (plan.gait.as_ref(), gait_first_step) {
            let total = p.samples() as f64 / fs;
            let (a, b) = (g.t0.max(0.0), g.t1.min(total));
            if b > a {
                truth.add_gait_bout(GaitBout {
                    start: p.start + a,
                    end: p.start + b,
                    cadence_spm: g.cadence_spm,
                    steps: g.steps,
                    running: g.running,
                });
            }
        }
        carry = Carry {
            up: if i1 > i0 { u } else { plan.last_u() },
            posture: plan.postures.last().map_or(carry.posture, |x| x.1),
            worn,
            temp_c: temp,
        };
        plan.keys.clear();
    }
    Ok(())
}
