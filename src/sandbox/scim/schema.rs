//! The SCIM schemas the emulation serves (RFC 7643 section 7: attribute definitions with
//! their type, mutability, returned, uniqueness, sub-attributes), written as data from
//! the facts of RFC 7643 sections 4 and 8.7.1 and from what OCI IAM adds (`ocid`, the
//! `secondary` / `verified` email flags, its user, user state and group extensions).
//!
//! They are the truth `GET /Schemas` tells, and the sandbox acts on them: the optional
//! User attributes ([`OPAQUE_USER_ATTRIBUTES`], the Enterprise User extension) are checked
//! against their definitions by [`clean`] and stored as given; the attributes a filter may
//! name are those defined here ([`has_path`]). The tests check that PATCH's writable and
//! read-only lists, and the filter's case sensitivity, agree with these definitions.

use serde_json::{Map, Value, json};

use super::filter::{get_ci, key_ci};
use super::{
    ENTERPRISE_USER_EXTENSION, GROUP_EXTENSION, GROUP_SCHEMA, SCHEMA_SCHEMA, SCIM_BASE, ScimError, USER_EXTENSION, USER_SCHEMA,
    USER_STATE_EXTENSION,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Binary,
    Reference,
    Complex,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    Always,
    Never,
    Default,
    Request,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uniqueness {
    None,
    Server,
    Global,
}

/// One attribute definition (RFC 7643 section 7).
#[derive(Debug)]
pub struct Attr {
    pub name: &'static str,
    pub ty: Type,
    pub multi: bool,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    pub uniqueness: Uniqueness,
    pub canonical: &'static [&'static str],
    pub reference_types: &'static [&'static str],
    pub sub: &'static [Attr],
    pub description: &'static str,
}

impl Attr {
    /// A single-valued, optional, case-insensitive, read-write attribute returned by default.
    const fn new(name: &'static str, ty: Type, description: &'static str) -> Attr {
        Attr {
            name,
            ty,
            multi: false,
            required: false,
            case_exact: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            uniqueness: Uniqueness::None,
            canonical: &[],
            reference_types: &[],
            sub: &[],
            description,
        }
    }
    const fn string(name: &'static str, description: &'static str) -> Attr {
        Attr::new(name, Type::String, description)
    }
    const fn boolean(name: &'static str, description: &'static str) -> Attr {
        Attr::new(name, Type::Boolean, description)
    }
    const fn reference(name: &'static str, types: &'static [&'static str], description: &'static str) -> Attr {
        Attr { reference_types: types, ..Attr::new(name, Type::Reference, description) }
    }
    const fn complex(name: &'static str, sub: &'static [Attr], description: &'static str) -> Attr {
        Attr { sub, ..Attr::new(name, Type::Complex, description) }
    }
    const fn multi(self) -> Attr {
        Attr { multi: true, ..self }
    }
    const fn required(self) -> Attr {
        Attr { required: true, ..self }
    }
    const fn exact(self) -> Attr {
        Attr { case_exact: true, ..self }
    }
    const fn read_only(self) -> Attr {
        Attr { mutability: Mutability::ReadOnly, ..self }
    }
    const fn immutable(self) -> Attr {
        Attr { mutability: Mutability::Immutable, ..self }
    }
    const fn write_only(self) -> Attr {
        Attr { mutability: Mutability::WriteOnly, returned: Returned::Never, ..self }
    }
    const fn unique(self, u: Uniqueness) -> Attr {
        Attr { uniqueness: u, ..self }
    }
    const fn canonical(self, values: &'static [&'static str]) -> Attr {
        Attr { canonical: values, ..self }
    }

    /// The sub-attribute `name` (case-insensitively).
    pub fn sub_attr(&self, name: &str) -> Option<&'static Attr> {
        self.sub.iter().find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// Whether a client may set it (read-write, write-only or immutable).
    pub fn writable(&self) -> bool {
        self.mutability != Mutability::ReadOnly
    }

    /// Its definition as `GET /Schemas` shows it.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("name".into(), json!(self.name));
        m.insert("type".into(), json!(enum_name(self.ty)));
        m.insert("multiValued".into(), json!(self.multi));
        m.insert("description".into(), json!(self.description));
        m.insert("required".into(), json!(self.required));
        m.insert("caseExact".into(), json!(self.case_exact));
        if !self.canonical.is_empty() {
            m.insert("canonicalValues".into(), json!(self.canonical));
        }
        if self.ty == Type::Reference {
            m.insert("referenceTypes".into(), json!(self.reference_types));
        }
        m.insert("mutability".into(), json!(enum_name(self.mutability)));
        m.insert("returned".into(), json!(enum_name(self.returned)));
        m.insert("uniqueness".into(), json!(enum_name(self.uniqueness)));
        if self.ty == Type::Complex {
            m.insert("subAttributes".into(), Value::Array(self.sub.iter().map(Attr::to_json).collect()));
        }
        Value::Object(m)
    }
}

/// The RFC 7643 spelling of an enum value: `readWrite`, `dateTime`, `none`...
fn enum_name(v: impl std::fmt::Debug) -> String {
    let s = format!("{v:?}");
    let mut chars = s.chars();
    chars.next().map(|c| c.to_ascii_lowercase().to_string() + chars.as_str()).unwrap_or_default()
}

/// One schema (RFC 7643 section 7).
#[derive(Debug)]
pub struct Schema {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub attributes: &'static [Attr],
}

impl Schema {
    pub fn attr(&self, name: &str) -> Option<&'static Attr> {
        self.attributes.iter().find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// The Schema resource, `base` being the server URL.
    pub fn to_json(&self, base: &str) -> Value {
        json!({
            "schemas": [SCHEMA_SCHEMA],
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": self.attributes.iter().map(Attr::to_json).collect::<Vec<_>>(),
            "meta": {
                "resourceType": "Schema",
                "location": format!("{base}{SCIM_BASE}/Schemas/{}", self.id),
            },
        })
    }
}

/// The sub-attributes RFC 7643 section 2.4 gives a multi-valued attribute: `value` (of
/// type `$value`), `display`, `type` (with canonical values), `primary`.
macro_rules! plural {
    ($value:expr, [$($canonical:expr),* $(,)?] $(, $extra:expr)* $(,)?) => {
        &[
            $value,
            Attr::string("display", "A human-readable name, primarily used for display purposes."),
            Attr::string("type", "A label indicating the attribute's function.").canonical(&[$($canonical),*]),
            Attr::boolean("primary", "Whether this is the primary or preferred value; true appears at most once."),
            $($extra,)*
        ]
    };
}

const OCID: Attr = Attr::string("ocid", "The Oracle Cloud ID of the resource.").exact().read_only().unique(Uniqueness::Global);

const NAME: &[Attr] = &[
    Attr::string("formatted", "The full name, formatted for display; \"givenName familyName\" when not given."),
    Attr::string("familyName", "The family name (last name in most Western languages)."),
    Attr::string("givenName", "The given name (first name in most Western languages)."),
    Attr::string("middleName", "The middle name(s)."),
    Attr::string("honorificPrefix", "The honorific prefix(es), or title (\"Ms.\")."),
    Attr::string("honorificSuffix", "The honorific suffix(es) (\"III\")."),
];

const ADDRESS: &[Attr] = &[
    Attr::string("formatted", "The full mailing address, formatted for display."),
    Attr::string("streetAddress", "The full street address (house number, street name, P.O. box...)."),
    Attr::string("locality", "The city or locality."),
    Attr::string("region", "The state or region."),
    Attr::string("postalCode", "The zip code or postal code."),
    Attr::string("country", "The country, as an ISO 3166-1 alpha-2 code."),
    Attr::string("type", "A label indicating the attribute's function.").canonical(&["work", "home", "other"]),
    Attr::boolean("primary", "Whether this is the primary or preferred address; true appears at most once."),
];

/// `urn:ietf:params:scim:schemas:core:2.0:User`.
pub const USER: Schema = Schema {
    id: USER_SCHEMA,
    name: "User",
    description: "User Account",
    attributes: &[
        OCID,
        Attr::string("userName", "The unique identifier of the user, used to log in; unique regardless of case.")
            .required()
            .unique(Uniqueness::Server),
        Attr::complex("name", NAME, "The components of the user's real name."),
        Attr::string("displayName", "The name of the user, for display; \"givenName familyName\" (else the userName) when not given."),
        Attr::string("nickName", "The casual way to address the user."),
        Attr::reference("profileUrl", &["external"], "A URI of the user's online profile."),
        Attr::string("title", "The user's title, such as \"Vice President\"."),
        Attr::string("userType", "The relationship between the organization and the user (\"Employee\", \"Contractor\")."),
        Attr::string("preferredLanguage", "The user's preferred written or spoken language (RFC 7231 Accept-Language)."),
        Attr::string("locale", "The user's default location for localization (\"en-US\")."),
        Attr::string("timezone", "The user's time zone in the IANA database format (\"America/Los_Angeles\")."),
        Attr::boolean("active", "The user's administrative status; true when not given."),
        Attr::string("password", "The user's clear-text password, checked against the password policy and never returned.").write_only(),
        Attr::complex(
            "emails",
            plural!(
                Attr::string("value", "The email address (stored in lower case)."),
                ["work", "home", "other", "recovery"],
                Attr::boolean("secondary", "Whether this is the secondary email (Oracle; false when not given)."),
                Attr::boolean("verified", "Whether the address was verified (Oracle; false when not given)."),
            ),
            "Email addresses; a primary address without a recovery address gets a recovery copy.",
        )
        .multi(),
        Attr::complex(
            "phoneNumbers",
            plural!(Attr::string("value", "The phone number."), ["work", "home", "mobile", "fax", "pager", "other"]),
            "Phone numbers.",
        )
        .multi(),
        Attr::complex(
            "ims",
            plural!(
                Attr::string("value", "The instant messaging address."),
                ["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"]
            ),
            "Instant messaging addresses.",
        )
        .multi(),
        Attr::complex(
            "photos",
            plural!(Attr::reference("value", &["external"], "The URL of a photo of the user."), ["photo", "thumbnail"]),
            "URLs of photos of the user.",
        )
        .multi(),
        Attr::complex("addresses", ADDRESS, "Physical mailing addresses.").multi(),
        Attr::complex(
            "groups",
            &[
                Attr::string("value", "The id of the group.").read_only(),
                Attr::reference("$ref", &["Group"], "The URI of the group.").exact().read_only(),
                Attr::string("display", "The displayName of the group.").read_only(),
                Attr::string("ocid", "The ocid of the group (Oracle).").exact().read_only(),
            ],
            "The groups the user belongs to, directly (maintained by the server from the groups' members).",
        )
        .multi()
        .read_only(),
        Attr::complex("entitlements", plural!(Attr::string("value", "The value of an entitlement."), []), "Entitlements.").multi(),
        Attr::complex("roles", plural!(Attr::string("value", "The value of a role."), []), "Roles.").multi(),
        Attr::complex(
            "x509Certificates",
            plural!(Attr::new("value", Type::Binary, "A DER-encoded X.509 certificate, base64-encoded."), []),
            "X.509 certificates.",
        )
        .multi(),
    ],
};

/// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User` (RFC 7643 section 4.3).
pub const ENTERPRISE_USER: Schema = Schema {
    id: ENTERPRISE_USER_EXTENSION,
    name: "EnterpriseUser",
    description: "Enterprise User",
    attributes: &[
        Attr::string("employeeNumber", "A string identifier, typically numeric or alphanumeric, assigned to a person."),
        Attr::string("costCenter", "The name of a cost center."),
        Attr::string("organization", "The name of an organization."),
        Attr::string("division", "The name of a division."),
        Attr::string("department", "The name of a department."),
        Attr::complex(
            "manager",
            &[
                Attr::string("value", "The id of the user's manager."),
                Attr::reference("$ref", &["User"], "The URI of the manager.").exact(),
                Attr::string("displayName", "The displayName of the manager.").read_only(),
            ],
            "The user's manager.",
        ),
    ],
};

/// OCI IAM's user extension, as the sandbox renders it on every user (not writable).
pub const ORACLE_USER: Schema = Schema {
    id: USER_EXTENSION,
    name: "OracleUser",
    description: "Oracle identity domain user attributes",
    attributes: &[Attr::boolean("isFederatedUser", "Whether the user is federated (always false in the sandbox).").read_only()],
};

/// OCI IAM's user state extension, as the sandbox renders it on every user (not writable).
pub const ORACLE_USER_STATE: Schema = Schema {
    id: USER_STATE_EXTENSION,
    name: "OracleUserState",
    description: "Oracle identity domain user state",
    attributes: &[Attr::complex(
        "locked",
        &[Attr::boolean("on", "Whether the user is locked (always false in the sandbox).").read_only()],
        "The lock state.",
    )
    .read_only()],
};

/// `urn:ietf:params:scim:schemas:core:2.0:Group`. Members are users only.
pub const GROUP: Schema = Schema {
    id: GROUP_SCHEMA,
    name: "Group",
    description: "Group",
    attributes: &[
        OCID,
        Attr::string("displayName", "A human-readable name for the group; unique regardless of case.")
            .required()
            .unique(Uniqueness::Server),
        Attr::complex(
            "members",
            &[
                Attr::string("value", "The id (or ocid) of a member user.").immutable(),
                Attr::reference("$ref", &["User"], "The URI of the member.").exact().immutable(),
                Attr::string("type", "The type of the member.").canonical(&["User"]).immutable(),
                Attr::string("display", "The displayName of the member user.").read_only(),
                Attr::string("ocid", "The ocid of the member user (Oracle).").exact().read_only(),
            ],
            "The members of the group (users).",
        )
        .multi(),
    ],
};

/// OCI IAM's group extension (the group description).
pub const ORACLE_GROUP: Schema = Schema {
    id: GROUP_EXTENSION,
    name: "OracleGroup",
    description: "Oracle identity domain group attributes",
    attributes: &[Attr::string("description", "The group description.")],
};

/// Every schema `GET /Schemas` lists, in that order.
pub const SCHEMAS: [&Schema; 6] = [&USER, &ENTERPRISE_USER, &ORACLE_USER, &ORACLE_USER_STATE, &GROUP, &ORACLE_GROUP];

/// The schema whose id is `urn` (case-insensitively).
pub fn find(urn: &str) -> Option<&'static Schema> {
    SCHEMAS.into_iter().find(|s| s.id.eq_ignore_ascii_case(urn))
}

/// The User attributes the sandbox stores as the client gave them (after [`clean`]);
/// the others (`userName`, `name`, `displayName`, `active`, `password`, `emails`, and the
/// read-only `ocid` and `groups`) have rules of their own in [`model`](super::model).
pub const OPAQUE_USER_ATTRIBUTES: [&str; 14] = [
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

/// Whether `attr` (and `sub`, when given) names an attribute of `schema`
/// (case-insensitively) that answers carry (`password`, never returned, is not one).
pub fn has_path(schema: &Schema, attr: &str, sub: Option<&str>) -> bool {
    match (schema.attr(attr).filter(|a| a.returned != Returned::Never), sub) {
        (Some(_), None) => true,
        (Some(a), Some(s)) => a.sub_attr(s).is_some(),
        (None, _) => false,
    }
}

fn invalid(detail: impl Into<String>) -> ScimError {
    ScimError::bad_request("invalidValue", detail)
}

/// A client's value of attribute `a` (named `path` in messages), checked against its
/// definition: the type of every value, arrays for multi-valued attributes, objects for
/// complex ones, at most one `primary: true`. Read-only and unknown sub-attributes are left
/// out, sub-attribute names take the schema's spelling. `None` when the value leaves the
/// attribute unassigned (null, an empty array or object).
pub fn clean(a: &Attr, path: &str, v: &Value) -> Result<Option<Value>, ScimError> {
    if v.is_null() {
        return Ok(None);
    }
    if !a.multi {
        return clean_single(a, path, v);
    }
    let Value::Array(items) = v else {
        return Err(invalid(format!("Attribute \"{path}\" is multi-valued: it must be an array, got {v}.")));
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if let Some(item) = clean_single(a, &format!("{path}[{i}]"), item)? {
            out.push(item);
        }
    }
    if out.iter().filter(|i| i.get("primary") == Some(&Value::Bool(true))).count() > 1 {
        return Err(invalid(format!("At most one value of \"{path}\" may be primary.")));
    }
    Ok((!out.is_empty()).then_some(Value::Array(out)))
}

fn clean_single(a: &Attr, path: &str, v: &Value) -> Result<Option<Value>, ScimError> {
    let wrong = |what: &str| invalid(format!("Attribute \"{path}\" must be {what}, got {v}."));
    match (a.ty, v) {
        (_, Value::Null) => Ok(None),
        (Type::String | Type::Reference, Value::String(_)) => Ok(Some(v.clone())),
        (Type::DateTime, Value::String(s)) => match chrono::DateTime::parse_from_rfc3339(s) {
            Ok(_) => Ok(Some(v.clone())),
            Err(_) => Err(wrong("an xsd:dateTime")),
        },
        (Type::Binary, Value::String(s)) => {
            use base64::Engine as _;
            match base64::engine::general_purpose::STANDARD.decode(s) {
                Ok(_) => Ok(Some(v.clone())),
                Err(_) => Err(wrong("base64-encoded binary")),
            }
        }
        (Type::Boolean, Value::Bool(_)) => Ok(Some(v.clone())),
        (Type::Integer, Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(Some(v.clone())),
        (Type::Decimal, Value::Number(_)) => Ok(Some(v.clone())),
        (Type::Complex, Value::Object(o)) => {
            let m = clean_object(a.sub, path, o)?;
            Ok((!m.is_empty()).then_some(Value::Object(m)))
        }
        (Type::String | Type::Reference | Type::DateTime | Type::Binary, _) => Err(wrong("a string")),
        (Type::Boolean, _) => Err(wrong("a boolean")),
        (Type::Integer, _) => Err(wrong("an integer")),
        (Type::Decimal, _) => Err(wrong("a number")),
        (Type::Complex, _) => Err(wrong("an object")),
    }
}

/// The writable attributes of `attrs` found in `o`, each [`clean`]ed; the rest left out.
pub fn clean_object(attrs: &[Attr], path: &str, o: &Map<String, Value>) -> Result<Map<String, Value>, ScimError> {
    let mut m = Map::new();
    for sub in attrs.iter().filter(|s| s.writable()) {
        if let Some(v) = get_ci(o, sub.name) {
            if let Some(v) = clean(sub, &format!("{path}.{}", sub.name), v)? {
                m.insert(sub.name.to_string(), v);
            }
        }
    }
    Ok(m)
}

/// The opaque optional attributes of a User body (see [`OPAQUE_USER_ATTRIBUTES`]) and its
/// Enterprise User extension, checked; keys take the schema's spelling.
pub fn opaque_user_attributes(body: &Map<String, Value>) -> Result<Map<String, Value>, ScimError> {
    let mut out = Map::new();
    for name in OPAQUE_USER_ATTRIBUTES {
        let (Some(a), Some(v)) = (USER.attr(name), get_ci(body, name)) else {
            continue;
        };
        if let Some(v) = clean(a, name, v)? {
            out.insert(a.name.to_string(), v);
        }
    }
    if let Some(k) = key_ci(body, ENTERPRISE_USER_EXTENSION) {
        match &body[&k] {
            Value::Null => {}
            Value::Object(o) => {
                let m = clean_object(ENTERPRISE_USER.attributes, ENTERPRISE_USER_EXTENSION, o)?;
                if !m.is_empty() {
                    out.insert(ENTERPRISE_USER_EXTENSION.to_string(), Value::Object(m));
                }
            }
            other => return Err(invalid(format!("Attribute \"{ENTERPRISE_USER_EXTENSION}\" must be an object, got {other}."))),
        }
    }
    Ok(out)
}
