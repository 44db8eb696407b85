//! The SAML identity provider's decisions about an application: its service-provider
//! settings (templates such as the AWS console), what an assertion says about a person, and
//! whether a person gets one at all ([`sso`]).
//! Encoding the XML and signing it stays in `trustplane_saml`; the HTTP binding in the server.

pub mod assertion;
pub mod settings;
pub mod sso;

pub use assertion::Subject;
pub use settings::{Invalid, SamlSettings, Template};
pub use sso::{decide, Assertion, Decision, Refused};
