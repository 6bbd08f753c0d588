//! What the server must hold for each resource in a Terraform state: after every apply
//! the harness compares each resource of the state with the sandbox's stored objects
//! (`GET /_sandbox/state`, which the sandbox neither counts nor delays; for an independent
//! SCIM server, its users and groups), and after every
//! destroy it checks that the objects the state held are gone. One function per resource
//! type; a type without one fails the check, so a new resource cannot go unchecked.

use std::collections::BTreeSet;

use serde_json::Value;

/// Where the harness reads the server's objects from: the sandbox's stored objects, or
/// an independent SCIM server's users and groups through its own SCIM API (in the shape of
/// the sandbox's state, with the other vendors empty).
#[derive(Clone, Debug)]
pub enum ServerProbe {
    Sandbox { url: String, ca_pem: Option<String> },
    Scim { url: String, token: String },
}

impl ServerProbe {
    /// The server's objects, in the shape of `GET /_sandbox/state`.
    #[track_caller]
    pub fn state(&self) -> Value {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime for the server check");
        match self {
            ServerProbe::Sandbox { url, ca_pem } => {
                let url = format!("{url}/_sandbox/state");
                get_json(&rt, &url, ca_pem.as_deref(), None)
            }
            ServerProbe::Scim { url, token } => {
                let list = |collection: &str| -> Value {
                    let mut all = Vec::new();
                    loop {
                        let page = get_json(&rt, &format!("{url}{collection}?startIndex={}&count=100", all.len() + 1), None, Some(token));
                        let got = page["Resources"].as_array().cloned().unwrap_or_default();
                        let total = page["totalResults"].as_u64().unwrap_or(0) as usize;
                        let empty = got.is_empty();
                        all.extend(got);
                        if empty || all.len() >= total {
                            return Value::Array(all);
                        }
                    }
                };
                serde_json::json!({
                    "oci": {"users": list("/Users"), "groups": list("/Groups")},
                    "runai": {"idps": []},
                    "fudo": {"user_oidc": []},
                    "landscape": {"sessions": []},
                })
            }
        }
    }
}

#[track_caller]
fn get_json(rt: &tokio::runtime::Runtime, url: &str, ca_pem: Option<&str>, token: Option<&str>) -> Value {
    let result = rt.block_on(async {
        let mut b = reqwest::Client::builder().no_proxy().timeout(std::time::Duration::from_secs(30));
        if let Some(pem) = ca_pem {
            b = b.tls_certs_merge(reqwest::Certificate::from_pem_bundle(pem.as_bytes()).expect("the sandbox CA is PEM"));
        }
        let mut req = b.build()?.get(url);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        Ok::<_, reqwest::Error>((status, resp.text().await?))
    });
    let (status, text) = result.unwrap_or_else(|e| panic!("GET {url} failed: {e}"));
    assert_eq!(status, 200, "GET {url} answered {status}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("GET {url} is not JSON ({e}): {text}"))
}

/// A resource of a Terraform state: its address, type and values.
#[derive(Clone, Debug)]
pub struct StateResource {
    pub address: String,
    pub kind: String,
    pub values: Value,
}

/// The managed resources of `terraform show -json`'s state, modules included.
pub fn managed_resources(show: &Value) -> Vec<StateResource> {
    fn walk(module: &Value, out: &mut Vec<StateResource>) {
        for r in module["resources"].as_array().into_iter().flatten() {
            if r["mode"].as_str() == Some("managed") && r["type"].as_str().is_some_and(|t| t.starts_with("identity_")) {
                out.push(StateResource {
                    address: r["address"].as_str().unwrap_or_default().to_string(),
                    kind: r["type"].as_str().unwrap_or_default().to_string(),
                    values: r["values"].clone(),
                });
            }
        }
        for c in module["child_modules"].as_array().into_iter().flatten() {
            walk(c, out);
        }
    }
    let mut out = Vec::new();
    walk(&show["values"]["root_module"], &mut out);
    out
}

/// Every difference between the state's resources and the server (empty: they agree).
pub fn mismatches(server: &Value, resources: &[StateResource]) -> Vec<String> {
    resources.iter().filter_map(|r| matches_server(server, r).err().map(|e| format!("{}: {e}", r.address))).collect()
}

/// Every object of `resources` (a state before a destroy) still on the server.
pub fn leftovers(server: &Value, resources: &[StateResource]) -> Vec<String> {
    resources.iter().filter_map(|r| gone_from_server(server, r).err().map(|e| format!("{}: {e}", r.address))).collect()
}

fn array<'a>(v: &'a Value, what: &str) -> Result<&'a Vec<Value>, String> {
    v.as_array().ok_or_else(|| format!("the sandbox state has no list {what}: {v}"))
}

fn text(v: &Value) -> Option<&str> {
    v.as_str()
}

fn scim_user<'a>(server: &'a Value, id: &str) -> Result<Option<&'a Value>, String> {
    Ok(array(&server["oci"]["users"], "oci.users")?.iter().find(|u| u["id"].as_str() == Some(id)))
}

fn scim_group<'a>(server: &'a Value, id: &str) -> Result<Option<&'a Value>, String> {
    Ok(array(&server["oci"]["groups"], "oci.groups")?.iter().find(|g| g["id"].as_str() == Some(id)))
}

fn members(group: &Value) -> BTreeSet<String> {
    group["members"].as_array().into_iter().flatten().filter_map(|m| m["value"].as_str().map(str::to_string)).collect()
}

fn ids(v: &Value) -> BTreeSet<String> {
    v.as_array().into_iter().flatten().filter_map(|x| x.as_str().map(str::to_string)).collect()
}

/// The groups `user` is a member of, on the server.
fn groups_of(server: &Value, user: &str) -> Result<BTreeSet<String>, String> {
    Ok(array(&server["oci"]["groups"], "oci.groups")?
        .iter()
        .filter(|g| members(g).contains(user))
        .filter_map(|g| g["id"].as_str().map(str::to_string))
        .collect())
}

fn runai_idp<'a>(server: &'a Value, alias: &str) -> Result<Option<&'a Value>, String> {
    Ok(array(&server["runai"]["idps"], "runai.idps")?.iter().find(|i| i["alias"].as_str() == Some(alias)))
}

fn fudo_assignment<'a>(server: &'a Value, user_id: &str, oidc_id: &str) -> Result<Option<&'a Value>, String> {
    Ok(array(&server["fudo"]["user_oidc"], "fudo.user_oidc")?
        .iter()
        .find(|a| a["user_id"].as_str() == Some(user_id) && a["oidc_id"].as_str() == Some(oidc_id)))
}

/// `state == server` for one attribute, when the state has a value for it.
fn same(what: &str, state: &Value, server: &Value) -> Result<(), String> {
    if state.is_null() || state == server { Ok(()) } else { Err(format!("{what} is {state} in state but {server} on the server")) }
}

/// `ocid`: OCI IAM's own id. The provider shows `""` for a server that has none (any other
/// SCIM server); where the server has one, it must be the state's.
fn same_ocid(state: &Value, server: &Value) -> Result<(), String> {
    if server.is_null() && state.as_str().is_some_and(str::is_empty) { Ok(()) } else { same("ocid", state, server) }
}

fn str_of<'a>(values: &'a Value, key: &str) -> Result<&'a str, String> {
    values[key].as_str().ok_or_else(|| format!("`{key}` is not a string in state: {}", values[key]))
}

/// Whether the server holds what the state says about one resource.
pub fn matches_server(server: &Value, r: &StateResource) -> Result<(), String> {
    let v = &r.values;
    match r.kind.as_str() {
        "identity_scim_user" => {
            let id = str_of(v, "id")?;
            let u = scim_user(server, id)?.ok_or_else(|| format!("user {id} is not on the server"))?;
            same("user_name", &v["user_name"], &u["userName"])?;
            same("active", &v["active"], &u["active"])?;
            same_ocid(&v["ocid"], &u["ocid"])?;
            same("external_id", &v["external_id"], &u["externalId"])?;
            same("given_name", &v["given_name"], &u["name"]["givenName"])?;
            same("family_name", &v["family_name"], &u["name"]["familyName"])?;
            if text(&v["display_name"]).is_some_and(|d| !d.is_empty()) {
                same("display_name", &v["display_name"], &u["displayName"])?;
            }
            for e in v["emails"].as_array().into_iter().flatten() {
                let want = e["value"].as_str().unwrap_or_default().to_lowercase();
                let found = u["emails"].as_array().into_iter().flatten().find(|s| {
                    s["value"].as_str().is_some_and(|x| x.to_lowercase() == want) && (e["type"].is_null() || s["type"] == e["type"])
                });
                let found = found.ok_or_else(|| format!("email {e} is not on the server: {}", u["emails"]))?;
                if !e["primary"].is_null() {
                    same("emails[].primary", &e["primary"], &found["primary"])?;
                }
            }
            Ok(())
        }
        "identity_scim_group" => {
            let id = str_of(v, "id")?;
            let g = scim_group(server, id)?.ok_or_else(|| format!("group {id} is not on the server"))?;
            same("display_name", &v["display_name"], &g["displayName"])?;
            same_ocid(&v["ocid"], &g["ocid"])?;
            same("external_id", &v["external_id"], &g["externalId"])?;
            same("description", &v["description"], &g["urn:ietf:params:scim:schemas:oracle:idcs:extension:group:Group"]["description"])?;
            if !v["members"].is_null() {
                let (want, have) = (ids(&v["members"]), members(g));
                if want != have {
                    return Err(format!("members are {want:?} in state but {have:?} on the server"));
                }
            }
            Ok(())
        }
        "identity_scim_group_member" => {
            let (group, user) = (str_of(v, "group_id")?, str_of(v, "user_id")?);
            let g = scim_group(server, group)?.ok_or_else(|| format!("group {group} is not on the server"))?;
            if members(g).contains(user) { Ok(()) } else { Err(format!("user {user} is not a member of group {group} on the server")) }
        }
        "identity_scim_user_group_memberships" => {
            let user = str_of(v, "user_id")?;
            let have = groups_of(server, user)?;
            let want = ids(&v["group_ids"]);
            if let Some(missing) = want.difference(&have).next() {
                return Err(format!("user {user} is not a member of group {missing} on the server (member of {have:?})"));
            }
            if v["exclusive"].as_bool() == Some(true) && want != have {
                return Err(format!("exclusive: user {user} should be in exactly {want:?}, but is in {have:?} on the server"));
            }
            if !v["all_group_ids"].is_null() && ids(&v["all_group_ids"]) != have {
                return Err(format!("all_group_ids is {} in state but the user is in {have:?} on the server", v["all_group_ids"]));
            }
            Ok(())
        }
        "identity_idp" => {
            let alias = str_of(v, "alias")?;
            let idp = runai_idp(server, alias)?.ok_or_else(|| format!("idp {alias} is not on the server"))?;
            same("type", &v["type"], &idp["type"])?;
            same("redirect_uri", &v["redirect_uri"], &idp["redirectUri"])?;
            if !v["oidc"].is_null() {
                same("oidc.client_id", &v["oidc"]["client_id"], &idp["oidcData"]["clientId"])?;
                same("oidc.discover_document_url", &v["oidc"]["discover_document_url"], &idp["oidcData"]["discoverDocumentUrl"])?;
            }
            if !v["mappers"].is_null() {
                mappers_match(&v["mappers"], &idp["mappers"])?;
            }
            Ok(())
        }
        "identity_idp_mappers" => {
            let alias = str_of(v, "idp")?;
            let idp = runai_idp(server, alias)?.ok_or_else(|| format!("idp {alias} is not on the server"))?;
            mappers_match(v, &idp["mappers"])
        }
        "identity_user_oidc" => {
            let (user, oidc) = (str_of(v, "user_id")?, str_of(v, "oidc_id")?);
            let a = fudo_assignment(server, user, oidc)?.ok_or_else(|| format!("assignment {user}/{oidc} is not on the server"))?;
            same("oidc_sub", &v["oidc_sub"], &a["oidc_sub"])
        }
        "identity_oidc_group_import" => {
            let id: i64 = str_of(v, "id")?.parse().map_err(|e| format!("id is not a number: {e}"))?;
            let s = array(&server["landscape"]["sessions"], "landscape.sessions")?
                .iter()
                .find(|s| s["id"].as_i64() == Some(id))
                .ok_or_else(|| format!("import session {id} is not on the server"))?;
            same("issuer_id", &v["issuer_id"], &s["issuer_id"])?;
            same("account_id", &v["account_id"], &s["account_id"])
        }
        other => Err(format!("the harness has no server check for {other} (tests/support/server_check.rs)")),
    }
}

/// The mapper attributes of a state (`identity_idp.mappers` or `identity_idp_mappers`)
/// against the server's mappers; attributes the state leaves null are not compared.
fn mappers_match(state: &Value, server: &Value) -> Result<(), String> {
    for (attr, key) in
        [("email", "email"), ("gid", "gid"), ("groups", "groups"), ("supplementary_groups", "supplementaryGroups"), ("uid", "uid")]
    {
        same(&format!("mappers.{attr}"), &state[attr], &server[key])?;
    }
    Ok(())
}

/// Whether the object a state held for one resource is gone from the server (after a
/// destroy). Import sessions are records the server keeps: they are not checked.
pub fn gone_from_server(server: &Value, r: &StateResource) -> Result<(), String> {
    let v = &r.values;
    let still = |what: String| Err(format!("{what} is still on the server after destroy"));
    match r.kind.as_str() {
        "identity_scim_user" => match scim_user(server, str_of(v, "id")?)? {
            Some(_) => still(format!("user {}", v["id"])),
            None => Ok(()),
        },
        "identity_scim_group" => match scim_group(server, str_of(v, "id")?)? {
            Some(_) => still(format!("group {}", v["id"])),
            None => Ok(()),
        },
        "identity_scim_group_member" => {
            let (group, user) = (str_of(v, "group_id")?, str_of(v, "user_id")?);
            match scim_group(server, group)? {
                Some(g) if members(g).contains(user) => still(format!("membership of user {user} in group {group}")),
                _ => Ok(()),
            }
        }
        "identity_scim_user_group_memberships" => {
            let user = str_of(v, "user_id")?;
            let left: Vec<String> = groups_of(server, user)?.intersection(&ids(&v["group_ids"])).cloned().collect();
            if left.is_empty() { Ok(()) } else { still(format!("membership of user {user} in groups {left:?}")) }
        }
        "identity_idp" => match runai_idp(server, str_of(v, "alias")?)? {
            Some(_) => still(format!("idp {}", v["alias"])),
            None => Ok(()),
        },
        // Destroying the mappers resets them to empty; the idp itself may be gone too.
        "identity_idp_mappers" => match runai_idp(server, str_of(v, "idp")?)? {
            Some(idp) => {
                let set: Vec<&str> = ["email", "gid", "groups", "supplementaryGroups", "uid"]
                    .into_iter()
                    .filter(|k| idp["mappers"][k].as_str().is_some_and(|s| !s.is_empty()))
                    .collect();
                if set.is_empty() { Ok(()) } else { still(format!("mappers {set:?} of idp {}", v["idp"])) }
            }
            None => Ok(()),
        },
        "identity_user_oidc" => match fudo_assignment(server, str_of(v, "user_id")?, str_of(v, "oidc_id")?)? {
            Some(_) => still(format!("assignment {}/{}", v["user_id"], v["oidc_id"])),
            None => Ok(()),
        },
        "identity_oidc_group_import" => Ok(()),
        other => Err(format!("the harness has no server check for {other} (tests/support/server_check.rs)")),
    }
}
