//! Crash consistency: `terraform apply` killed with SIGKILL (Terraform and the provider,
//! the whole process group) partway through, at several points, then recovered.
//!
//! The configuration holds 30 SCIM users, 3 groups of 10 members each and 2 Run:ai
//! identity providers; the sandbox delays every vendor request so that the apply is
//! still running when the kill point is reached (detected by polling the sandbox's
//! objects). Each kill point runs against its own sandbox, all in parallel.
//!
//! After the kill, what happens next depends on what Terraform had persisted: objects
//! that exist on the server but not in the state (Terraform's local backend writes the
//! state periodically and at the end, not after every object) make the next apply fail
//! with a 409 whose diagnostic carries the exact `terraform import` command (and the
//! `import` block). The test checks that the orphans are exactly the objects on the
//! server missing from the state, that each gets the right command and id, runs two of
//! the commands as printed and the rest as the suggested import blocks, and then
//! requires convergence: a successful apply, an empty plan, the server holding exactly
//! the expected objects (no duplicates, none missing, the right members), and, for the
//! last kill point, a clean destroy. Objects in the state are simply kept.

use crate::support;

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use regex::Regex;
use serde_json::{Value, json};
use support::{Sandbox, Workspace};

const USERS: usize = 30;
const GROUPS: usize = 3;
const PER_GROUP: usize = 10;
const IDPS: usize = 2;

const CONFIG: &str = r#"
# Creating a user with a password takes two requests (the user, then its password), so a
# user exists on the server a while before Terraform learns its id.
resource "identity_scim_user" "u" {
  count       = 30
  user_name   = format("crash-user-%02d", count.index)
  given_name  = "Crash"
  family_name = format("User %02d", count.index)
  password_wo = "Crash-Test-Passw0rd-${count.index}"
}

# Groups one after the other, so that a kill point falls between two of them.
resource "identity_scim_group" "g0" {
  display_name = "crash-group-0"
  members      = [for i in range(0, 10) : identity_scim_user.u[i].id]
}

resource "identity_scim_group" "g1" {
  display_name = "crash-group-1"
  members      = [for i in range(10, 20) : identity_scim_user.u[i].id]
  depends_on   = [identity_scim_group.g0]
}

resource "identity_scim_group" "g2" {
  display_name = "crash-group-2"
  members      = [for i in range(20, 30) : identity_scim_user.u[i].id]
  depends_on   = [identity_scim_group.g1]
}

resource "identity_idp" "i" {
  count = 2
  name  = "crash-idp-${count.index}"
  type  = "oidc"
  oidc = {
    client_id             = "runai"
    client_secret_wo      = "crash-test-secret"
    discover_document_url = "https://login.example.com/.well-known/openid-configuration"
  }
}
"#;

/// Every address of the configuration with the natural key of its object:
/// `identity_scim_user.u[3]` -> ("identity_scim_user", "crash-user-03").
fn expected() -> BTreeMap<String, (&'static str, String)> {
    let mut m = BTreeMap::new();
    for i in 0..USERS {
        m.insert(format!("identity_scim_user.u[{i}]"), ("identity_scim_user", format!("crash-user-{i:02}")));
    }
    for i in 0..GROUPS {
        m.insert(format!("identity_scim_group.g{i}"), ("identity_scim_group", format!("crash-group-{i}")));
    }
    for i in 0..IDPS {
        m.insert(format!("identity_idp.i[{i}]"), ("identity_idp", format!("crash-idp-{i}")));
    }
    m
}

/// What the server holds: natural key -> (type, id), plus group members (user names).
struct ServerObjects {
    objects: BTreeMap<String, (&'static str, String)>,
    members: BTreeMap<String, BTreeSet<String>>,
    /// Every stored name, duplicates included (to catch them).
    all_names: Vec<String>,
}

fn server_objects(sb: &Sandbox) -> ServerObjects {
    let state = sb.state();
    let list = |v: &Value| v.as_array().cloned().unwrap_or_default();
    let mut objects = BTreeMap::new();
    let mut all_names = Vec::new();
    let mut user_name_by_id = BTreeMap::new();
    for u in list(&state["oci"]["users"]) {
        let (name, id) = (u["userName"].as_str().unwrap_or_default().to_string(), u["id"].as_str().unwrap_or_default().to_string());
        user_name_by_id.insert(id.clone(), name.clone());
        all_names.push(name.clone());
        objects.insert(name, ("identity_scim_user", id));
    }
    let mut members = BTreeMap::new();
    for g in list(&state["oci"]["groups"]) {
        let (name, id) = (g["displayName"].as_str().unwrap_or_default().to_string(), g["id"].as_str().unwrap_or_default().to_string());
        let m: BTreeSet<String> = list(&g["members"])
            .iter()
            .filter_map(|m| m["value"].as_str())
            .map(|id| user_name_by_id.get(id).cloned().unwrap_or_else(|| format!("<unknown user {id}>")))
            .collect();
        members.insert(name.clone(), m);
        all_names.push(name.clone());
        objects.insert(name, ("identity_scim_group", id));
    }
    for alias in sb.runai_aliases() {
        all_names.push(alias.clone());
        objects.insert(alias.clone(), ("identity_idp", alias));
    }
    ServerObjects { objects, members, all_names }
}

/// Addresses in `terraform.tfstate` (none when there is no state file, or an empty one:
/// the local backend creates the file when it takes the lock).
fn state_addresses(ws: &Workspace) -> BTreeSet<String> {
    let text = std::fs::read_to_string(ws.dir().join("terraform.tfstate")).unwrap_or_default();
    if text.trim().is_empty() {
        return BTreeSet::new();
    }
    let state: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("terraform.tfstate is not JSON after the kill ({e}):\n{text}"));
    let mut out = BTreeSet::new();
    for r in state["resources"].as_array().cloned().unwrap_or_default() {
        if r["mode"] != "managed" {
            continue;
        }
        let base = format!("{}.{}", r["type"].as_str().unwrap_or_default(), r["name"].as_str().unwrap_or_default());
        for inst in r["instances"].as_array().cloned().unwrap_or_default() {
            match &inst["index_key"] {
                Value::Number(n) => out.insert(format!("{base}[{n}]")),
                Value::String(s) => out.insert(format!("{base}[{s:?}]")),
                _ => out.insert(base.clone()),
            };
        }
    }
    out
}

/// Terraform's local backend rewrites `terraform.tfstate` in place, so a SIGKILL can land
/// in the middle of a write and leave a truncated file (no provider can prevent that).
/// What a user does then is what this does: put back `terraform.tfstate.backup` (the state
/// from before this apply), or start from no state when there is no backup. The objects
/// the restored state lacks are then orphans like any other, and the recovery is checked
/// the same way. Returns whether the state was torn.
fn restore_torn_state(ws: &Workspace) -> bool {
    let path = ws.dir().join("terraform.tfstate");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    if text.trim().is_empty() || serde_json::from_str::<Value>(&text).is_ok() {
        return false;
    }
    let backup = ws.dir().join("terraform.tfstate.backup");
    let restored = std::fs::read_to_string(&backup).ok().filter(|b| serde_json::from_str::<Value>(b).is_ok());
    match restored {
        Some(b) => std::fs::write(&path, b).expect("restore the state backup"),
        None => std::fs::remove_file(&path).expect("remove the torn state"),
    }
    true
}

/// Whether any process of the group is still alive.
fn group_alive(pgid: u32) -> bool {
    Command::new("kill").args(["-0", "--", &format!("-{pgid}")]).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

/// SIGKILL to the whole process group (Terraform and the provider it started).
fn kill_group(pgid: u32) {
    let status = Command::new("kill").args(["-KILL", "--", &format!("-{pgid}")]).status().expect("run kill");
    assert!(status.success(), "kill -KILL -{pgid} failed: {status}");
}

/// Starts `terraform apply` in its own process group, output into files of the workspace.
fn spawn_apply(ws: &Workspace, parallelism: u32) -> Child {
    let out = File::create(ws.dir().join("killed-apply.stdout")).expect("stdout file");
    let err = File::create(ws.dir().join("killed-apply.stderr")).expect("stderr file");
    let parallelism = format!("-parallelism={parallelism}");
    let mut cmd = ws.command(&["apply", "-auto-approve", "-input=false", "-no-color", &parallelism]);
    cmd.stdout(out).stderr(err).process_group(0);
    cmd.spawn().expect("start terraform apply")
}

/// One `Error:` diagnostic of the output: its summary, the address it names and the text.
struct Diag {
    summary: String,
    addr: Option<String>,
    text: String,
}

fn diagnostics(output: &str) -> Vec<Diag> {
    let lines: Vec<String> = output.lines().map(|l| l.trim_start_matches(['│', '╷', '╵']).trim_start_matches(' ').to_string()).collect();
    let mut out: Vec<Diag> = Vec::new();
    for l in &lines {
        if let Some(summary) = l.strip_prefix("Error: ") {
            out.push(Diag { summary: summary.to_string(), addr: None, text: String::new() });
        }
        if let Some(d) = out.last_mut() {
            d.text.push_str(l);
            d.text.push('\n');
            if d.addr.is_none() {
                if let Some(rest) = l.strip_prefix("with ") {
                    d.addr = Some(rest.trim_end_matches(',').to_string());
                }
            }
        }
    }
    out
}

/// What one kill point did, for the report.
#[derive(Debug)]
struct Outcome {
    kill_point: &'static str,
    torn_state: bool,
    on_server_at_kill: usize,
    in_state_at_kill: usize,
    orphans: usize,
    second_apply: &'static str,
}

/// Where to kill the first apply, and how slowly it runs until then.
struct KillPoint {
    name: &'static str,
    reached: fn(&ServerObjects) -> bool,
    /// `-parallelism` of the first apply.
    parallelism: u32,
    /// Delay of every vendor request during the first apply.
    delay_ms: u64,
}

fn run_kill_point(kp: &KillPoint) -> Outcome {
    let kill_point = kp.name;
    let sb = Sandbox::start();
    let ws = Workspace::new(&sb);
    ws.write_main(CONFIG);
    let expected = expected();

    // 1. Apply slowly and kill everything at the kill point.
    sb.set_faults(json!({"rate": 0, "delay_ms": kp.delay_ms}));
    let mut child = spawn_apply(&ws, kp.parallelism);
    let pgid = child.id();
    let started = Instant::now();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            let out = std::fs::read_to_string(ws.dir().join("killed-apply.stdout")).unwrap_or_default();
            let err = std::fs::read_to_string(ws.dir().join("killed-apply.stderr")).unwrap_or_default();
            panic!("{kill_point}: the apply ended ({status}) before the kill point was reached; raise its delay\n{out}\n{err}");
        }
        if (kp.reached)(&server_objects(&sb)) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "{kill_point}: not reached within 120 s");
        thread::sleep(Duration::from_millis(20));
    }
    kill_group(pgid);
    let status = child.wait().expect("wait for the killed terraform");
    assert!(status.code().is_none(), "{kill_point}: terraform was killed by a signal, not {status}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while group_alive(pgid) {
        assert!(Instant::now() < deadline, "{kill_point}: processes of group {pgid} (the provider) survived SIGKILL");
        thread::sleep(Duration::from_millis(20));
    }
    // Requests the dead provider had in flight are answered, or dropped, by now.
    thread::sleep(Duration::from_millis(kp.delay_ms + 100));
    sb.set_faults(json!({"rate": 0}));

    let at_kill = server_objects(&sb);
    let torn = restore_torn_state(&ws);
    if torn {
        eprintln!("{kill_point}: the kill tore terraform.tfstate mid-write; restored Terraform's backup, as a user would");
    }
    let in_state = state_addresses(&ws);
    let orphans: BTreeMap<String, String> = expected
        .iter()
        .filter(|(addr, (_, key))| at_kill.objects.contains_key(key) && !in_state.contains(*addr))
        .map(|(addr, (_, key))| (addr.clone(), at_kill.objects[key].1.clone()))
        .collect();
    for addr in &in_state {
        let (_, key) = &expected[addr];
        assert!(at_kill.objects.contains_key(key), "{kill_point}: {addr} is in the state but {key} is not on the server");
    }

    // 2. The second apply: converges, or names every orphan with its import command.
    let second = ws.run(&["apply", "-auto-approve", "-input=false", "-no-color"]);
    let second_apply = if orphans.is_empty() {
        assert_eq!(
            second.code,
            0,
            "{}",
            ws.report(&format!("{kill_point}: nothing was orphaned, the second apply must converge"), &second)
        );
        "converged"
    } else {
        assert_ne!(second.code, 0, "{}", ws.report(&format!("{kill_point}: {} orphans, yet the apply succeeded", orphans.len()), &second));
        let import_line = Regex::new(r"(?m)^\s*terraform import (\S+) (\S+)\s*$").expect("regex");
        let mut hinted: BTreeMap<String, String> = BTreeMap::new();
        for d in diagnostics(&second.combined()) {
            let addr = d.addr.clone().unwrap_or_else(|| panic!("{kill_point}: an error names no resource:\n{}", d.text));
            let (ty, key) = expected.get(&addr).unwrap_or_else(|| panic!("{kill_point}: an error about {addr}:\n{}", d.text));
            assert!(d.summary.ends_with("already exists"), "{kill_point}: {addr}: expected an \"already exists\" error, got:\n{}", d.text);
            assert!(
                d.text.contains(key.as_str()) || *ty == "identity_idp",
                "{kill_point}: {addr}: the error does not name {key}:\n{}",
                d.text
            );
            let caps =
                import_line.captures(&d.text).unwrap_or_else(|| panic!("{kill_point}: {addr}: no `terraform import` command:\n{}", d.text));
            assert_eq!(&caps[1], format!("{ty}.<name>"), "{kill_point}: {addr}: the command's address:\n{}", d.text);
            let id = caps[2].to_string();
            let block = format!("to = {ty}.<name>\nid = \"{id}\"");
            assert!(d.text.contains(&block), "{kill_point}: {addr}: no import block with the same id:\n{}", d.text);
            assert!(hinted.insert(addr.clone(), id).is_none(), "{kill_point}: two errors for {addr}");
        }
        assert_eq!(
            hinted.keys().collect::<Vec<_>>(),
            orphans.keys().collect::<Vec<_>>(),
            "{kill_point}: the 409 errors must name exactly the objects on the server that the state lacks"
        );
        for (addr, id) in &hinted {
            assert_eq!(id, &orphans[addr], "{kill_point}: {addr}: the suggested import ID is not the server's id");
        }

        // 3. Import as suggested: the first with the printed command (its `<name>` filled
        //    in with the address Terraform names), the rest with the printed import block.
        let mut blocks = String::new();
        for (n, (addr, id)) in hinted.iter().enumerate() {
            if n == 0 {
                ws.import(addr, id);
            } else {
                blocks.push_str(&format!("import {{\n  to = {addr}\n  id = \"{id}\"\n}}\n"));
            }
        }
        ws.write_file("imports.tf", &blocks);
        let third = ws.run(&["apply", "-auto-approve", "-input=false", "-no-color"]);
        assert_eq!(third.code, 0, "{}", ws.report(&format!("{kill_point}: the apply after the imports must converge"), &third));
        "409 with import commands"
    };

    // 4. Converged: an empty plan, and exactly the expected objects on the server.
    let plan = ws.plan(&[]);
    assert_eq!(plan.code, 0, "{}", ws.report(&format!("{kill_point}: the plan after recovery must be empty"), &plan));
    let after = server_objects(&sb);
    let mut names = after.all_names.clone();
    names.sort();
    let wanted: Vec<String> = expected.values().map(|(_, k)| k.clone()).collect::<BTreeSet<_>>().into_iter().collect();
    assert_eq!(names, wanted, "{kill_point}: the server must hold exactly the configured objects, once each");
    for g in 0..GROUPS {
        let want: BTreeSet<String> = (0..PER_GROUP).map(|i| format!("crash-user-{:02}", g * PER_GROUP + i)).collect();
        assert_eq!(after.members[&format!("crash-group-{g}")], want, "{kill_point}: members of crash-group-{g}");
    }
    let state_now = state_addresses(&ws);
    assert_eq!(state_now.iter().collect::<Vec<_>>(), expected.keys().collect::<Vec<_>>(), "{kill_point}: everything is in the state");
    for (addr, (ty, key)) in &expected {
        let id = ws.state_attr(addr, "id");
        let server_id = &after.objects[key];
        assert_eq!(
            (ty, id.as_str().unwrap_or_default()),
            (&server_id.0, server_id.1.as_str()),
            "{kill_point}: {addr} tracks the server's object"
        );
    }

    // 5. A clean destroy.
    ws.destroy();
    let left = server_objects(&sb);
    assert!(left.all_names.is_empty(), "{kill_point}: destroy left {:?}", left.all_names);

    Outcome {
        kill_point,
        torn_state: torn,
        on_server_at_kill: at_kill.objects.len(),
        in_state_at_kill: in_state.len(),
        orphans: orphans.len(),
        second_apply,
    }
}

fn users_on_server(s: &ServerObjects) -> usize {
    s.objects.values().filter(|(t, _)| *t == "identity_scim_user").count()
}

fn groups_on_server(s: &ServerObjects) -> usize {
    s.objects.values().filter(|(t, _)| *t == "identity_scim_group").count()
}

#[test]
fn apply_killed_at_several_points_recovers_without_duplicates() {
    let started = Instant::now();
    let kill_points = [
        KillPoint { name: "after about 5 user creates", reached: |s| users_on_server(s) >= 5, parallelism: 5, delay_ms: 400 },
        KillPoint { name: "after about 20 user creates", reached: |s| users_on_server(s) >= 20, parallelism: 5, delay_ms: 400 },
        KillPoint { name: "during the groups' creation", reached: |s| groups_on_server(s) >= 1, parallelism: 5, delay_ms: 200 },
    ];
    let outcomes: Vec<Outcome> = thread::scope(|scope| {
        let handles: Vec<_> = kill_points.iter().map(|kp| scope.spawn(move || run_kill_point(kp))).collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    });
    for o in &outcomes {
        eprintln!(
            "kill point {:?}: {} objects on the server, {} in the state{}, {} orphaned; second apply: {}",
            o.kill_point,
            o.on_server_at_kill,
            o.in_state_at_kill,
            if o.torn_state { " (torn by the kill, restored from the backup)" } else { "" },
            o.orphans,
            o.second_apply
        );
    }
    eprintln!("crash test took {:.1?}", started.elapsed());
    // The kill points are distinct moments of the apply.
    assert!(outcomes[0].on_server_at_kill < outcomes[1].on_server_at_kill, "{outcomes:?}");
    assert!(outcomes[2].on_server_at_kill >= USERS, "{outcomes:?}");
    // At the first two kill points the newest users exist on the server while their
    // password request is still delayed: Terraform cannot have them in its state yet.
    for o in &outcomes[..2] {
        assert!(o.orphans >= 1 && o.second_apply != "converged", "a user created just before the kill is orphaned: {o:?}");
    }
}
