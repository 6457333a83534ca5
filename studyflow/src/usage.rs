//! Usage accounting: what each batch run consumed (CPU, peak memory, bytes in and out, wall
//! time), recorded in its `summary.json`, and the sum per study with a Fargate cost estimate.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What one batch run consumed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunUsage {
    /// Wall-clock seconds of the whole run (read, compute, write).
    pub wall_seconds: f64,
    /// User + system CPU seconds of the process (`None` where the OS does not tell).
    pub cpu_seconds: Option<f64>,
    /// Peak resident memory of the process, bytes (`None` where the OS does not tell).
    pub peak_rss_bytes: Option<u64>,
    /// Bytes of input read (the recording).
    pub bytes_read: u64,
    /// Bytes of results written (tables, report, summary excluded).
    pub bytes_written: u64,
}

/// CPU seconds (user + system) and peak resident bytes of this process, from `/proc` on Linux;
/// `(None, None)` elsewhere.
pub fn process_cpu_and_peak() -> (Option<f64>, Option<u64>) {
    // /proc/self/stat fields 14 and 15 are utime and stime in USER_HZ ticks, which the kernel's
    // user-space ABI fixes at 100 per second.
    let cpu = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let after = &s[s.rfind(')')? + 2..];
            let f: Vec<&str> = after.split_whitespace().collect();
            let utime: f64 = f.get(11)?.parse().ok()?;
            let stime: f64 = f.get(12)?.parse().ok()?;
            Some((utime + stime) / 100.0)
        });
    let peak = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
            let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kb * 1024)
        });
    (cpu, peak)
}

/// The size of the Batch job definition runs are billed at.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FargateSize {
    /// vCPUs of the job definition.
    pub vcpu: f64,
    /// Memory of the job definition, GiB.
    pub memory_gib: f64,
}

/// Fargate on-demand prices (Linux, x86_64, us-east-1, as published in 2026): USD per vCPU-hour
/// and per GiB-hour. An estimate: other regions, arm64 and Spot differ.
pub const FARGATE_USD_PER_VCPU_HOUR: f64 = 0.04048;
/// See [`FARGATE_USD_PER_VCPU_HOUR`].
pub const FARGATE_USD_PER_GIB_HOUR: f64 = 0.004445;

/// Estimated Fargate cost in USD of a run of `wall_seconds` (billed per second, one minute at
/// least).
pub fn fargate_cost_usd(wall_seconds: f64, size: FargateSize) -> f64 {
    let hours = wall_seconds.max(60.0) / 3600.0;
    hours * (size.vcpu * FARGATE_USD_PER_VCPU_HOUR + size.memory_gib * FARGATE_USD_PER_GIB_HOUR)
}

/// The usage of a study's runs summed.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StudyUsage {
    /// Study id.
    pub study: String,
    /// Runs with a recorded usage.
    pub runs: usize,
    /// Files whose results have no usage record (written by an older version).
    pub runs_without_usage: usize,
    /// Total wall seconds.
    pub wall_seconds: f64,
    /// Total CPU seconds.
    pub cpu_seconds: f64,
    /// Largest peak resident memory of any run, bytes.
    pub max_peak_rss_bytes: u64,
    /// Total bytes read.
    pub bytes_read: u64,
    /// Total bytes written.
    pub bytes_written: u64,
    /// Estimated Fargate cost of the runs, USD.
    pub estimated_cost_usd: f64,
    /// The job size the estimate assumes.
    pub size: Option<FargateSize>,
}

impl StudyUsage {
    /// Adds one run's `summary.json` value (its `usage` object).
    pub fn add_summary(&mut self, summary: &Value, size: FargateSize) {
        let Some(u) = summary
            .get("usage")
            .and_then(|u| serde_json::from_value::<RunUsage>(u.clone()).ok())
        else {
            self.runs_without_usage += 1;
            return;
        };
        self.runs += 1;
        self.wall_seconds += u.wall_seconds;
        self.cpu_seconds += u.cpu_seconds.unwrap_or(0.0);
        self.max_peak_rss_bytes = self.max_peak_rss_bytes.max(u.peak_rss_bytes.unwrap_or(0));
        self.bytes_read += u.bytes_read;
        self.bytes_written += u.bytes_written;
        self.estimated_cost_usd += fargate_cost_usd(u.wall_seconds, size);
        self.size = Some(size);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_and_sums() {
        let size = FargateSize {
            vcpu: 2.0,
            memory_gib: 8.0,
        };
        let hour = fargate_cost_usd(3600.0, size);
        assert!((hour - (2.0 * 0.04048 + 8.0 * 0.004445)).abs() < 1e-12);
        assert_eq!(fargate_cost_usd(1.0, size), fargate_cost_usd(60.0, size));
        let mut s = StudyUsage::default();
        let run = serde_json::json!({"usage": {"wall_seconds": 120.0, "cpu_seconds": 90.0,
            "peak_rss_bytes": 1000, "bytes_read": 10, "bytes_written": 5}});
        s.add_summary(&run, size);
        s.add_summary(&run, size);
        s.add_summary(&serde_json::json!({}), size);
        assert_eq!((s.runs, s.runs_without_usage), (2, 1));
        assert_eq!(
            (s.cpu_seconds, s.bytes_read, s.bytes_written),
            (180.0, 20, 10)
        );
        assert_eq!(s.max_peak_rss_bytes, 1000);
        assert!((s.estimated_cost_usd - 2.0 * fargate_cost_usd(120.0, size)).abs() < 1e-12);
    }

    #[test]
    fn this_process_has_cpu_and_memory_on_linux() {
        let (cpu, peak) = process_cpu_and_peak();
        if cfg!(target_os = "linux") {
            assert!(cpu.is_some_and(|c| c >= 0.0));
            assert!(peak.is_some_and(|p| p > 0));
        }
    }
}
