//! studyflow core: the study config, the file catalog and its status lifecycle, requirements, the
//! batch job, the handlers behind every state-machine Task, and the ports (object store,
//! catalog, orchestrator, notifier) with their local adapters.
//!
//! The AWS adapters of the same ports live in `aws`, behind the cargo feature `aws`, so that the
//! local demo never compiles the AWS SDK.

#[cfg(feature = "aws")]
pub mod aws;
pub mod batch;
pub mod config;
pub mod demo;
pub mod events;
pub mod handlers;
pub mod local;
pub mod model;
pub mod ports;
pub mod query;
pub mod report;
pub mod requirements;
pub mod transfer;
pub mod usage;
