//! `POST /Bulk` (RFC 7644 section 3.7): the operations run in order through
//! [`execute`](super::execute), `bulkId:<x>` references resolve to the ids of earlier
//! POSTs, `failOnErrors` stops early. Each operation is also logged (`"bulk": true`) while
//! the stats count the Bulk request once.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::error::scim_json;
use super::etag::Preconditions;
use super::filter::get_ci;
use super::model::{OciData, require_schema};
use super::request::{Ctx, Params, ScimRequest, parse_body};
use super::resources::{Outcome, Target, execute};
use super::{BULK_REQUEST_SCHEMA, BULK_RESPONSE_SCHEMA, SCIM_BASE, ScimError, SharedState};
use crate::sandbox::store::{LogEntry, mask_secrets};

/// The most operations one Bulk request may carry (413 beyond).
pub const MAX_BULK_OPERATIONS: usize = 1000;

/// Replaces `bulkId:<x>` strings (whole values) with the ids created earlier.
fn resolve_bulk_ids(v: &mut Value, ids: &HashMap<String, String>) -> Result<(), String> {
    match v {
        Value::String(s) => {
            if let Some(key) = s.strip_prefix("bulkId:") {
                *s = ids.get(key).cloned().ok_or_else(|| key.to_string())?;
            }
            Ok(())
        }
        Value::Array(items) => items.iter_mut().try_for_each(|i| resolve_bulk_ids(i, ids)),
        Value::Object(m) => m.values_mut().try_for_each(|i| resolve_bulk_ids(i, ids)),
        _ => Ok(()),
    }
}

fn unresolved_bulk_id(key: &str) -> ScimError {
    ScimError::new(
        StatusCode::CONFLICT,
        Some("invalidValue"),
        format!("bulkId \"{key}\" cannot be resolved: no earlier successful POST in this request has it."),
    )
}

/// Runs the operations of a Bulk request in order; returns the response operations and
/// a log entry per operation.
fn run_bulk(d: &mut OciData, ctx: &Ctx, ops: &[Value], fail_on_errors: Option<u64>) -> (Vec<Value>, Vec<LogEntry>) {
    let mut ids: HashMap<String, String> = HashMap::new();
    let mut results = Vec::new();
    let mut logs = Vec::new();
    let mut errors = 0u64;
    for (n, op) in ops.iter().enumerate() {
        let empty = Map::new();
        let op = op.as_object().unwrap_or(&empty);
        let method_raw = get_ci(op, "method").and_then(Value::as_str).unwrap_or("");
        let method_name = method_raw.to_ascii_uppercase();
        let bulk_id = get_ci(op, "bulkId").and_then(Value::as_str).map(str::to_string);
        let mut data = get_ci(op, "data").cloned();
        let raw_path = get_ci(op, "path").and_then(Value::as_str).unwrap_or("").to_string();

        // Resolve bulkId references in the path and the data.
        let mut path = raw_path.clone();
        let mut failure: Option<ScimError> = None;
        if let Some(at) = path.find("bulkId:") {
            let end = path[at..].find(['/', '?']).map_or(path.len(), |e| at + e);
            let key = path[at + "bulkId:".len()..end].to_string();
            match ids.get(&key) {
                Some(id) => path = format!("{}{}{}", &path[..at], id, &path[end..]),
                None => failure = Some(unresolved_bulk_id(&key)),
            }
        }
        if failure.is_none() {
            if let Some(data) = data.as_mut() {
                if let Err(key) = resolve_bulk_ids(data, &ids) {
                    failure = Some(unresolved_bulk_id(&key));
                }
            }
        }
        let (path_only, query) = match path.split_once('?') {
            Some((p, q)) => (p.to_string(), Some(q.to_string())),
            None => (path.clone(), None),
        };
        let params = Params::parse(query.as_deref());
        let method = match method_name.as_str() {
            "POST" => Some(Method::POST),
            "PUT" => Some(Method::PUT),
            "PATCH" => Some(Method::PATCH),
            "DELETE" => Some(Method::DELETE),
            _ => None,
        };
        let target = Target::parse(&path_only);
        // `version` acts as If-Match (RFC 7644 section 3.7); any other type is a 400.
        let cond = match get_ci(op, "version") {
            None | Some(Value::Null) => Preconditions::default(),
            Some(Value::String(v)) => Preconditions::if_match(v),
            Some(other) if failure.is_none() => {
                failure = Some(ScimError::bad_request("invalidSyntax", format!("Operations[{n}].version must be a string, got {other}.")));
                Preconditions::default()
            }
            Some(_) => Preconditions::default(),
        };

        let has_method = op.keys().any(|k| k.eq_ignore_ascii_case("method"));
        let result: Result<Outcome, ScimError> = match (failure, method, &target) {
            (Some(e), _, _) => Err(e),
            (None, None, _) => Err(ScimError::bad_request(
                "invalidSyntax",
                if has_method {
                    format!("Operations[{n}].method \"{method_raw}\" is not one of POST, PUT, PATCH, DELETE.")
                } else {
                    format!("Operations[{n}].method is required.")
                },
            )),
            (None, Some(_), None) => Err(ScimError::new(
                StatusCode::NOT_FOUND,
                None,
                if raw_path.is_empty() {
                    format!("Operations[{n}].path is required.")
                } else {
                    format!("Operations[{n}].path \"{raw_path}\" is not a SCIM resource path.")
                },
            )),
            (None, Some(m), Some(t)) => match &data {
                None => execute(d, ctx, &m, t, &params, None, &cond),
                Some(Value::Object(body)) => execute(d, ctx, &m, t, &params, Some(body), &cond),
                Some(_) => Err(ScimError::bad_request("invalidSyntax", format!("Operations[{n}].data must be an object."))),
            },
        };

        let mut entry = Map::new();
        entry.insert("method".into(), json!(method_name));
        if let Some(b) = &bulk_id {
            entry.insert("bulkId".into(), json!(b));
        }
        let status = match result {
            Ok(outcome) => {
                let status = outcome.status();
                if let Some(l) = outcome.location() {
                    entry.insert("location".into(), json!(l));
                }
                if let Some(v) = outcome.version() {
                    entry.insert("version".into(), json!(v));
                }
                if let (Some(b), Outcome::Resource { body, .. }) = (&bulk_id, &outcome) {
                    if method_name == "POST" {
                        if let Some(id) = body.get("id").and_then(Value::as_str) {
                            ids.insert(b.clone(), id.to_string());
                        }
                    }
                }
                entry.insert("status".into(), json!(status.as_u16().to_string()));
                if let Some(body) = outcome.projected(&params) {
                    entry.insert("response".into(), Value::Object(body));
                }
                status
            }
            Err(e) => {
                errors += 1;
                if method_name != "POST" {
                    if let Some(t) = &target {
                        entry.insert("location".into(), json!(format!("{}{SCIM_BASE}{}", ctx.base, t.path())));
                    }
                }
                entry.insert("status".into(), json!(e.status.as_u16().to_string()));
                entry.insert("response".into(), e.to_json());
                e.status
            }
        };
        results.push(Value::Object(entry));
        logs.push(LogEntry {
            method: method_name.clone(),
            path: format!("{SCIM_BASE}{path_only}"),
            query,
            status: status.as_u16(),
            body: data.map(|mut v| {
                mask_secrets(&mut v);
                v
            }),
            bulk: true,
            ..LogEntry::default()
        });
        if fail_on_errors.is_some_and(|limit| errors >= limit) {
            break;
        }
    }
    (results, logs)
}

/// The Bulk handler. Unlike the other SCIM routes it runs under the default context: users
/// keep their `groups` and answers have no member cap, whatever `--scim-no-user-groups` and
/// `--scim-max-members` say.
pub(super) async fn bulk(State(state): State<SharedState>, req: ScimRequest) -> Response {
    if req.method != Method::POST {
        return ScimError::method_not_allowed(&req.method, req.uri.path()).into_response();
    }
    let ctx = Ctx::new(&req.headers, &req.uri);
    let request = parse_body(req.body).and_then(|b| {
        require_schema(&b, BULK_REQUEST_SCHEMA)?;
        let ops = match get_ci(&b, "Operations") {
            Some(Value::Array(ops)) => ops.clone(),
            _ => {
                return Err(ScimError::bad_request("invalidSyntax", "The request body must have an \"Operations\" array."));
            }
        };
        if ops.len() > MAX_BULK_OPERATIONS {
            return Err(ScimError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                None,
                format!("A Bulk request may have at most {MAX_BULK_OPERATIONS} operations, this one has {}.", ops.len()),
            ));
        }
        let fail_on_errors = match get_ci(&b, "failOnErrors") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) if n.as_u64().is_some_and(|n| n >= 1) => n.as_u64(),
            Some(other) => {
                return Err(ScimError::bad_request("invalidValue", format!("\"failOnErrors\" must be a positive integer, got {other}.")));
            }
        };
        Ok((ops, fail_on_errors))
    });
    let (ops, fail_on_errors) = match request {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let (results, logs) = state.write(|d| Ok::<_, ScimError>(run_bulk(&mut d.oci, &ctx, &ops, fail_on_errors))).await.unwrap_or_default();
    for entry in logs {
        state.log_only(entry);
    }
    scim_json(
        StatusCode::OK,
        &json!({
            "schemas": [BULK_RESPONSE_SCHEMA],
            "Operations": results,
        }),
    )
}
