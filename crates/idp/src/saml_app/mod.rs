//! The SAML identity provider's decisions about an application: its service-provider
//! settings (templates such as the AWS console), what an assertion says about a person, and
//! whether a person gets one at all ([`sso`]), and the single sign-on flow from a checked
//! request to a signed response ([`flow`]) with its signing keys ([`keys`]).
//! Encoding the XML and signing it stays in `trustplane_saml`; the HTTP binding in the server.

pub mod assertion;
pub mod flow;
pub mod keys;
pub mod my_apps;
pub mod settings;
pub mod sso;

pub use assertion::Subject;
pub use flow::{RequestSignature, Saml, SamlError, Step};
pub use settings::{Invalid, SamlSettings, Template};
pub use sso::{decide, Assertion, Decision, Refused};
