//! The stored SCIM users and groups, request validation, and the rendered resources.
//!
//! Storage keeps what clients wrote plus server-made values (ids, ocids, `meta`); group
//! members are user ids. Everything derived (a user's `groups`, member `display` / `ocid` /
//! `$ref`, `meta.location`, schema lists, Oracle extension objects) is computed when a
//! resource is rendered, so it is always consistent. `GET /_sandbox/state` and the `--data`
//! file hold the rendered resources (locations relative to the server) plus, per user,
//! `passwordChanges` and `passwordSet`; loading reads the stored fields back from them.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use rand::Rng as _;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value, json};

use super::etag::{Preconditions, entity_tag, opaque};
use super::filter::{AttrPath, get_ci, key_ci};
use super::schema::opaque_user_attributes;
use super::{
    ENTERPRISE_USER_EXTENSION, GROUP_EXTENSION, GROUP_SCHEMA, MIN_PASSWORD_CHARS, SCIM_BASE, ScimError, USER_EXTENSION, USER_SCHEMA,
    USER_STATE_EXTENSION,
};

// ---------------------------------------------------------------------------------------
// Stored model
// ---------------------------------------------------------------------------------------

/// All SCIM objects of the OCI identity domain, in creation order.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(from = "OciDataRepr")]
pub struct OciData {
    pub users: Vec<StoredUser>,
    pub groups: Vec<StoredGroup>,
}

#[derive(Deserialize)]
struct OciDataRepr {
    #[serde(default)]
    users: Vec<StoredUser>,
    #[serde(default)]
    groups: Vec<StoredGroup>,
}

impl From<OciDataRepr> for OciData {
    fn from(r: OciDataRepr) -> Self {
        OciData { users: r.users, groups: r.groups }
    }
}

impl Serialize for OciData {
    /// The rendered resources (what `GET /_sandbox/state` shows and `--data` stores).
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let view = View::new(self, "");
        let users: Vec<Value> = self.users.iter().map(|u| Value::Object(view.user(u, true))).collect();
        let groups: Vec<Value> = self.groups.iter().map(|g| Value::Object(view.group(g))).collect();
        json!({ "users": users, "groups": groups }).serialize(s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredMeta {
    pub created: String,
    pub last_modified: String,
    /// The opaque version (32 hex); rendered as the entity tag `W/"<version>"`.
    #[serde(deserialize_with = "opaque_version")]
    pub version: String,
}

/// A stored version from a state file: an entity tag (`W/"x"`, as rendered) or a bare one.
fn opaque_version<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(opaque(&String::deserialize(d)?).to_string())
}

impl StoredMeta {
    fn new(now: DateTime<Utc>) -> Self {
        let t = timestamp(now);
        StoredMeta { created: t.clone(), last_modified: t, version: random_hex(16) }
    }

    fn touch(&mut self, now: DateTime<Utc>) {
        self.last_modified = timestamp(now);
        self.version = random_hex(16);
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredUser {
    pub id: String,
    pub ocid: String,
    pub user_name: String,
    /// As the client gave it (a `formatted` is made when rendering, see `rendered_name`).
    #[serde(default, deserialize_with = "stored_name")]
    pub name: Option<Map<String, Value>>,
    pub display_name: String,
    #[serde(default = "yes")]
    pub active: bool,
    #[serde(default)]
    pub external_id: Option<String>,
    #[serde(default)]
    pub emails: Vec<Map<String, Value>>,
    /// The optional attributes stored as given (see [`opaque_user_attributes`]): keyed by
    /// their schema names, the Enterprise User extension by its URN.
    #[serde(flatten, deserialize_with = "stored_opaque")]
    pub opaque: Map<String, Value>,
    pub meta: StoredMeta,
    /// How many times a password was set (the text itself is never kept).
    #[serde(default)]
    pub password_changes: u64,
    #[serde(default)]
    pub password_set: bool,
}

fn yes() -> bool {
    true
}

/// The optional attributes of a user in a state file: each one that passes the checks
/// (others, such as `groups` or the Oracle extensions, are rendered, not stored).
fn stored_opaque<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Map<String, Value>, D::Error> {
    let rest = Map::<String, Value>::deserialize(d)?;
    let mut out = Map::new();
    for (k, v) in rest {
        let one = Map::from_iter([(k, v)]);
        if let Ok(cleaned) = opaque_user_attributes(&one) {
            out.extend(cleaned);
        }
    }
    Ok(out)
}

/// `name` from a state file, which holds it rendered: a `formatted` that is the one
/// rendering makes is left out again.
fn stored_name<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Map<String, Value>>, D::Error> {
    let Some(mut name) = Option::<Map<String, Value>>::deserialize(d)? else {
        return Ok(None);
    };
    let made = formatted_name(&name);
    if let Some(k) = key_ci(&name, "formatted") {
        if name.get(&k).and_then(Value::as_str) == made.as_deref() {
            name.remove(&k);
        }
    }
    Ok(Some(name))
}

/// `name` as rendered: a `formatted` made of the given and family names when the client
/// gave none.
fn rendered_name(name: &Map<String, Value>) -> Map<String, Value> {
    let mut name = name.clone();
    let has_formatted = get_ci(&name, "formatted").and_then(Value::as_str).is_some_and(|f| !f.trim().is_empty());
    if !has_formatted {
        if let Some(f) = formatted_name(&name) {
            if let Some(k) = key_ci(&name, "formatted") {
                name.remove(&k);
            }
            name.insert("formatted".into(), json!(f));
        }
    }
    name
}

/// "givenName familyName" (either alone when the other is missing), or `None`.
fn formatted_name(name: &Map<String, Value>) -> Option<String> {
    let part = |key: &str| get_ci(name, key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    let formatted = [part("givenName"), part("familyName")].into_iter().flatten().collect::<Vec<_>>().join(" ");
    (!formatted.is_empty()).then_some(formatted)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredGroup {
    pub id: String,
    pub ocid: String,
    pub display_name: String,
    #[serde(default)]
    pub external_id: Option<String>,
    /// Member user ids, in the order they were added.
    #[serde(default, deserialize_with = "member_ids")]
    pub members: Vec<String>,
    /// The Oracle group extension, present when a client sent it.
    #[serde(default, rename = "urn:ietf:params:scim:schemas:oracle:idcs:extension:group:Group")]
    pub extension: Option<GroupExtension>,
    pub meta: StoredMeta,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct GroupExtension {
    #[serde(default)]
    pub description: Option<String>,
}

fn member_ids<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    struct Member {
        value: String,
    }
    Ok(Vec::<Member>::deserialize(d)?.into_iter().map(|m| m.value).collect())
}

// ---------------------------------------------------------------------------------------
// Generated values
// ---------------------------------------------------------------------------------------

pub fn timestamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// `n` random bytes as lower-case hex.
pub fn random_hex(n: usize) -> String {
    let mut rng = rand::rng();
    (0..n).map(|_| format!("{:02x}", rng.random::<u8>())).collect()
}

/// `ocid1.<kind>.oc1..` followed by 60 lower-case base32 characters (the first eight are
/// `a`, as in real OCIDs).
pub fn new_ocid(kind: &str) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut rng = rand::rng();
    let tail: String = (0..52).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect();
    format!("ocid1.{kind}.oc1..aaaaaaaa{tail}")
}

// ---------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------

/// Indexes for rendering many resources: users by id, groups by member.
pub struct View<'a> {
    base: &'a str,
    /// Whether users carry `groups` (see `--scim-no-user-groups`).
    user_groups: bool,
    users: HashMap<&'a str, &'a StoredUser>,
    groups_of: HashMap<&'a str, Vec<&'a StoredGroup>>,
}

impl<'a> View<'a> {
    /// `base` is the server URL (`http://host:port`, or "" for relative locations).
    pub fn new(data: &'a OciData, base: &'a str) -> Self {
        let users = data.users.iter().map(|u| (u.id.as_str(), u)).collect();
        let mut groups_of: HashMap<&str, Vec<&StoredGroup>> = HashMap::new();
        for g in &data.groups {
            for m in &g.members {
                groups_of.entry(m.as_str()).or_default().push(g);
            }
        }
        View { base, user_groups: true, users, groups_of }
    }

    /// Renders users with (`true`, the default) or without their `groups` attribute.
    pub fn with_user_groups(mut self, on: bool) -> Self {
        self.user_groups = on;
        self
    }

    fn location(&self, collection: &str, id: &str) -> String {
        format!("{}{SCIM_BASE}/{collection}/{id}", self.base)
    }

    /// The full User resource; `with_password_info` adds `passwordChanges` / `passwordSet`
    /// (for the sandbox state only, never the API).
    pub fn user(&self, u: &StoredUser, with_password_info: bool) -> Map<String, Value> {
        let mut m = Map::new();
        let mut schemas = vec![USER_SCHEMA, USER_EXTENSION, USER_STATE_EXTENSION];
        if u.opaque.contains_key(ENTERPRISE_USER_EXTENSION) {
            schemas.push(ENTERPRISE_USER_EXTENSION);
        }
        m.insert("schemas".into(), json!(schemas));
        m.insert("id".into(), json!(u.id));
        m.insert("ocid".into(), json!(u.ocid));
        if let Some(e) = &u.external_id {
            m.insert("externalId".into(), json!(e));
        }
        m.insert("userName".into(), json!(u.user_name));
        if let Some(name) = &u.name {
            m.insert("name".into(), Value::Object(rendered_name(name)));
        }
        m.insert("displayName".into(), json!(u.display_name));
        m.insert("active".into(), json!(u.active));
        if !u.emails.is_empty() {
            m.insert("emails".into(), Value::Array(u.emails.iter().cloned().map(Value::Object).collect()));
        }
        for (k, v) in &u.opaque {
            m.insert(k.clone(), v.clone());
        }
        let groups: Vec<Value> = self
            .groups_of
            .get(u.id.as_str())
            .into_iter()
            .flatten()
            .map(|g| {
                json!({
                    "value": g.id,
                    "ocid": g.ocid,
                    "display": g.display_name,
                    "$ref": self.location("Groups", &g.id),
                })
            })
            .collect();
        if self.user_groups {
            m.insert("groups".into(), Value::Array(groups));
        }
        m.insert(
            "meta".into(),
            json!({
                "created": u.meta.created,
                "lastModified": u.meta.last_modified,
                "version": entity_tag(&u.meta.version),
                "resourceType": "User",
                "location": self.location("Users", &u.id),
            }),
        );
        m.insert(USER_EXTENSION.into(), json!({ "isFederatedUser": false }));
        m.insert(USER_STATE_EXTENSION.into(), json!({ "locked": { "on": false } }));
        if with_password_info {
            m.insert("passwordChanges".into(), json!(u.password_changes));
            m.insert("passwordSet".into(), json!(u.password_set));
        }
        m
    }

    /// The full Group resource, members included.
    pub fn group(&self, g: &StoredGroup) -> Map<String, Value> {
        let mut m = Map::new();
        let mut schemas = vec![json!(GROUP_SCHEMA)];
        if g.extension.is_some() {
            schemas.push(json!(GROUP_EXTENSION));
        }
        m.insert("schemas".into(), Value::Array(schemas));
        m.insert("id".into(), json!(g.id));
        m.insert("ocid".into(), json!(g.ocid));
        m.insert("displayName".into(), json!(g.display_name));
        if let Some(e) = &g.external_id {
            m.insert("externalId".into(), json!(e));
        }
        let members: Vec<Value> = g
            .members
            .iter()
            .map(|id| {
                let mut member = Map::new();
                member.insert("value".into(), json!(id));
                member.insert("type".into(), json!("User"));
                if let Some(u) = self.users.get(id.as_str()) {
                    member.insert("display".into(), json!(u.display_name));
                    member.insert("ocid".into(), json!(u.ocid));
                }
                member.insert("$ref".into(), json!(self.location("Users", id)));
                Value::Object(member)
            })
            .collect();
        m.insert("members".into(), Value::Array(members));
        if let Some(ext) = &g.extension {
            let mut e = Map::new();
            if let Some(d) = &ext.description {
                e.insert("description".into(), json!(d));
            }
            m.insert(GROUP_EXTENSION.into(), Value::Object(e));
        }
        m.insert(
            "meta".into(),
            json!({
                "created": g.meta.created,
                "lastModified": g.meta.last_modified,
                "version": entity_tag(&g.meta.version),
                "resourceType": "Group",
                "location": self.location("Groups", &g.id),
            }),
        );
        m
    }
}

/// What PATCH operates on: the client-writable attributes of a user.
pub fn writable_user(u: &StoredUser) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("userName".into(), json!(u.user_name));
    if let Some(name) = &u.name {
        m.insert("name".into(), Value::Object(name.clone()));
    }
    m.insert("displayName".into(), json!(u.display_name));
    m.insert("active".into(), json!(u.active));
    if let Some(e) = &u.external_id {
        m.insert("externalId".into(), json!(e));
    }
    if !u.emails.is_empty() {
        m.insert("emails".into(), Value::Array(u.emails.iter().cloned().map(Value::Object).collect()));
    }
    m.extend(u.opaque.clone());
    m
}

/// What PATCH operates on: the client-writable attributes of a group. Members carry their
/// user's `ocid` too, so a value filter may name a member by either.
pub fn writable_group(g: &StoredGroup, data: &OciData) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("displayName".into(), json!(g.display_name));
    if let Some(e) = &g.external_id {
        m.insert("externalId".into(), json!(e));
    }
    if !g.members.is_empty() {
        let ocids: HashMap<&str, &str> = data.users.iter().map(|u| (u.id.as_str(), u.ocid.as_str())).collect();
        let members = g
            .members
            .iter()
            .map(|id| {
                let mut member = json!({ "value": id, "type": "User" });
                if let Some(ocid) = ocids.get(id.as_str()) {
                    member["ocid"] = json!(ocid);
                }
                member
            })
            .collect();
        m.insert("members".into(), Value::Array(members));
    }
    if let Some(ext) = &g.extension {
        let mut e = Map::new();
        if let Some(d) = &ext.description {
            e.insert("description".into(), json!(d));
        }
        m.insert(GROUP_EXTENSION.into(), Value::Object(e));
    }
    m
}

// ---------------------------------------------------------------------------------------
// attributes / excludedAttributes (RFC 7644 section 3.9)
// ---------------------------------------------------------------------------------------

/// Applies `attributes` (keep only these, plus `id` and `schemas`) or `excludedAttributes`
/// (drop these; never `id` / `schemas`) to a rendered resource. Names are attribute paths
/// (`name.givenName`, `members`, `urn:...:Group:description`); unknown names are ignored.
pub fn project(resource: Map<String, Value>, attributes: &[String], excluded: &[String], core_urn: &str) -> Map<String, Value> {
    let mut resource = resource;
    if !attributes.is_empty() {
        let mut out = Map::new();
        for key in ["schemas", "id"] {
            if let Some(v) = resource.get(key) {
                out.insert(key.into(), v.clone());
            }
        }
        for a in attributes {
            let Some((key, sub)) = resolve_top(&resource, a, core_urn) else {
                continue;
            };
            let Some(v) = resource.get(&key) else {
                continue;
            };
            match sub {
                None => {
                    out.insert(key, v.clone());
                }
                Some(sub) => {
                    let picked = pick_sub(v, &sub);
                    match (out.get_mut(&key), picked) {
                        (Some(existing), Some(picked)) => merge_picked(existing, picked),
                        (None, Some(picked)) => {
                            out.insert(key, picked);
                        }
                        (_, None) => {}
                    }
                }
            }
        }
        resource = out;
    }
    for a in excluded {
        let Some((key, sub)) = resolve_top(&resource, a, core_urn) else {
            continue;
        };
        if key == "id" || key == "schemas" {
            continue;
        }
        match sub {
            None => {
                resource.remove(&key);
            }
            Some(sub) => match resource.get_mut(&key) {
                Some(Value::Object(o)) => {
                    if let Some(k) = key_ci(o, &sub) {
                        o.remove(&k);
                    }
                }
                Some(Value::Array(items)) => {
                    for i in items.iter_mut() {
                        if let Value::Object(o) = i {
                            if let Some(k) = key_ci(o, &sub) {
                                o.remove(&k);
                            }
                        }
                    }
                }
                _ => {}
            },
        }
    }
    resource
}

/// The top-level key a projection name refers to, and the sub-attribute when it has one.
fn resolve_top(resource: &Map<String, Value>, name: &str, core_urn: &str) -> Option<(String, Option<String>)> {
    let name = name.trim();
    if let Some(k) = key_ci(resource, name) {
        return Some((k, None));
    }
    let path = AttrPath::parse(name).ok()?;
    match &path.urn {
        Some(urn) if !urn.eq_ignore_ascii_case(core_urn) => {
            let k = key_ci(resource, urn)?;
            Some((k, Some(path.attr.clone())))
        }
        _ => Some((key_ci(resource, &path.attr)?, path.sub.clone())),
    }
}

fn pick_sub(v: &Value, sub: &str) -> Option<Value> {
    match v {
        Value::Object(o) => {
            let k = key_ci(o, sub)?;
            let mut m = Map::new();
            m.insert(k.clone(), o[&k].clone());
            Some(Value::Object(m))
        }
        Value::Array(items) => Some(Value::Array(items.iter().map(|i| pick_sub(i, sub).unwrap_or_else(|| json!({}))).collect())),
        _ => None,
    }
}

fn merge_picked(existing: &mut Value, picked: Value) {
    match (existing, picked) {
        (Value::Object(e), Value::Object(p)) => e.extend(p),
        (Value::Array(e), Value::Array(p)) => {
            for (a, b) in e.iter_mut().zip(p) {
                merge_picked(a, b);
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------
// Request validation
// ---------------------------------------------------------------------------------------

fn invalid(detail: impl Into<String>) -> ScimError {
    ScimError::bad_request("invalidValue", detail)
}

fn opt_string(obj: &Map<String, Value>, key: &str) -> Result<Option<String>, ScimError> {
    match get_ci(obj, key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(invalid(format!("Attribute \"{key}\" must be a string, got {other}."))),
    }
}

fn opt_bool(obj: &Map<String, Value>, key: &str) -> Result<Option<bool>, ScimError> {
    match get_ci(obj, key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(invalid(format!("Attribute \"{key}\" must be a boolean, got {other}."))),
    }
}

/// A non-empty `schemas` list that contains `urn` (case-insensitively).
pub fn require_schema(obj: &Map<String, Value>, urn: &str) -> Result<(), ScimError> {
    let ok = match get_ci(obj, "schemas") {
        Some(Value::Array(items)) => items.iter().any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(urn))),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(ScimError::bad_request("invalidSyntax", format!("The request body must have \"schemas\" containing \"{urn}\".")))
    }
}

/// The password policy: at least [`MIN_PASSWORD_CHARS`] characters.
pub fn check_password(password: &str) -> Result<(), ScimError> {
    if password.chars().count() < MIN_PASSWORD_CHARS { Err(ScimError::password_policy()) } else { Ok(()) }
}

/// A validated User body (POST, PUT, or the result of a PATCH).
#[derive(Debug)]
pub struct UserInput {
    user_name: String,
    name: Option<Map<String, Value>>,
    display_name: Option<String>,
    active: bool,
    external_id: Option<String>,
    emails: Vec<Map<String, Value>>,
    opaque: Map<String, Value>,
    /// Only whether one was given; the text is checked and dropped.
    password_given: bool,
}

impl UserInput {
    pub fn parse(obj: &Map<String, Value>) -> Result<UserInput, ScimError> {
        let user_name =
            opt_string(obj, "userName")?.filter(|s| !s.trim().is_empty()).ok_or_else(|| invalid("Attribute \"userName\" is required."))?;
        let name = match get_ci(obj, "name") {
            None | Some(Value::Null) => None,
            Some(Value::Object(n)) => {
                let mut name = Map::new();
                for (k, v) in n {
                    match v {
                        Value::Null => {}
                        Value::String(_) => {
                            name.insert(k.clone(), v.clone());
                        }
                        other => {
                            return Err(invalid(format!("Attribute \"name.{k}\" must be a string, got {other}.")));
                        }
                    }
                }
                (!name.is_empty()).then_some(name)
            }
            Some(other) => {
                return Err(invalid(format!("Attribute \"name\" must be an object, got {other}.")));
            }
        };
        let display_name = opt_string(obj, "displayName")?.filter(|s| !s.trim().is_empty());
        let active = opt_bool(obj, "active")?.unwrap_or(true);
        let external_id = opt_string(obj, "externalId")?;
        let emails = parse_emails(get_ci(obj, "emails"))?;
        let opaque = opaque_user_attributes(obj)?;
        let password_given = match get_ci(obj, "password") {
            None | Some(Value::Null) => false,
            Some(Value::String(p)) => {
                check_password(p)?;
                true
            }
            Some(_) => return Err(invalid("Attribute \"password\" must be a string.")),
        };
        Ok(UserInput { user_name, name, display_name, active, external_id, emails, opaque, password_given })
    }

    /// `displayName` as given, else "givenName familyName", else the userName.
    fn effective_display_name(&self) -> String {
        if let Some(d) = &self.display_name {
            return d.clone();
        }
        let formatted =
            self.name.as_ref().map(rendered_name).and_then(|n| get_ci(&n, "formatted").and_then(Value::as_str).map(str::to_string));
        formatted.filter(|f| !f.trim().is_empty()).unwrap_or_else(|| self.user_name.clone())
    }
}

/// Emails: each needs a string `value` (lower-cased); `type` a string; `primary`,
/// `secondary`, `verified` booleans (the last two default to false). At most one primary.
/// A primary email without any `recovery` email gets a recovery copy appended.
fn parse_emails(v: Option<&Value>) -> Result<Vec<Map<String, Value>>, ScimError> {
    let items = match v {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(invalid(format!("Attribute \"emails\" must be an array, got {other}.")));
        }
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let Value::Object(e) = item else {
            return Err(invalid(format!("Attribute \"emails[{i}]\" must be an object, got {item}.")));
        };
        let value = opt_string(e, "value")?
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| invalid(format!("Attribute \"emails[{i}].value\" is required.")))?;
        let mut m = Map::new();
        m.insert("value".into(), json!(value.trim().to_lowercase()));
        if let Some(t) = opt_string(e, "type")? {
            m.insert("type".into(), json!(t));
        }
        if let Some(p) = opt_bool(e, "primary")? {
            m.insert("primary".into(), json!(p));
        }
        m.insert("secondary".into(), json!(opt_bool(e, "secondary")?.unwrap_or(false)));
        m.insert("verified".into(), json!(opt_bool(e, "verified")?.unwrap_or(false)));
        if let Some(d) = opt_string(e, "display")? {
            m.insert("display".into(), json!(d));
        }
        out.push(m);
    }
    let primaries: Vec<&Map<String, Value>> = out.iter().filter(|e| e.get("primary") == Some(&Value::Bool(true))).collect();
    if primaries.len() > 1 {
        return Err(invalid("At most one email may be primary."));
    }
    let has_recovery = out.iter().any(|e| e.get("type").and_then(Value::as_str).is_some_and(|t| t.eq_ignore_ascii_case("recovery")));
    if let (Some(primary), false) = (primaries.first(), has_recovery) {
        let recovery = json!({
            "value": primary["value"],
            "type": "recovery",
            "primary": false,
            "secondary": false,
            "verified": false,
        });
        if let Value::Object(r) = recovery {
            out.push(r);
        }
    }
    Ok(out)
}

/// A validated Group body (POST, PUT, or the result of a PATCH).
#[derive(Debug)]
pub struct GroupInput {
    display_name: String,
    external_id: Option<String>,
    /// Member values as sent (user id or ocid), in order.
    members: Vec<String>,
    extension: Option<GroupExtension>,
}

impl GroupInput {
    pub fn parse(obj: &Map<String, Value>) -> Result<GroupInput, ScimError> {
        let display_name = opt_string(obj, "displayName")?
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| invalid("Attribute \"displayName\" is required."))?;
        let external_id = opt_string(obj, "externalId")?;
        let members = match get_ci(obj, "members") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => {
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    let Value::Object(m) = item else {
                        return Err(invalid(format!("Attribute \"members[{i}]\" must be an object, got {item}.")));
                    };
                    let value = opt_string(m, "value")?.ok_or_else(|| invalid(format!("Attribute \"members[{i}].value\" is required.")))?;
                    if let Some(t) = opt_string(m, "type")? {
                        if !t.eq_ignore_ascii_case("User") {
                            return Err(invalid(format!("Member type \"{t}\" is not supported: members must be of type \"User\".")));
                        }
                    }
                    out.push(value);
                }
                out
            }
            Some(other) => {
                return Err(invalid(format!("Attribute \"members\" must be an array, got {other}.")));
            }
        };
        let extension = match get_ci(obj, GROUP_EXTENSION) {
            None | Some(Value::Null) => None,
            Some(Value::Object(e)) => Some(GroupExtension { description: opt_string(e, "description")? }),
            Some(other) => {
                return Err(invalid(format!("Attribute \"{GROUP_EXTENSION}\" must be an object, got {other}.")));
            }
        };
        Ok(GroupInput { display_name, external_id, members, extension })
    }
}

// ---------------------------------------------------------------------------------------
// Operations on the data
// ---------------------------------------------------------------------------------------

impl OciData {
    /// Restores invariants a hand-edited `--data` file may break: members that name no
    /// user, duplicate members.
    pub fn normalize(&mut self) {
        let ids: HashSet<String> = self.users.iter().map(|u| u.id.clone()).collect();
        for g in &mut self.groups {
            let mut seen = HashSet::new();
            g.members.retain(|m| ids.contains(m) && seen.insert(m.clone()));
        }
    }

    /// The index of the user whose id or ocid is `key`.
    pub fn user_index(&self, key: &str) -> Option<usize> {
        self.users.iter().position(|u| u.id == key || u.ocid == key)
    }

    pub fn group_index(&self, key: &str) -> Option<usize> {
        self.groups.iter().position(|g| g.id == key || g.ocid == key)
    }

    pub fn user_or_404(&self, key: &str) -> Result<usize, ScimError> {
        self.user_index(key).ok_or_else(|| ScimError::not_found("User", key))
    }

    pub fn group_or_404(&self, key: &str) -> Result<usize, ScimError> {
        self.group_index(key).ok_or_else(|| ScimError::not_found("Group", key))
    }

    fn check_user_name(&self, user_name: &str, except: Option<usize>) -> Result<(), ScimError> {
        let taken = self.users.iter().enumerate().any(|(i, u)| Some(i) != except && same_name(&u.user_name, user_name));
        if taken { Err(ScimError::uniqueness(format!("A user with userName \"{user_name}\" already exists."))) } else { Ok(()) }
    }

    fn check_group_name(&self, name: &str, except: Option<usize>) -> Result<(), ScimError> {
        let taken = self.groups.iter().enumerate().any(|(i, g)| Some(i) != except && same_name(&g.display_name, name));
        if taken { Err(ScimError::uniqueness(format!("A group with displayName \"{name}\" already exists."))) } else { Ok(()) }
    }

    /// Member values (ids or ocids) as user ids, without duplicates; 400 for an unknown one.
    fn resolve_members(&self, values: &[String]) -> Result<Vec<String>, ScimError> {
        let by_key: HashMap<&str, &str> =
            self.users.iter().flat_map(|u| [(u.id.as_str(), u.id.as_str()), (u.ocid.as_str(), u.id.as_str())]).collect();
        let mut seen = HashSet::new();
        let mut out: Vec<String> = Vec::new();
        for v in values {
            let id = by_key
                .get(v.as_str())
                .ok_or_else(|| invalid(format!("Member \"{v}\" is not a valid user: no user has this id or ocid.")))?;
            if seen.insert(*id) {
                out.push((*id).to_string());
            }
        }
        Ok(out)
    }

    /// POST /Users; returns the new user's index.
    pub fn create_user(&mut self, body: &Map<String, Value>, now: DateTime<Utc>) -> Result<usize, ScimError> {
        require_schema(body, USER_SCHEMA)?;
        let input = UserInput::parse(body)?;
        self.check_user_name(&input.user_name, None)?;
        let user = StoredUser {
            id: random_hex(16),
            ocid: new_ocid("user"),
            display_name: input.effective_display_name(),
            user_name: input.user_name,
            name: input.name,
            active: input.active,
            external_id: input.external_id,
            emails: input.emails,
            opaque: input.opaque,
            meta: StoredMeta::new(now),
            password_changes: u64::from(input.password_given),
            password_set: input.password_given,
        };
        self.users.push(user);
        Ok(self.users.len() - 1)
    }

    /// Replaces the writable attributes of user `i` with a validated body (PUT, PATCH),
    /// when `cond` holds for its version.
    pub fn set_user(&mut self, i: usize, input: UserInput, now: DateTime<Utc>, cond: &Preconditions) -> Result<(), ScimError> {
        self.check_user_name(&input.user_name, Some(i))?;
        cond.check_change(&self.users[i].meta.version)?;
        let display_name = input.effective_display_name();
        let u = &mut self.users[i];
        u.user_name = input.user_name;
        u.name = input.name;
        u.display_name = display_name;
        u.active = input.active;
        u.external_id = input.external_id;
        u.emails = input.emails;
        u.opaque = input.opaque;
        if input.password_given {
            u.password_changes += 1;
            u.password_set = true;
        }
        u.meta.touch(now);
        Ok(())
    }

    /// DELETE /Users/{id}: also leaves every group.
    pub fn delete_user(&mut self, key: &str) -> Result<(), ScimError> {
        let i = self.user_or_404(key)?;
        let user = self.users.remove(i);
        for g in &mut self.groups {
            g.members.retain(|m| *m != user.id);
        }
        Ok(())
    }

    /// PUT /UserPasswordChanger/{id}: only counts (the text is never kept).
    pub fn change_password(&mut self, key: &str, body: &Map<String, Value>) -> Result<usize, ScimError> {
        let i = self.user_or_404(key)?;
        require_schema(body, super::PASSWORD_CHANGER_SCHEMA)?;
        match get_ci(body, "password") {
            Some(Value::String(p)) => check_password(p)?,
            _ => {
                return Err(invalid("Attribute \"password\" is required and must be a string."));
            }
        }
        let u = &mut self.users[i];
        u.password_changes += 1;
        u.password_set = true;
        Ok(i)
    }

    /// POST /Groups; returns the new group's index.
    pub fn create_group(&mut self, body: &Map<String, Value>, now: DateTime<Utc>) -> Result<usize, ScimError> {
        require_schema(body, GROUP_SCHEMA)?;
        let input = GroupInput::parse(body)?;
        self.check_group_name(&input.display_name, None)?;
        let members = self.resolve_members(&input.members)?;
        self.groups.push(StoredGroup {
            id: random_hex(16),
            ocid: new_ocid("group"),
            display_name: input.display_name,
            external_id: input.external_id,
            members,
            extension: input.extension,
            meta: StoredMeta::new(now),
        });
        Ok(self.groups.len() - 1)
    }

    /// Replaces the writable attributes of group `i` with a validated body (PUT, PATCH),
    /// when `cond` holds for its version.
    pub fn set_group(&mut self, i: usize, input: GroupInput, now: DateTime<Utc>, cond: &Preconditions) -> Result<(), ScimError> {
        self.check_group_name(&input.display_name, Some(i))?;
        let members = self.resolve_members(&input.members)?;
        cond.check_change(&self.groups[i].meta.version)?;
        let g = &mut self.groups[i];
        g.display_name = input.display_name;
        g.external_id = input.external_id;
        g.members = members;
        g.extension = input.extension;
        g.meta.touch(now);
        Ok(())
    }

    pub fn delete_group(&mut self, key: &str) -> Result<(), ScimError> {
        let i = self.group_or_404(key)?;
        self.groups.remove(i);
        Ok(())
    }
}

/// Whether two names are the same ignoring case (`to_lowercase` equality), without
/// allocating for ASCII names: a create in a domain of 50,000 users compares its name with
/// every other.
fn same_name(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() { a.eq_ignore_ascii_case(b) } else { a.to_lowercase() == b.to_lowercase() }
}

#[cfg(test)]
mod name_tests {
    use super::same_name;

    #[test]
    fn names_compare_ignoring_case_ascii_or_not() {
        assert!(same_name("Jane.Doe@Example.com", "jane.doe@example.com"));
        assert!(!same_name("jane", "janet"));
        assert!(same_name("ÉMILE", "émile"));
        // The Kelvin sign lowercases to an ASCII `k`: the slow path catches it.
        assert!(same_name("\u{212A}elvin", "kelvin"));
    }
}
