//! The SAML identity provider's decisions about an application: its service-provider
//! settings (templates such as the AWS console) and what an assertion says about a person.
//! Encoding the XML and signing it stays in `trustplane_saml`; the HTTP binding in the server.

pub mod assertion;
pub mod settings;

pub use assertion::Subject;
pub use settings::{Invalid, SamlSettings, Template};
