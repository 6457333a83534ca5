//! Writing a synthetic recording straight into an Axivity CWA file, streaming.

use std::io::Write;

use super::{SampleSink, SynthError, SynthParams, Truth, generate};
use crate::io::cwa::{CwaWriteOptions, CwaWriter};

struct CwaSink<W: Write> {
    writer: CwaWriter<W>,
}

impl<W: Write> SampleSink for CwaSink<W> {
    fn push(
        &mut self,
        _t: f64,
        accel_g: [f64; 3],
        gyro_dps: Option<[f64; 3]>,
        temperature_c: f64,
        light: f64,
    ) -> Result<(), SynthError> {
        // The writer derives every timestamp from the start and the rate.
        self.writer.push(accel_g, gyro_dps, temperature_c, light)?;
        Ok(())
    }
}

/// Generates the recording into a CWA file written to `out` with the writer's defaults
/// (`CwaWriteOptions::default()`: its range, packing, device and session ids, annotation);
/// start, rate and gyro come from `params`. Returns the truth.
///
/// `params.fs` must be a CWA rate (6.25 * 2^k Hz, 12.5-3200), or the writer refuses.
pub fn write_cwa<W: Write>(params: &SynthParams, out: W) -> Result<Truth, SynthError> {
    write_cwa_with(params, CwaWriteOptions::default(), out)
}

/// As [`write_cwa`], with explicit writer options; `start`, `sample_rate` and `with_gyro` are
/// overwritten from `params`. Returns the truth.
pub fn write_cwa_with<W: Write>(
    params: &SynthParams,
    mut opts: CwaWriteOptions,
    out: W,
) -> Result<Truth, SynthError> {
    params.validate()?;
    opts.start = params.start;
    opts.sample_rate = params.fs;
    opts.with_gyro = params.with_gyro;
    let mut sink = CwaSink {
        writer: CwaWriter::new(out, opts)?,
    };
    let truth = generate(params, &mut sink)?;
    sink.writer.finish()?;
    Ok(truth)
}
