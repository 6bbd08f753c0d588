//! The SCIM objects the provider manages, typed, and the one mapping between them and the
//! Terraform attributes that the resources, data sources and list resources share.
//!
//! - [`User`] and [`Group`] are the objects as the server sends them (RFC 7643) and as
//!   the provider sends them. Every attribute is optional here, whatever RFC 7643 requires:
//!   a server may leave any out (an answer to `attributes=id` or
//!   `excludedAttributes=members`, a server that derives no `displayName`), and what the
//!   provider sends sets only what it manages. Attributes the provider does not use are
//!   not modelled, and are ignored when read.
//! - [`UserAttributes`] and [`GroupAttributes`] are the attributes `identity_scim_user`
//!   and `identity_scim_users` (and `identity_scim_group` and `identity_scim_groups`)
//!   both have, named as in Terraform, with the one reading of a server's object
//!   (`from_api`) and the one writing of it (`to_api`). A resource's model and a data
//!   source's entry flatten them in, and add what only they have.
//! - [`create`]: a resource's create, written once for users and groups.
//!
//! A new attribute of a user (or group) is a field of [`User`] and of [`UserAttributes`],
//! its line in `from_api` and `to_api` (both name every field, so the compiler asks for
//! them), and its attribute in the resource's and the data source's schema. The create,
//! the read, the update (a `replace` of what is set, a `remove` of what the configuration
//! dropped, see [`super::client::PatchOperation`]) and the data source follow.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::client::{GROUP_EXTENSION, GROUP_SCHEMA, ScimClient, USER_SCHEMA};
use crate::tfplugin::timeouts::{self, TimedOut};
use crate::tfplugin::{ApplyRequest, Diagnostics};
use crate::vendors::failure::{already_exists, api_diag};

// ---------------------------------------------------------------------------------------
// The objects on the server
// ---------------------------------------------------------------------------------------

/// A kind of SCIM object: where its objects live, what names one, and how it is sent.
pub trait ScimObject: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    /// The collection, e.g. `/Users`.
    const COLLECTION: &'static str;
    /// The attribute that names an object uniquely (the server answers 409 for a taken
    /// one): the natural key a lost create is looked up by.
    const KEY: &'static str;
    /// What messages call one, e.g. "user".
    const NOUN: &'static str;
    /// The schema URNs a create sends.
    fn schemas(&self) -> Vec<&'static str>;
    /// The SCIM id.
    fn id(&self) -> Option<&str>;
    /// The value of [`ScimObject::KEY`].
    fn key(&self) -> Option<&str>;
}

/// A SCIM user (`urn:ietf:params:scim:schemas:core:2.0:User`), as far as the provider uses it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// OCI IAM's Oracle Cloud ID (absent on other servers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ocid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Name>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emails: Option<Vec<Email>>,
    /// The server's `meta`, read only (never sent).
    #[serde(default, skip_serializing, deserialize_with = "lenient_meta")]
    pub meta: Option<Meta>,
}

impl User {
    /// The version the server gave (`meta.version`), if any.
    pub fn version(&self) -> Option<&str> {
        self.meta.as_ref().and_then(|m| m.version.as_deref())
    }
}

impl Group {
    /// The version the server gave (`meta.version`), if any.
    pub fn version(&self) -> Option<&str> {
        self.meta.as_ref().and_then(|m| m.version.as_deref())
    }
}

/// Reads `meta` whatever its shape: only a text `version` is kept, and nothing else in it
/// (or a `meta` that is not an object) stops the object from being read.
fn lenient_meta<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Meta>, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    Ok(v.is_object().then(|| Meta { version: v.get("version").and_then(serde_json::Value::as_str).map(str::to_string) }))
}

/// What the provider uses of an object's `meta`: its version, the entity tag a
/// conditional update or delete sends back (RFC 7644 §3.14).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    #[serde(default)]
    pub version: Option<String>,
}

/// A user's `name`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Name {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
}

/// One of a user's `emails`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Email {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// `work`, `home`, `other`; OCI IAM adds `recovery`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
}

impl ScimObject for User {
    const COLLECTION: &'static str = "/Users";
    const KEY: &'static str = "userName";
    const NOUN: &'static str = "user";
    fn schemas(&self) -> Vec<&'static str> {
        vec![USER_SCHEMA]
    }
    fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }
    fn key(&self) -> Option<&str> {
        self.user_name.as_deref()
    }
}

/// A SCIM group (`urn:ietf:params:scim:schemas:core:2.0:Group`), with the description of
/// Oracle's group extension.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// OCI IAM's Oracle Cloud ID (absent on other servers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ocid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Absent when not asked for (`excludedAttributes=members`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<Member>>,
    /// Oracle's group extension ([`GROUP_EXTENSION`]), sent only when a description is set,
    /// so that plain SCIM servers work too.
    #[serde(rename = "urn:ietf:params:scim:schemas:oracle:idcs:extension:group:Group", skip_serializing_if = "Option::is_none")]
    pub oracle: Option<OracleGroup>,
    /// The server's `meta`, read only (never sent).
    #[serde(default, skip_serializing, deserialize_with = "lenient_meta")]
    pub meta: Option<Meta>,
}

/// One of a group's `members`: a user, or (`type` "Group") a nested group.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Member {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

impl Member {
    /// The user `id` as a member.
    pub fn user(id: &str) -> Self {
        Member { value: Some(id.to_string()), kind: Some("User".to_string()) }
    }
}

/// What the provider uses of Oracle's group extension.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OracleGroup {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl ScimObject for Group {
    const COLLECTION: &'static str = "/Groups";
    const KEY: &'static str = "displayName";
    const NOUN: &'static str = "group";
    fn schemas(&self) -> Vec<&'static str> {
        let mut schemas = vec![GROUP_SCHEMA];
        if self.oracle.is_some() {
            schemas.push(GROUP_EXTENSION);
        }
        schemas
    }
    fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }
    fn key(&self) -> Option<&str> {
        self.display_name.as_deref()
    }
}

// ---------------------------------------------------------------------------------------
// The objects in Terraform
// ---------------------------------------------------------------------------------------

/// The attributes of a user that `identity_scim_user` and `identity_scim_users` both have.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UserAttributes {
    pub id: Option<String>,
    pub ocid: Option<String>,
    pub user_name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub display_name: Option<String>,
    pub active: Option<bool>,
    pub external_id: Option<String>,
}

impl UserAttributes {
    /// What the server holds. An attribute the server left out is null, but for `ocid`
    /// (empty outside OCI IAM) and `active` (true, SCIM's default).
    pub fn from_api(u: &User) -> Self {
        let name = u.name.as_ref();
        UserAttributes {
            id: u.id.clone(),
            ocid: Some(u.ocid.clone().unwrap_or_default()),
            user_name: u.user_name.clone(),
            given_name: name.and_then(|n| n.given_name.clone()),
            family_name: name.and_then(|n| n.family_name.clone()),
            display_name: u.display_name.clone(),
            active: Some(u.active.unwrap_or(true)),
            external_id: u.external_id.clone(),
        }
    }

    /// The user to send: what is set (never `id` or `ocid`, which the server gives);
    /// `active` true unless set.
    pub fn to_api(&self) -> User {
        let name = (self.given_name.is_some() || self.family_name.is_some())
            .then(|| Name { given_name: self.given_name.clone(), family_name: self.family_name.clone() });
        User {
            id: None,
            ocid: None,
            user_name: self.user_name.clone(),
            name,
            display_name: self.display_name.clone(),
            active: Some(self.active.unwrap_or(true)),
            external_id: self.external_id.clone(),
            emails: None, // `identity_scim_user`'s own
            meta: None,
        }
    }
}

/// The attributes of a group that `identity_scim_group` and `identity_scim_groups` both
/// have.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GroupAttributes {
    pub id: Option<String>,
    pub ocid: Option<String>,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub external_id: Option<String>,
}

impl GroupAttributes {
    /// What the server holds. An attribute the server left out is null, but for `ocid`
    /// (empty outside OCI IAM).
    pub fn from_api(g: &Group) -> Self {
        GroupAttributes {
            id: g.id.clone(),
            ocid: Some(g.ocid.clone().unwrap_or_default()),
            display_name: g.display_name.clone(),
            description: g.oracle.as_ref().and_then(|o| o.description.clone()),
            external_id: g.external_id.clone(),
        }
    }

    /// The group to send, without members: what is set (never `id` or `ocid`); Oracle's
    /// extension only with a description.
    pub fn to_api(&self) -> Group {
        Group {
            id: None,
            ocid: None,
            display_name: self.display_name.clone(),
            external_id: self.external_id.clone(),
            members: None, // `identity_scim_group`'s own
            oracle: self.description.clone().map(|d| OracleGroup { description: Some(d) }),
            meta: None,
        }
    }
}

// ---------------------------------------------------------------------------------------
// A resource's create
// ---------------------------------------------------------------------------------------

/// Creates `obj` for the resource `type_name` within the apply's time limit: the object
/// as the server answered it (or the one adopted after a lost answer, see
/// [`ScimClient::create`]). When the name is taken, the error names the existing object
/// and how to import it.
pub(crate) async fn create<T: ScimObject>(c: &ScimClient, req: &ApplyRequest, obj: &T, type_name: &str) -> Result<T, Diagnostics> {
    match req.run(c.create(obj)).await {
        Ok(Ok(created)) => Ok(created),
        Ok(Err(e)) if e.is_conflict() => {
            let name = obj.key().unwrap_or_default();
            let existing = req.run(c.find_id::<T>(name)).await.ok().flatten();
            let what = format!("{}{} \"{name}\"", T::NOUN[..1].to_uppercase(), &T::NOUN[1..]);
            Err(already_exists(&e, type_name, existing.as_deref().unwrap_or("<id>"), &what))
        }
        Ok(Err(e)) => Err(api_diag(&format!("Unable to create {}", T::NOUN), &e)),
        Err(TimedOut) => Err(req.exceeded(&timeouts::create_unanswered(&format!("the {}", T::NOUN))).into()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn what_a_server_leaves_out_reads_as_absent_and_the_rest_is_ignored() {
        let u: User = serde_json::from_value(json!({"id": "u1", "schemas": [USER_SCHEMA], "meta": {"version": "1"}, "groups": []}))
            .expect("a user with only an id");
        assert_eq!(u, User { id: Some("u1".into()), meta: Some(Meta { version: Some("1".into()) }), ..User::default() });
        assert_eq!(u.version(), Some("1"), "the version is kept for If-Match");
        assert!(!serde_json::to_value(&u).expect("json").to_string().contains("meta"), "meta is never sent");
        let a = UserAttributes::from_api(&u);
        assert_eq!((a.ocid.as_deref(), a.active, a.display_name), (Some(""), Some(true), None));
        let g: Group = serde_json::from_value(json!({"id": "g1", "displayName": "eng", "members": [{"value": "u1", "display": "x"}],
            GROUP_EXTENSION: {"description": "d", "creationMechanism": "api"}}))
        .expect("a group");
        assert_eq!(g.members, Some(vec![Member { value: Some("u1".into()), kind: None }]));
        assert_eq!(GroupAttributes::from_api(&g).description.as_deref(), Some("d"));
    }

    #[test]
    fn what_is_sent_is_what_is_set() {
        let a =
            UserAttributes { id: Some("u1".into()), user_name: Some("ann".into()), given_name: Some("Ann".into()), ..Default::default() };
        assert_eq!(
            serde_json::to_value(a.to_api()).expect("json"),
            json!({"userName": "ann", "name": {"givenName": "Ann"}, "active": true})
        );
        let g = GroupAttributes { display_name: Some("eng".into()), description: Some("d".into()), ..Default::default() };
        let sent = g.to_api();
        assert_eq!(serde_json::to_value(&sent).expect("json"), json!({"displayName": "eng", GROUP_EXTENSION: {"description": "d"}}));
        assert_eq!(sent.schemas(), [GROUP_SCHEMA, GROUP_EXTENSION]);
        assert_eq!(GroupAttributes { description: None, ..g }.to_api().schemas(), [GROUP_SCHEMA]);
    }
}
