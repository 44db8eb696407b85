//! What the service knows about its attributes (RFC 7643 §2, §4, §8.7): types, multiplicity,
//! case sensitivity and mutability. Filters, PATCH and the discovery documents all read it,
//! so the rules live in one place.

/// The core User schema URI.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The enterprise User extension URI.
pub const ENTERPRISE_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// The core Group schema URI.
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

/// An attribute's data type (RFC 7643 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    /// A string.
    String,
    /// `true` or `false`.
    Boolean,
    /// An RFC 3339 instant, compared as a date.
    DateTime,
    /// A URI or a resource id.
    Reference,
    /// An object with sub-attributes.
    Complex,
}

impl AttrType {
    /// The name used in the Schemas document.
    pub fn as_str(self) -> &'static str {
        match self {
            AttrType::String => "string",
            AttrType::Boolean => "boolean",
            AttrType::DateTime => "dateTime",
            AttrType::Reference => "reference",
            AttrType::Complex => "complex",
        }
    }
}

/// Whether and when a client may write the attribute (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    /// Set by the service only.
    ReadOnly,
    /// Set and changed by clients.
    ReadWrite,
}

impl Mutability {
    /// The name used in the Schemas document.
    pub fn as_str(self) -> &'static str {
        match self {
            Mutability::ReadOnly => "readOnly",
            Mutability::ReadWrite => "readWrite",
        }
    }
}

/// One attribute definition.
#[derive(Debug)]
pub struct AttrDef {
    /// The attribute's name as the schema spells it.
    pub name: &'static str,
    /// Its data type.
    pub ty: AttrType,
    /// Whether it holds a list of values.
    pub multi_valued: bool,
    /// Whether string comparisons respect case.
    pub case_exact: bool,
    /// Whether clients may write it.
    pub mutability: Mutability,
    /// Whether a resource must have it.
    pub required: bool,
    /// `server` where the service enforces uniqueness, else `none`.
    pub unique: bool,
    /// Sub-attributes of a complex attribute.
    pub sub: &'static [AttrDef],
    /// What the attribute is.
    pub description: &'static str,
}

impl AttrDef {
    /// The sub-attribute called `name`, without regard to case.
    pub fn sub_attr(&self, name: &str) -> Option<&'static AttrDef> {
        self.sub.iter().find(|a| a.name.eq_ignore_ascii_case(name))
    }
}

const fn attr(name: &'static str, ty: AttrType, description: &'static str) -> AttrDef {
    AttrDef {
        name,
        ty,
        multi_valued: false,
        case_exact: false,
        mutability: Mutability::ReadWrite,
        required: false,
        unique: false,
        sub: &[],
        description,
    }
}

const fn exact(mut a: AttrDef) -> AttrDef {
    a.case_exact = true;
    a
}

const fn read_only(mut a: AttrDef) -> AttrDef {
    a.mutability = Mutability::ReadOnly;
    a
}

const fn complex(
    name: &'static str,
    multi_valued: bool,
    sub: &'static [AttrDef],
    description: &'static str,
) -> AttrDef {
    let mut a = attr(name, AttrType::Complex, description);
    a.multi_valued = multi_valued;
    a.sub = sub;
    a
}

use AttrType::{Boolean, DateTime, Reference, String as Str};

/// Attributes every resource has (RFC 7643 §3.1), outside any schema's attribute list.
pub static COMMON: &[AttrDef] = &[
    read_only(exact(attr(
        "id",
        Str,
        "The service's identifier of the resource.",
    ))),
    exact(attr(
        "externalId",
        Str,
        "The provisioning client's identifier of the resource.",
    )),
    read_only(complex(
        "meta",
        false,
        &[
            read_only(exact(attr("resourceType", Str, "User or Group."))),
            read_only(attr("created", DateTime, "When the resource was created.")),
            read_only(attr(
                "lastModified",
                DateTime,
                "When the resource last changed.",
            )),
            read_only(exact(attr("version", Str, "The resource's entity tag."))),
            read_only(exact(attr("location", Reference, "The resource's URI."))),
        ],
        "Resource metadata.",
    )),
];

static USER_ATTRS: &[AttrDef] = &[
    AttrDef {
        required: true,
        unique: true,
        ..attr(
            "userName",
            Str,
            "Sign-in name, unique without regard to case.",
        )
    },
    complex(
        "name",
        false,
        &[
            attr("formatted", Str, "The full name."),
            attr("familyName", Str, "Last name."),
            attr("givenName", Str, "First name."),
        ],
        "The person's name.",
    ),
    // Required here because the directory always holds them: without a value sent, the name
    // is derived (name.formatted, given and family names, userName) and the account enabled.
    // Creation without them is still accepted; removing them is refused.
    AttrDef {
        required: true,
        ..attr("displayName", Str, "Name shown to people.")
    },
    AttrDef {
        required: true,
        ..attr("active", Boolean, "Whether the account may sign in.")
    },
    complex(
        "emails",
        true,
        &[
            attr("value", Str, "The address."),
            attr("type", Str, "work, home or other."),
            attr("primary", Boolean, "Whether this is the preferred address."),
            attr("display", Str, "Name shown for the address."),
        ],
        "Mail addresses.",
    ),
];

static ENTERPRISE_ATTRS: &[AttrDef] = &[
    attr("employeeNumber", Str, "Employee number."),
    attr("department", Str, "Department."),
    complex(
        "manager",
        false,
        &[
            exact(attr("value", Str, "The manager's id.")),
            read_only(exact(attr("$ref", Reference, "The manager's URI."))),
            read_only(attr("displayName", Str, "The manager's name.")),
        ],
        "The user's manager.",
    ),
];

static GROUP_ATTRS: &[AttrDef] = &[
    AttrDef {
        required: true,
        unique: true,
        ..attr(
            "displayName",
            Str,
            "Name shown to people, unique without regard to case.",
        )
    },
    complex(
        "members",
        true,
        &[
            exact(attr("value", Str, "The member's id.")),
            // A client may name a member by its URI as well as by its id (the id decides).
            exact(attr("$ref", Reference, "The member's URI.")),
            read_only(attr("display", Str, "The member's name.")),
            read_only(attr("type", Str, "User or Group.")),
        ],
        "The group's direct members.",
    ),
];

/// One schema: its URI, name and attributes.
#[derive(Debug)]
pub struct SchemaDef {
    /// The schema URI.
    pub id: &'static str,
    /// Short name.
    pub name: &'static str,
    /// What it describes.
    pub description: &'static str,
    /// Its attributes.
    pub attributes: &'static [AttrDef],
}

/// The core User schema.
pub static USER: SchemaDef = SchemaDef {
    id: USER_SCHEMA,
    name: "User",
    description: "User account",
    attributes: USER_ATTRS,
};
/// The enterprise User extension.
pub static ENTERPRISE_USER: SchemaDef = SchemaDef {
    id: ENTERPRISE_SCHEMA,
    name: "EnterpriseUser",
    description: "Enterprise user",
    attributes: ENTERPRISE_ATTRS,
};
/// The core Group schema.
pub static GROUP: SchemaDef = SchemaDef {
    id: GROUP_SCHEMA,
    name: "Group",
    description: "Group",
    attributes: GROUP_ATTRS,
};

/// The two resource types the service offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    /// `/Users`.
    User,
    /// `/Groups`.
    Group,
}

impl ResourceKind {
    /// The resource type's name (`meta.resourceType`).
    pub fn name(self) -> &'static str {
        match self {
            ResourceKind::User => "User",
            ResourceKind::Group => "Group",
        }
    }

    /// The endpoint relative to the base URL.
    pub fn endpoint(self) -> &'static str {
        match self {
            ResourceKind::User => "/Users",
            ResourceKind::Group => "/Groups",
        }
    }

    /// The core schema.
    pub fn core(self) -> &'static SchemaDef {
        match self {
            ResourceKind::User => &USER,
            ResourceKind::Group => &GROUP,
        }
    }

    /// The schema extensions.
    pub fn extensions(self) -> &'static [&'static SchemaDef] {
        static USER_EXT: [&SchemaDef; 1] = [&ENTERPRISE_USER];
        match self {
            ResourceKind::User => &USER_EXT,
            ResourceKind::Group => &[],
        }
    }

    /// The schema called `uri` (core or extension), without regard to case.
    pub fn schema(self, uri: &str) -> Option<&'static SchemaDef> {
        std::iter::once(self.core())
            .chain(self.extensions().iter().copied())
            .find(|s| s.id.eq_ignore_ascii_case(uri))
    }
}

/// Where a resolved attribute lives.
#[derive(Debug, Clone, Copy)]
pub struct AttrRef {
    /// The extension holding it (`None` for core and common attributes, which sit at the top).
    pub extension: Option<&'static SchemaDef>,
    /// The attribute.
    pub attr: &'static AttrDef,
    /// The sub-attribute, if the path names one.
    pub sub: Option<&'static AttrDef>,
}

impl AttrRef {
    /// The attribute the path finally names (the sub-attribute if any).
    pub fn leaf(&self) -> &'static AttrDef {
        self.sub.unwrap_or(self.attr)
    }

    /// Whether a client may write what the path names.
    pub fn writable(&self) -> bool {
        self.attr.mutability == Mutability::ReadWrite
            && self
                .sub
                .is_none_or(|s| s.mutability == Mutability::ReadWrite)
    }
}

/// Resolves an attribute path `[schemaURI:]attr[.sub]` without regard to case (RFC 7644
/// §3.10). The error is a plain message; callers wrap it in the `scimType` their context needs.
pub fn resolve(kind: ResourceKind, path: &str) -> std::result::Result<AttrRef, String> {
    let (schema, rest) = split_urn(kind, path)?;
    let (name, sub) = match rest.split_once('.') {
        Some((n, s)) => (n, Some(s)),
        None => (rest, None),
    };
    let found = match schema {
        Some(s) => s
            .attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name)),
        None => COMMON
            .iter()
            .chain(kind.core().attributes)
            .find(|a| a.name.eq_ignore_ascii_case(name)),
    };
    let attr = found.ok_or_else(|| format!("unknown attribute '{name}'"))?;
    let extension = schema.filter(|s| s.id != kind.core().id);
    let sub = match sub {
        None => None,
        Some(s) => Some(
            attr.sub_attr(s)
                .ok_or_else(|| format!("unknown sub-attribute '{name}.{s}'"))?,
        ),
    };
    Ok(AttrRef {
        extension,
        attr,
        sub,
    })
}

/// RFC 7643 User attributes the service does not keep. A create drops them like any unknown
/// attribute; a PATCH naming them is a no-op rather than `invalidPath`, because Microsoft
/// Entra's default attribute mappings send several (`title`, `phoneNumbers`, `addresses`,
/// `preferredLanguage`) and would otherwise fail every update. `password` is not among them:
/// a client setting one must hear that it was not.
const UNKEPT_USER: &[&str] = &[
    "nickName",
    "profileUrl",
    "title",
    "userType",
    "preferredLanguage",
    "locale",
    "timezone",
    "phoneNumbers",
    "ims",
    "photos",
    "addresses",
    "entitlements",
    "roles",
    "x509Certificates",
];
const UNKEPT_ENTERPRISE: &[&str] = &["costCenter", "organization", "division"];

/// Whether a path names a standard attribute the service does not keep (`title`,
/// `phoneNumbers`, ...: the lists above).
pub fn is_unkept(kind: ResourceKind, path: &str) -> bool {
    if kind != ResourceKind::User {
        return false;
    }
    let (list, rest) = match split_urn(kind, path) {
        Ok((Some(s), rest)) if s.id == ENTERPRISE_SCHEMA => (UNKEPT_ENTERPRISE, rest),
        Ok((_, rest)) => (UNKEPT_USER, rest),
        Err(_) => return false,
    };
    let name = rest.split(['.', '[']).next().unwrap_or_default();
    list.iter().any(|n| n.eq_ignore_ascii_case(name))
}

/// Splits a leading schema URI off a path. The URI is matched as a known prefix, because it
/// holds dots itself (`2.0`); it is followed by ':' (RFC 7644 §3.10) or, as some clients send
/// it, by '.'.
fn split_urn(
    kind: ResourceKind,
    path: &str,
) -> std::result::Result<(Option<&'static SchemaDef>, &str), String> {
    if !path
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("urn:"))
    {
        return Ok((None, path));
    }
    std::iter::once(kind.core())
        .chain(kind.extensions().iter().copied())
        .find_map(|s| {
            let head = path.get(..s.id.len())?;
            let rest = path.get(s.id.len() + 1..)?;
            let sep = path.as_bytes().get(s.id.len())?;
            (head.eq_ignore_ascii_case(s.id) && matches!(sep, b':' | b'.') && !rest.is_empty())
                .then_some((Some(s), rest))
        })
        .ok_or_else(|| format!("unknown schema in '{path}'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_core_common_sub_and_extension_paths() {
        let r = resolve(ResourceKind::User, "USERNAME").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.attr.name, "userName");
        let r = resolve(ResourceKind::User, "name.familyname").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.leaf().name, "familyName");
        let r = resolve(ResourceKind::User, "meta.lastModified").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.leaf().ty, AttrType::DateTime);
        let r = resolve(
            ResourceKind::User,
            &format!("{ENTERPRISE_SCHEMA}:manager.value"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.extension.map(|s| s.id), Some(ENTERPRISE_SCHEMA));
        assert_eq!(r.leaf().name, "value");
        let r = resolve(ResourceKind::User, &format!("{USER_SCHEMA}:userName"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(r.extension.is_none());
        let r = resolve(
            ResourceKind::User,
            &format!("{ENTERPRISE_SCHEMA}.department"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.leaf().name, "department");
    }

    #[test]
    fn standard_attributes_not_kept_are_known() {
        assert!(is_unkept(ResourceKind::User, "title"));
        assert!(is_unkept(
            ResourceKind::User,
            r#"phoneNumbers[type eq "work"].value"#
        ));
        assert!(is_unkept(
            ResourceKind::User,
            "addresses[type eq \"work\"].locality"
        ));
        assert!(is_unkept(
            ResourceKind::User,
            &format!("{ENTERPRISE_SCHEMA}:costCenter")
        ));
        assert!(!is_unkept(ResourceKind::User, "password"));
        assert!(!is_unkept(ResourceKind::User, "userName"));
        assert!(!is_unkept(ResourceKind::Group, "title"));
    }

    #[test]
    fn unknown_names_are_refused() {
        assert!(resolve(ResourceKind::User, "nickName").is_err());
        assert!(resolve(ResourceKind::User, "name.middle").is_err());
        assert!(resolve(ResourceKind::Group, "urn:x:y:userName").is_err());
        assert!(resolve(ResourceKind::Group, "userName").is_err());
        assert!(resolve(ResourceKind::User, ENTERPRISE_SCHEMA).is_err());
        assert!(resolve(ResourceKind::User, &format!("{ENTERPRISE_SCHEMA}:")).is_err());
    }
}
