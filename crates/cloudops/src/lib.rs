//! Connected clouds: scheduled posture scans of AWS accounts and Azure subscriptions, and S3
//! prefixes of CloudTrail objects polled into the detection pipeline.
//!
//! This crate does not link the cloud SDKs. It defines what it needs as small traits (ports),
//! [`CloudCollector`] (collect the inventory of one connected account) and [`LogObjects`]
//! (list and read log objects under a bucket prefix), and `trustplane serve` hands in the
//! real implementations from `trustplane-cloud` ([`CloudConnectors`]). A node without them
//! records every scan and poll as an error, never as a success.
//!
//! Both jobs decide what is due from the store's clock, so tests move a manual clock and call
//! [`Cloud::scan_due`] / [`Cloud::poll_due`] instead of waiting. The server only wraps them in
//! routes and job loops.
#![deny(missing_docs)]

mod assess;
mod checks;
mod connections;
mod ports;
mod requests;
mod scheduler;

pub use assess::assess_and_record;
pub use checks::{check_aws, check_guid, check_url};
pub use connections::Connections;
pub use ports::{
    BoxFuture, CloudCollector, CloudConnectors, LogLocation, LogObjects, ObjectFailure,
    ObjectReads, ScanTarget,
};
pub use requests::{ConnectAccount, CreateLogSource};
pub use scheduler::{Cloud, PollReport, ERROR, MAX_OBJECT_ATTEMPTS, PARTIAL, SUCCEEDED};
