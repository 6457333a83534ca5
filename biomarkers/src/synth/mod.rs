//! Deterministic synthetic recordings with a per-minute truth schedule.
