//! Cloud posture assessment for Trustplane: the half of `trustplane scan` that needs no cloud
//! access.
//!
//! Collectors (the AWS SDK, Azure Resource Manager and Microsoft Graph over REST, or a saved
//! directory) produce an [`Inventory`] of [`ResourceDoc`]s: one JSON document per resource with
//! provider, account, region, type, id, name and the `raw` properties as the cloud API returned
//! them. Checks are plain functions registered by name in a [`Registry`] (like Vector's
//! components); a [`Benchmark`] loaded from the CIS JSON files maps its requirements to those
//! names, so one check serves CIS AWS 3.0 and 7.0, or CIS Azure 3.0 and 6.0. [`assess`] runs
//! everything and returns [`Finding`]s (PASS / FAIL / MANUAL / ERROR, severity, evidence,
//! remediation); [`report`] scores them per section and writes OCSF JSON, CSV and HTML.
//!
//! A `collection_error` document in the inventory turns every outcome that needed the missing
//! data into an ERROR finding; it is never a silent PASS.
//!
//! ```no_run
//! use std::path::Path;
//! use trustplane_posture::{assess, AssessOptions, Benchmark, Inventory, Registry};
//!
//! let inventory = Inventory::load_dir(Path::new("scan-2026-11-28"))?;
//! let benchmarks = Benchmark::load_dir(Path::new("shared/data/cis"))?;
//! let options = AssessOptions { now: 1_795_000_000, ..Default::default() };
//! let result = assess(&inventory, &benchmarks, &Registry::builtin(), &options);
//! let scores = trustplane_posture::report::section_scores(&result);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

mod arm;
mod benchmark;
pub mod checks;
mod engine;
mod error;
mod finding;
mod inventory;
mod mapping;
mod registry;
pub mod report;

pub use arm::{arm_doc, arm_docs, arm_region};
pub use benchmark::{Benchmark, Requirement};
pub use engine::{account_type, assess, Assessment};
pub use error::{BenchmarkError, InventoryError};
pub use finding::{
    compact_evidence, ControlRef, Evidence, Finding, ResourceRef, Severity, Status, UnknownSeverity,
};
pub use inventory::{CollectionError, Inventory, Provider, ResourceDoc, COLLECTION_ERROR, GLOBAL};
pub use mapping::{resolve as resolve_requirement, uncovered_automated_controls, UncoveredControl};
pub use registry::{
    AssessOptions, CheckCtx, CheckDef, CheckFn, DuplicateCheck, Outcome, Registry, Subject,
};
