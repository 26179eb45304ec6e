//! createReplica attempts through the real binary: the clean-up after a lost reply removes only
//! the replicas its own attempt registered (two laptops creating the same name at once both keep
//! theirs), and a create killed mid-way is cleaned up by the next run of the same command.

use crate::support::cli::Cli;
use serde_json::{Value, json};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};
use syncwatch::engine::{CRASH_AT_ENV, CRASH_EXIT_CODE};
use syncwatch::protocol::Guid;

fn create_args<'a>(service: &'a str, name: &'a str, is_async: bool) -> Vec<&'a str> {
    let mut args = vec![
        "create",
        "--service",
        service,
        "--name",
        name,
        "--layers",
        "0",
        "--json",
    ];
    if is_async {
        args.push("--async");
    }
    args
}

fn ok_json(args: &[&str], out: Output) -> Value {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn spawn(command: &mut Command) -> Child {
    command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits until every fault rule was used (the request it aimed at is being answered).
fn wait_until_faults_used(cli: &Cli) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while cli
        .admin_json(reqwest::Method::GET, "faults", None)
        .as_array()
        .is_some_and(|rules| !rules.is_empty())
    {
        assert!(Instant::now() < deadline, "the faulted request never came");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn guid_of(created: &Value) -> Guid {
    Guid::parse(created["replica"]["replica_guid"].as_str().unwrap()).unwrap()
}

/// The replicaIDs on the service.
fn service_ids(cli: &Cli) -> Vec<Guid> {
    let mut ids: Vec<Guid> = cli
        .service_replicas()
        .iter()
        .map(|(_, id)| Guid::parse(id).unwrap())
        .collect();
    ids.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    ids
}

/// An add (FacilityID `facility`) and a sync of the laptop's replica succeed: the service knows
/// the replica and takes the add.
fn edit_and_sync(cli: &Cli, data_dir: &std::path::Path, name: &str, facility: &str) {
    let add = json!({
        "attributes": {"FacilityID": facility, "Status": "IS"},
        "geometry": {"x": -122.6, "y": 45.5},
    })
    .to_string();
    let edit = ["edit", name, "--layer", "0", "--add", &add, "--json"];
    ok_json(&edit, cli.command_in(data_dir, &edit).output().unwrap());
    let sync = ["sync", name, "--json"];
    let synced = ok_json(&sync, cli.command_in(data_dir, &sync).output().unwrap());
    assert_eq!(
        synced["outcome"]["uploaded"], 1,
        "{name} in {data_dir:?}: {synced}"
    );
}

/// Laptop A's createReplica reply is lost (the service registered the replica, the connection
/// dropped) and its retry is held for 15 s; meanwhile laptop B creates "Hydrants" too. A's
/// clean-up gives back its own stray and leaves B's replica alone: both laptops keep their
/// replicas, both sync afterwards, and the service holds exactly those two. The service's list
/// names both after the technician, each with its own attempt tag.
#[test]
fn two_laptops_creating_the_same_name_keep_both_replicas() {
    let cli = Cli::start();
    let service = cli.server.service_url();
    let (laptop_a, laptop_b) = (cli.data_dir.path(), tempfile::tempdir().unwrap());
    cli.admin_json(
        reqwest::Method::POST,
        "faults",
        Some(json!([
            {"operation": "createReplica", "kind": "dropConnection", "count": 1},
            {"operation": "createReplica", "kind": "delay", "delayMs": 15000, "count": 1},
        ])),
    );
    let args = create_args(&service, "Hydrants", false);
    let mut a = spawn(&mut cli.command_in(laptop_a, &args));
    wait_until_faults_used(&cli);
    // A's stray is on the service and its retry is held: B creates the same name now.
    let b = ok_json(
        &args,
        cli.command_in(laptop_b.path(), &args).output().unwrap(),
    );
    assert!(
        a.try_wait().unwrap().is_none(),
        "precondition: A's clean-up must run after B's create (A's retry is held 15 s)"
    );
    let a = ok_json(&args, a.wait_with_output().unwrap());
    let (guid_a, guid_b) = (guid_of(&a), guid_of(&b));
    assert_ne!(guid_a, guid_b);

    let mut expected = vec![guid_a.clone(), guid_b.clone()];
    expected.sort_by(|x, y| x.as_str().cmp(y.as_str()));
    assert_eq!(
        service_ids(&cli),
        expected,
        "the service holds exactly both laptops' replicas (A's stray given back, B's kept)"
    );
    let names: Vec<String> = cli.service_replicas().into_iter().map(|(n, _)| n).collect();
    assert!(
        names.iter().all(|n| n.starts_with("Hydrants (syncwatch ")),
        "{names:?}"
    );
    assert_ne!(
        names[0], names[1],
        "each attempt has its own name: {names:?}"
    );

    edit_and_sync(&cli, laptop_a, "Hydrants", "HYD-LAPTOP-A");
    edit_and_sync(&cli, laptop_b.path(), "Hydrants", "HYD-LAPTOP-B");
    let listed = cli.json(&["replicas", "--json"], 0);
    assert_eq!(
        listed[0]["name"], "Hydrants",
        "the laptop shows the technician's name"
    );
}

/// How the first run of `create --async` ends early.
#[derive(Debug, Clone, Copy)]
enum Kill {
    /// SIGKILL while the create's async job is being polled (its status poll held 3 s).
    WhilePolling,
    /// Ended on the spot once the service's reply (and result) arrived.
    AfterTheReply,
    /// Ended on the spot once the replica file was written, before it was registered.
    AfterTheFile,
}

/// `create --async` ended early at each of three points leaves "(not created)" and (after the
/// reply) a replica on the service; running the same command again ends with a working replica
/// under that name and nothing else on the service (a file the killed run wrote is moved aside).
#[test]
fn a_killed_async_create_is_finished_by_the_next_run() {
    for kill in [Kill::WhilePolling, Kill::AfterTheReply, Kill::AfterTheFile] {
        let cli = Cli::start();
        let service = cli.server.service_url();
        let args = create_args(&service, "crew", true);
        match kill {
            Kill::WhilePolling => {
                cli.admin_json(
                    reqwest::Method::POST,
                    "faults",
                    Some(json!({"operation": "jobs", "kind": "delay", "delayMs": 3000})),
                );
                let mut child = spawn(&mut cli.command(&args));
                wait_until_faults_used(&cli);
                child.kill().unwrap();
                let status = child.wait().unwrap();
                assert_eq!(status.code(), None, "{kill:?}: killed by a signal");
            }
            Kill::AfterTheReply | Kill::AfterTheFile => {
                let point = match kill {
                    Kill::AfterTheReply => "create-requested",
                    _ => "create-written",
                };
                let out = cli
                    .command(&args)
                    .env(CRASH_AT_ENV, point)
                    .output()
                    .unwrap();
                assert_eq!(out.status.code(), Some(CRASH_EXIT_CODE), "{kill:?}");
                assert_eq!(
                    service_ids(&cli).len(),
                    1,
                    "{kill:?}: the killed run's replica"
                );
            }
        }
        let listed = cli.json(&["replicas", "--json"], 0);
        assert_eq!(listed[0]["name"], "crew", "{kill:?}");
        assert!(
            listed[0]["replica_guid"].is_null(),
            "{kill:?}: (not created)"
        );

        let created = ok_json(&args, cli.run(&args));
        let guid = guid_of(&created);
        assert_eq!(
            service_ids(&cli),
            vec![guid],
            "{kill:?}: only the new replica is on the service"
        );
        let listed = cli.json(&["replicas", "--json"], 0);
        assert_eq!(listed.as_array().unwrap().len(), 1, "{kill:?}: {listed}");
        edit_and_sync(&cli, cli.data_dir.path(), "crew", "HYD-KILLED");
        let replicas_dir = cli.data_dir.path().join("replicas");
        let files: Vec<String> = std::fs::read_dir(&replicas_dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            !files.iter().any(|f| f.ends_with(".creating")),
            "{kill:?}: the create lock is gone: {files:?}"
        );
        let aside = files.iter().filter(|f| f.contains(".interrupted-")).count();
        let expected_aside = usize::from(matches!(kill, Kill::AfterTheFile));
        assert_eq!(aside, expected_aside, "{kill:?}: {files:?}");
    }
}
