use biomarkers::synth::*;
use std::io::BufWriter;

struct Null(u64);
impl SampleSink for Null {
    fn push(&mut self, _: f64, a: [f64; 3], _: Option<[f64; 3]>, _: f64, _: f64) -> Result<(), SynthError> {
        self.0 += (a[0] > 0.0) as u64;
        Ok(())
    }
}

fn cpu_s() -> f64 {
    let st = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
    let rest = &st[st.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    (f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap()) / 100.0
}

#[test]
#[ignore]
fn bench_and_files() {
    let out = std::env::var("SYNTH_OUT").unwrap_or("/tmp/synth".into());
    std::fs::create_dir_all(&out).unwrap();
    for (placement, fs, gyro) in [(Placement::Wrist, 50.0, false), (Placement::Lumbar, 50.0, false), (Placement::Wrist, 100.0, false)] {
        let p = SynthParams { fs, placement, with_gyro: gyro, ..SynthParams::default() };
        let t0 = std::time::Instant::now();
        let c0 = cpu_s();
        let mut n = Null(0);
        let _ = generate(&p, &mut n).unwrap();
        let gen_s = t0.elapsed().as_secs_f64();
        let gen_cpu = cpu_s() - c0;
        let path = format!("{out}/{}_{}hz{}.cwa", placement.name(), fs, if gyro { "_gyro" } else { "" });
        let t0 = std::time::Instant::now();
        let c0 = cpu_s();
        let f = BufWriter::with_capacity(1 << 20, std::fs::File::create(&path).unwrap());
        let truth = write_cwa(&p, f).unwrap();
        let cwa_s = t0.elapsed().as_secs_f64();
        let cwa_cpu = cpu_s() - c0;
        let json = serde_json::to_string(&truth).unwrap();
        std::fs::write(format!("{path}.truth.json"), json).unwrap();
        println!("{placement:?} {fs} Hz gyro {gyro}: {} samples, generate-only {gen_s:.2} s wall {gen_cpu:.2} s cpu, CWA {cwa_s:.2} s wall {cwa_cpu:.2} s cpu, {} bytes", truth.n_samples, std::fs::metadata(&path).unwrap().len());
    }
}

#[test]
fn explore() {
    for placement in [Placement::Wrist, Placement::Lumbar] {
        let p = SynthParams { days: 2.0, fs: 25.0, placement, ..SynthParams::default() };
        let (_rec, truth) = generate_recording(&p).unwrap();
        for st in ActivityState::ALL {
            for bed in [false, true] {
                let e: Vec<f64> = (0..truth.len()).filter(|&i| truth.state[i] == st && truth.in_bed[i] == bed).map(|i| truth.enmo_g[i]).collect();
                if e.is_empty() { continue; }
                let mut s = e.clone(); s.sort_by(|a,b| a.partial_cmp(b).unwrap());
                println!("  {:?} {:10} bed {bed} n={:5} mean {:.4} p10 {:.4} p50 {:.4} p90 {:.4}", placement, st.name(), e.len(), e.iter().sum::<f64>()/e.len() as f64, s[s.len()/10], s[s.len()/2], s[s.len()*9/10]);
            }
        }
    }
}

#[test]
#[ignore]
fn gait_file() {
    let mut p = SynthParams { days: 1.0, fs: 50.0, placement: Placement::Lumbar, ..SynthParams::default() };
    p.schedule.mix.walking.weight = 0.6;
    p.schedule.mix.mvpa.weight = 0.0;
    p.schedule.walking_cadence_spm = (90.0, 130.0);
    let path = std::env::var("SYNTH_FILE").unwrap();
    let f = BufWriter::new(std::fs::File::create(&path).unwrap());
    let truth = write_cwa(&p, f).unwrap();
    std::fs::write(format!("{path}.truth.json"), serde_json::to_string(&truth).unwrap()).unwrap();
}
