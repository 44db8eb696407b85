//! Named locations (`ipNamedLocation`, `countryNamedLocation`, and others kept as-is) and the
//! country lookup behind a small trait.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::de::{self, Extra};
use crate::error::ValidationError;

/// A named location in Graph's JSON shape. The kind comes from `@odata.type`, or, when that
/// is missing, from the fields present.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum NamedLocation {
    /// `#microsoft.graph.ipNamedLocation`.
    Ip(IpNamedLocation),
    /// `#microsoft.graph.countryNamedLocation`.
    Country(CountryNamedLocation),
    /// Any other kind (e.g. `compliantNetworkNamedLocation`), kept for round trips; it
    /// matches a sign-in only through the context's `compliantNetwork` flag when it is a
    /// compliant network location.
    Other(OtherNamedLocation),
}

/// `ipNamedLocation`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IpNamedLocation {
    /// The object id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The name shown to administrators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Whether sign-ins from here count as `AllTrusted`.
    #[serde(default)]
    pub is_trusted: bool,
    /// IPv4 and IPv6 CIDR ranges.
    #[serde(default, deserialize_with = "de::seq")]
    pub ip_ranges: Vec<IpRange>,
    /// Properties not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `iPv4CidrRange` / `iPv6CidrRange`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IpRange {
    /// The range, e.g. `192.0.2.0/24` or `2001:db8::/32`; a bare address means one host.
    pub cidr_address: String,
    /// Properties not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `countryNamedLocation`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CountryNamedLocation {
    /// The object id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The name shown to administrators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// ISO 3166-1 alpha-2 codes.
    #[serde(default, deserialize_with = "de::seq")]
    pub countries_and_regions: Vec<String>,
    /// Whether addresses that map to no country match too.
    #[serde(default)]
    pub include_unknown_countries_and_regions: bool,
    /// `clientIpAddress` or `authenticatorAppGps` (kept as text; the country is given by the
    /// caller either way).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_lookup_method: Option<String>,
    /// Properties not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A named location of a kind this crate does not evaluate by address.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OtherNamedLocation {
    /// The object id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The name shown to administrators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Whether the location is trusted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_trusted: Option<bool>,
    /// Properties not modelled here (including `@odata.type`).
    #[serde(flatten)]
    pub extra: Extra,
}

impl<'de> Deserialize<'de> for NamedLocation {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let value = serde_json::Value::deserialize(d)?;
        let odata = value
            .get("@odata.type")
            .and_then(|v| v.as_str())
            .map(|s| s.trim_start_matches('#').to_ascii_lowercase());
        // `@odata.type` decides (with or without the `#microsoft.graph.` prefix); without a
        // recognisable one, the fields present do.
        let kind = match odata.as_deref() {
            Some(t) if t.ends_with("ipnamedlocation") => 0,
            Some(t) if t.ends_with("countrynamedlocation") => 1,
            Some(t) if t.ends_with("namedlocation") => 2,
            _ if value.get("ipRanges").is_some() => 0,
            _ if value.get("countriesAndRegions").is_some() => 1,
            _ => 2,
        };
        let out = match kind {
            0 => serde_json::from_value(value).map(NamedLocation::Ip),
            1 => serde_json::from_value(value).map(NamedLocation::Country),
            _ => serde_json::from_value(value).map(NamedLocation::Other),
        };
        out.map_err(D::Error::custom)
    }
}

impl NamedLocation {
    /// Parses one named location from Graph JSON.
    pub fn from_json(text: &str) -> Result<Self, crate::ParseError> {
        crate::error::from_json("named location", text)
    }

    /// The object id, if any.
    pub fn id(&self) -> Option<&str> {
        match self {
            NamedLocation::Ip(l) => l.id.as_deref(),
            NamedLocation::Country(l) => l.id.as_deref(),
            NamedLocation::Other(l) => l.id.as_deref(),
        }
    }

    /// The display name, if any.
    pub fn display_name(&self) -> Option<&str> {
        match self {
            NamedLocation::Ip(l) => l.display_name.as_deref(),
            NamedLocation::Country(l) => l.display_name.as_deref(),
            NamedLocation::Other(l) => l.display_name.as_deref(),
        }
    }

    fn label(&self) -> String {
        self.id()
            .or(self.display_name())
            .unwrap_or("<unnamed location>")
            .to_owned()
    }

    /// Checks the location: it needs an id, CIDR ranges must parse, country codes must be two
    /// letters.
    pub fn validate(&self) -> Vec<ValidationError> {
        let label = self.label();
        let mut errors = Vec::new();
        if self.id().is_none_or(|s| s.trim().is_empty()) {
            errors.push(ValidationError::new(
                &label,
                "id",
                "a named location needs an id",
            ));
        }
        match self {
            NamedLocation::Ip(l) => {
                for (i, r) in l.ip_ranges.iter().enumerate() {
                    if let Err(e) = parse_cidr(&r.cidr_address) {
                        errors.push(ValidationError::new(
                            &label,
                            &format!("ipRanges[{i}].cidrAddress"),
                            e,
                        ));
                    }
                }
            }
            NamedLocation::Country(l) => {
                for (i, c) in l.countries_and_regions.iter().enumerate() {
                    if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_alphabetic()) {
                        errors.push(ValidationError::new(
                            &label,
                            &format!("countriesAndRegions[{i}]"),
                            format!("`{c}` is not an ISO 3166-1 alpha-2 code"),
                        ));
                    }
                }
            }
            NamedLocation::Other(_) => {}
        }
        errors
    }

    /// True for Graph's compliant network location (Global Secure Access).
    pub(crate) fn is_compliant_network(&self) -> bool {
        match self {
            NamedLocation::Other(l) => l
                .extra
                .get("@odata.type")
                .and_then(|v| v.as_str())
                .is_some_and(|t| t.to_ascii_lowercase().contains("compliantnetwork")),
            _ => false,
        }
    }
}

/// Parses `a.b.c.d/n`, `x::/n` or a bare address (one host).
pub(crate) fn parse_cidr(text: &str) -> Result<ipnet::IpNet, String> {
    let text = text.trim();
    if let Ok(net) = text.parse::<ipnet::IpNet>() {
        return Ok(net.trunc());
    }
    text.parse::<IpAddr>()
        .map(ipnet::IpNet::from)
        .map_err(|_| format!("`{text}` is not a CIDR range"))
}

/// Maps an IP address to an ISO 3166-1 alpha-2 country code.
///
/// The engine itself never calls this: callers resolve the country before evaluation (the
/// what-if loader and the sign-in flow do), so evaluation stays pure and fast.
pub trait CountryLookup: Send + Sync {
    /// The country of `ip`, uppercase, or `None` when the address maps to no country.
    fn country(&self, ip: IpAddr) -> Option<String>;
}

/// A fixed table of ranges to countries, for tests and small deployments.
#[derive(Debug, Clone, Default)]
pub struct StaticCountryLookup {
    ranges: Vec<(ipnet::IpNet, String)>,
}

impl StaticCountryLookup {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a range; the most specific (longest prefix) range wins.
    pub fn with_range(mut self, cidr: &str, country: &str) -> Result<Self, String> {
        self.ranges
            .push((parse_cidr(cidr)?, country.to_ascii_uppercase()));
        self.ranges
            .sort_by_key(|(net, _)| std::cmp::Reverse(net.prefix_len()));
        Ok(self)
    }
}

impl CountryLookup for StaticCountryLookup {
    fn country(&self, ip: IpAddr) -> Option<String> {
        self.ranges
            .iter()
            .find(|(net, _)| net.contains(&ip))
            .map(|(_, c)| c.clone())
    }
}
