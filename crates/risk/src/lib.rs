//! Identity risk.
//!
//! * [`detect`]: the detectors, pure functions of one sign-in and its bounded history
//!   (atypical travel, unfamiliar sign-in properties, password spray, brute force, an address
//!   named by an open alert). A sign-in's risk is its highest detection.
//! * [`RiskService`]: reads that history from the store, stores the detections, and
//!   aggregates a person's user risk from their open detections, the detection pipeline's
//!   alerts resolved to them and administrators' decisions (confirmed compromised, dismissed).
//!
//! A detection never blocks anything by itself: the sign-in flow hands the levels to
//! conditional access (`signInRiskLevels`, `userRiskLevels`), and only a policy decides.

pub mod detect;
pub mod geo;
mod level;
pub mod network;
mod service;

pub use detect::{
    assess, Assessment, Attempt, Detection, DetectionKind, FlaggedAddress, History, Settings,
    SignInFacts,
};
pub use geo::{distance_km, Locator, Place};
pub use level::RiskLevel;
pub use service::{RiskError, RiskService, RiskyUser, UserRisk, MAX_USER_IDS};
