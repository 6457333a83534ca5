//! Benchmark driver for `scripts/bench`: one measurement per process, one JSON line on stdout.
//!
//! ```text
//! bench key <days> <fs> [wrist|lumbar]            file name for a synthetic CWA with these parameters
//! bench gen <days> <fs> <out.cwa> [wrist|lumbar]  writes that file (synth::write_cwa, default
//!                                                 parameters, wrist unless told)
//! bench <stage> <file.cwa> [chunk]                measures one stage on one file
//! ```
//!
//! Stages: `read` (`io::cwa::read_file`), `read_chunks` (`CwaChunks::next_into` refilling one
//! recording, `chunk` samples per chunk, default 2^20), `read_chunks_iter` (the same chunks from
//! the `CwaChunks` iterator, a new recording each), `calibrate`, `wear`, `sleep`, `activity` (one-step `Pipeline`s) and
//! `pipeline` (calibrate -> wear -> sleep -> activity), `gait_classifier` (`classify_gait`,
//! default parameters, over the whole recording) and `gait` (`gait_step`, default parameters,
//! height 1.75 m: classifier, then gait on its bouts). The gait stages report their counts
//! (`bouts` classifier bouts; `gait_bouts` bouts with steps and `steps` for `gait`) so the
//! two implementations can be compared for sanity.
//!
//! With `BENCH_DUMP=<dir>` the algorithm stages also write every output table to
//! `<dir>/<stage>_<table>.csv` after the measurement (for checking that outputs stay the same).
//!
//! Algorithm stages first decode the file (reported as `read_wall_s`, outside the measurement),
//! then measure only `Pipeline::run`, so both sides time the same work as SKDH's `predict`.
//! Peak RSS is the whole process's high-water mark (it includes the decoded arrays); `rss_input`
//! is the resident size after decoding, so `peak_rss - rss_input` is what the step added.
//! Files are read with `CwaReadOptions::skdh()` (whole-second block times, SKDH temperature) so
//! that both implementations see the same samples.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use biomarkers::gait::BodySize;
use biomarkers::gait::classifier::{ClassifierParams, classify_gait};
use biomarkers::gait::step::{GaitStepParams, gait_step};
use biomarkers::io::Recording;
use biomarkers::io::cwa::{self, CwaChunks, CwaReadOptions};
use biomarkers::pipeline::{Pipeline, PipelineSpec, StepSpec, SubjectContext};
use biomarkers::preprocessing::Axes;
use biomarkers::synth::{self, Placement, SynthParams};
use serde_json::{Value, json};

/// `struct rusage` of Linux (x86_64 and aarch64 share this layout: two timevals, 14 longs).
#[repr(C)]
#[derive(Default)]
struct RUsage {
    utime: [i64; 2],
    stime: [i64; 2],
    /// `ru_maxrss` (KiB) first, then counters this driver does not read.
    rest: [i64; 14],
}

unsafe extern "C" {
    fn getrusage(who: i32, usage: *mut RUsage) -> i32;
}

/// User + system CPU seconds and peak RSS (bytes) of this process so far.
fn rusage_self() -> (f64, u64) {
    let mut u = RUsage::default();
    // SAFETY: `u` is a valid, writable `struct rusage` of the platform layout and 0 is
    // RUSAGE_SELF; getrusage writes only inside it.
    let rc = unsafe { getrusage(0, &mut u) };
    if rc != 0 {
        return (f64::NAN, 0);
    }
    let tv = |t: [i64; 2]| t[0] as f64 + t[1] as f64 * 1e-6;
    (tv(u.utime) + tv(u.stime), (u.rest[0].max(0) as u64) * 1024)
}

/// A field of /proc/self/status in bytes (`VmRSS`, `VmHWM`), 0 when unavailable.
fn proc_status_bytes(field: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Bytes held by the sample arrays of a recording (all f64).
fn output_bytes(rec: &Recording) -> u64 {
    let n = rec.len() as u64;
    let mut cols = 4; // time + 3 accel axes
    if rec.gyro.is_some() {
        cols += 3;
    }
    cols += u64::from(rec.temperature.is_some()) + u64::from(rec.light.is_some());
    n * cols * 8
}

/// Subject height of the `gait` stage, m (SKDH's side passes the same).
const HEIGHT_M: f64 = 1.75;

/// The synthetic recording of the benchmark: default parameters at `placement`, `days` long
/// at `fs`.
fn synth_params(days: f64, fs: f64, placement: Placement) -> SynthParams {
    SynthParams {
        days,
        fs,
        placement,
        ..SynthParams::default()
    }
}

fn parse_placement(s: Option<&String>) -> Result<Placement, String> {
    match s.map(String::as_str) {
        None | Some("wrist") => Ok(Placement::Wrist),
        Some("lumbar") => Ok(Placement::Lumbar),
        Some(o) => Err(format!("placement '{o}': wrist or lumbar")),
    }
}

/// FNV-1a 64 of the parameters' JSON: a changed default gives a new file name.
fn params_key(p: &SynthParams) -> String {
    let s = serde_json::to_string(p).unwrap_or_default();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let place = match p.placement {
        Placement::Wrist => "wrist",
        Placement::Lumbar => "lumbar",
    };
    format!(
        "synth_{place}_{}d_{}hz_seed{}_{:016x}.cwa",
        p.days, p.fs, p.seed, h
    )
}

/// Timer around one measured region.
struct Meter {
    wall: Instant,
    cpu0: f64,
}

impl Meter {
    fn start() -> Self {
        Self {
            cpu0: rusage_self().0,
            wall: Instant::now(),
        }
    }

    /// (wall s, CPU s) since `start`.
    fn stop(&self) -> (f64, f64) {
        let wall = self.wall.elapsed().as_secs_f64();
        (wall, rusage_self().0 - self.cpu0)
    }
}

fn spec_for(stage: &str) -> Option<PipelineSpec> {
    let steps: &[&str] = match stage {
        "calibrate" => &["calibrate"],
        "wear" => &["wear"],
        "sleep" => &["sleep"],
        "activity" => &["activity"],
        "pipeline" => &["calibrate", "wear", "sleep", "activity"],
        _ => return None,
    };
    Some(PipelineSpec {
        steps: steps
            .iter()
            .map(|s| StepSpec {
                step: (*s).to_string(),
                params: serde_json::Map::new(),
            })
            .collect(),
    })
}

/// Decodes the input of an algorithm stage, outside the measurement, noting its time, size and
/// the resident size after it in `out`.
fn read_input(file: &Path, opts: &CwaReadOptions, out: &mut Value) -> Result<Recording, String> {
    let t0 = Instant::now();
    let rec = cwa::read_file(file, opts).map_err(|e| e.to_string())?;
    out["read_wall_s"] = json!(t0.elapsed().as_secs_f64());
    out["samples"] = json!(rec.len());
    out["output_bytes"] = json!(output_bytes(&rec));
    out["rss_input"] = json!(proc_status_bytes("VmRSS"));
    Ok(rec)
}

fn measure(stage: &str, file: &Path, chunk: usize) -> Result<Value, String> {
    let bytes = std::fs::metadata(file).map_err(|e| e.to_string())?.len();
    let opts = CwaReadOptions::skdh();
    let mut out = json!({
        "impl": "rust",
        "stage": stage,
        "file": file.file_name().map(|f| f.to_string_lossy().into_owned()),
        "bytes": bytes,
        "rss_base": proc_status_bytes("VmRSS"),
    });
    match stage {
        "read" => {
            let m = Meter::start();
            let rec = cwa::read_file(file, &opts).map_err(|e| e.to_string())?;
            let (wall, cpu) = m.stop();
            out["wall_s"] = json!(wall);
            out["cpu_s"] = json!(cpu);
            out["samples"] = json!(rec.len());
            out["output_bytes"] = json!(output_bytes(&rec));
            out["issues"] = json!(rec.issues.len());
            std::hint::black_box(&rec);
        }
        "read_chunks" | "read_chunks_iter" => {
            let m = Meter::start();
            let mut chunks = CwaChunks::open(file, &opts, chunk).map_err(|e| e.to_string())?;
            let (mut n, mut largest) = (0usize, 0u64);
            // Like `read`, measures the decode alone: `black_box` makes the chunk's arrays
            // observable, so the decode cannot be skipped, without timing a consumer's pass
            // over them (a sum over `accel.x` used to be here: ~10 % of this stage).
            let mut take = |c: &Recording| {
                n += c.len();
                largest = largest.max(output_bytes(c));
                std::hint::black_box(c);
            };
            if stage == "read_chunks" {
                // One caller-owned recording refilled chunk after chunk (bounded memory).
                let mut buf = Recording::default();
                while chunks.next_into(&mut buf).map_err(|e| e.to_string())? {
                    take(&buf);
                }
            } else {
                for c in chunks {
                    take(&c.map_err(|e| e.to_string())?);
                }
            }
            let (wall, cpu) = m.stop();
            out["wall_s"] = json!(wall);
            out["cpu_s"] = json!(cpu);
            out["samples"] = json!(n);
            out["chunk_samples"] = json!(chunk);
            out["output_bytes"] = json!(largest);
        }
        "gait_classifier" | "gait" => {
            let rec = read_input(file, &opts, &mut out)?;
            let ax = Axes::from(&rec.accel);
            let m = Meter::start();
            if stage == "gait_classifier" {
                let r = classify_gait(&rec.time, ax, rec.fs, &ClassifierParams::default());
                let (wall, cpu) = m.stop();
                out["wall_s"] = json!(wall);
                out["cpu_s"] = json!(cpu);
                match r {
                    Ok(c) => {
                        out["bouts"] = json!(c.bouts.len());
                        out["windows"] = json!(c.probability.len());
                    }
                    Err(e) => {
                        out["status"] = json!("error");
                        out["error"] = json!(e.to_string());
                    }
                }
            } else {
                // One day window over the whole recording: SKDH's `GaitLumbar` without day
                // indices does not split either.
                let days = match (rec.time.first(), rec.time.last()) {
                    (Some(&a), Some(&b)) => vec![(a, b + 1.0 / rec.fs)],
                    _ => Vec::new(),
                };
                let r = gait_step(
                    &rec.time,
                    ax,
                    rec.gyro.as_ref().map(Axes::from),
                    rec.fs,
                    BodySize::Height(HEIGHT_M),
                    &days,
                    &GaitStepParams::default(),
                );
                let (wall, cpu) = m.stop();
                out["wall_s"] = json!(wall);
                out["cpu_s"] = json!(cpu);
                match r {
                    Ok(g) => {
                        out["bouts"] = json!(g.bouts.num_rows());
                        out["gait_bouts"] = json!(g.bout_summary.num_rows());
                        out["steps"] = json!(g.steps.num_rows());
                    }
                    Err(e) => {
                        out["status"] = json!("error");
                        out["error"] = json!(e.to_string());
                    }
                }
            }
            std::hint::black_box(&rec);
        }
        _ => {
            let spec = spec_for(stage).ok_or_else(|| format!("unknown stage '{stage}'"))?;
            let pipeline = Pipeline::from_spec(&spec).map_err(|e| e.to_string())?;
            // As the batch job runs it: light never read, calibration in place.
            let stage_opts = CwaReadOptions {
                skip_light: true,
                ..opts
            };
            let rec = read_input(file, &stage_opts, &mut out)?;
            let m = Meter::start();
            let r = pipeline.run_owned(rec, &SubjectContext::default());
            let (wall, cpu) = m.stop();
            out["wall_s"] = json!(wall);
            out["cpu_s"] = json!(cpu);
            match r {
                Ok(o) => {
                    if let Ok(dir) = std::env::var("BENCH_DUMP") {
                        // outside the measurement: every table as CSV (shortest round-trip
                        // floats), to check that a change keeps the outputs bit-identical
                        for t in &o.tables {
                            let path = Path::new(&dir).join(format!("{stage}_{}.csv", t.name));
                            let f = std::fs::File::create(&path).map_err(|e| e.to_string())?;
                            t.write_csv(std::io::BufWriter::new(f))
                                .map_err(|e| e.to_string())?;
                        }
                    }
                    out["steps"] = json!(
                        o.reports
                            .iter()
                            .map(
                                |r| json!({"step": r.step, "s": r.seconds, "messages": r.messages})
                            )
                            .collect::<Vec<_>>()
                    );
                }
                Err(e) => {
                    out["status"] = json!("error");
                    out["error"] = json!(e.to_string());
                }
            }
        }
    }
    let (_, maxrss) = rusage_self();
    out["peak_rss"] = json!(maxrss.max(proc_status_bytes("VmHWM")));
    if out.get("status").is_none() {
        out["status"] = json!("ok");
    }
    Ok(out)
}

fn parse_f64(s: Option<&String>, what: &str) -> Result<f64, String> {
    s.ok_or_else(|| format!("missing {what}"))?
        .parse()
        .map_err(|e| format!("{what}: {e}"))
}

fn run(args: &[String]) -> Result<Value, String> {
    let cmd = args.first().map(String::as_str).unwrap_or("");
    match cmd {
        "key" | "gen" => {
            let placement = parse_placement(args.get(if cmd == "key" { 3 } else { 4 }))?;
            let p = synth_params(
                parse_f64(args.get(1), "days")?,
                parse_f64(args.get(2), "fs")?,
                placement,
            );
            let name = params_key(&p);
            if cmd == "key" {
                return Ok(json!({"file": name}));
            }
            let out = args.get(3).ok_or("missing output path")?;
            // Write under a temporary name so an interrupted run never leaves a truncated input.
            let tmp = format!("{out}.partial");
            let f = std::fs::File::create(&tmp).map_err(|e| e.to_string())?;
            let t0 = Instant::now();
            let mut w = std::io::BufWriter::new(f);
            synth::write_cwa(&p, &mut w).map_err(|e| e.to_string())?;
            // An explicit flush: dropping the buffer would swallow a write error.
            w.flush().map_err(|e| e.to_string())?;
            std::fs::rename(&tmp, out).map_err(|e| e.to_string())?;
            Ok(json!({
                "file": name,
                "samples": p.samples(),
                "params": p,
                "gen_wall_s": t0.elapsed().as_secs_f64(),
            }))
        }
        "" => Err("usage: bench <stage|key|gen> ...".into()),
        stage => {
            let file = args.get(1).ok_or("missing input file")?;
            let chunk = match args.get(2) {
                Some(c) => c.parse().map_err(|e| format!("chunk: {e}"))?,
                None => 1 << 20,
            };
            measure(stage, Path::new(file), chunk)
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(v) => {
            println!("{v}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("{}", json!({"status": "error", "error": e, "args": args}));
            ExitCode::FAILURE
        }
    }
}
