use biomarkers::synth::*;
use std::io::BufWriter;

struct Null(u64);
impl SampleSink for Null {
    fn push(&mut self, _: f64, a: [f64; 3], _: Option<[f64; 3]>, _: f64, _: f64) -> Result<(), SynthError> {
        self.0 += (a[0] > 0.0) as u64;
        Ok(())
    }
}

#[test]
#[ignore]
fn bench_and_files() {
    let out = std::env::var("SYNTH_OUT").unwrap_or("/tmp/synth".into());
    std::fs::create_dir_all(&out).unwrap();
    for (placement, fs, gyro) in [(Placement::Wrist, 50.0, false), (Placement::Lumbar, 50.0, false), (Placement::Wrist, 100.0, false), (Placement::Lumbar, 100.0, true)] {
        let p = SynthParams { fs, placement, with_gyro: gyro, ..SynthParams::default() };
        let t0 = std::time::Instant::now();
        let mut n = Null(0);
        let _ = generate(&p, &mut n).unwrap();
        let gen_s = t0.elapsed().as_secs_f64();
        let path = format!("{out}/{}_{}hz{}.cwa", placement.name(), fs, if gyro { "_gyro" } else { "" });
        let t0 = std::time::Instant::now();
        let f = BufWriter::with_capacity(1 << 20, std::fs::File::create(&path).unwrap());
        let truth = write_cwa(&p, f).unwrap();
        let cwa_s = t0.elapsed().as_secs_f64();
        let json = serde_json::to_string(&truth).unwrap();
        std::fs::write(format!("{path}.truth.json"), json).unwrap();
        println!("{placement:?} {fs} Hz gyro {gyro}: {} samples, generate-only {gen_s:.2} s, CWA {cwa_s:.2} s, {} bytes", truth.n_samples, std::fs::metadata(&path).unwrap().len());
    }
}
