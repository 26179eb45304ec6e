//! Signing in through the window on the real engine and a token-secured reference service
//! (loopback, temp dirs, secrets in the file store): the password flow to a signed-in account, a
//! wrong password as one line in the dialog, the browser flow with the test playing the browser,
//! a replica created with the account, File → Accounts and Sign out, and the "Sign in again"
//! banner of the replica that then needs a sign-in, leading to a sync that completes; over HTTPS
//! with an untrusted self-signed certificate, "Trust this certificate" and the sign-in after it,
//! the certificate kept for a restarted engine.

use crate::support::browser::{free_port, sign_in_and_follow};
use crate::support::server::{TECH1_PASSWORD, secured_demo};
use crate::support::ui::stack::{
    Stack, click, secured_https_stack, secured_stack, type_into, wait_until,
};
use crate::support::ui::wizard::{finish_wizard, new_replica};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use syncwatch::protocol::JobState;
use syncwatch::server::OAuthAppDef;
use syncwatch::ui::SyncwatchApp;
use syncwatch::ui::dialogs::SignInStage;

const CLIENT_ID: &str = "syncwatch-field";

fn base(s: &Stack) -> String {
    s.server.as_ref().expect("server").base_url().to_owned()
}

fn type_password(h: &mut Harness<'static, SyncwatchApp>, label: &str, text: &str) {
    let role = egui::accesskit::Role::PasswordInput;
    h.get_by_role_and_label(role, label).click();
    h.run_steps(2);
    h.get_by_role_and_label(role, label).type_text(text);
    h.run_steps(2);
}

/// Fills the open Sign in dialog's password form and submits it.
fn submit_password(h: &mut Harness<'static, SyncwatchApp>, username: &str, password: &str) {
    if h.state()
        .sign_in
        .as_ref()
        .is_some_and(|s| s.dialog.username.is_empty())
    {
        type_into(h, "Username", username);
    }
    type_password(h, "Password", password);
    h.get_by_label("Sign in").click();
    h.run_steps(3);
}

fn open_sign_in(h: &mut Harness<'static, SyncwatchApp>, url: &str) {
    click(h, "File");
    click(h, "Sign in…");
    type_into(h, "Server or portal URL", url);
}

fn signed_in(a: &SyncwatchApp, user: &str) -> bool {
    a.sign_in.is_none() && a.vm.accounts.iter().any(|x| x.key.username == user)
}

/// A wrong password is one line in the dialog (naming no secret); the right one signs in, the
/// account is listed with its expiry, a replica created through "Connect to service" uses it
/// without a token, and File → Accounts signs it out after confirming.
#[test]
fn password_sign_in_accounts_and_sign_out_on_the_real_engine() {
    let mut s = secured_stack(secured_demo());
    let root = format!("{}/arcgis", base(&s));
    let h = &mut s.h;
    open_sign_in(h, &root);
    submit_password(h, "tech1", "not-the-password");
    wait_until(h, "the refusal", |a| {
        a.sign_in.as_ref().is_some_and(|s| s.dialog.error.is_some())
    });
    let error = h.state().sign_in.clone().expect("open").dialog.error;
    let error = error.expect("an error line");
    assert!(!error.contains('\n') && !error.is_empty(), "{error}");
    assert!(!error.contains("not-the-password"), "{error}");
    h.get_by_label(&error);

    submit_password(h, "tech1", TECH1_PASSWORD);
    wait_until(h, "tech1 signed in", |a| signed_in(a, "tech1"));
    let account = h.state().vm.accounts[0].clone();
    assert_eq!(account.key.root_url, root);
    assert!(account.access_expires_ms.is_some());
    h.get_by_label_contains("Signed in as tech1 @");

    // "Connect to service" uses the account by itself.
    click(h, "New replica…");
    h.get_by_label(&format!("will use tech1 @ {root}"));
    finish_wizard(h, &["Hydrants"], "Hydrants signed in");
    wait_until(h, "the new replica", |a| {
        a.vm.replicas.len() == 1
            && !a.vm.replicas[0].syncing
            && a.vm.replicas[0].server_gen.is_some()
    });
    let replica = h.state().vm.replicas[0].clone();
    assert_eq!(replica.signed_in_as.as_ref(), Some(&account.key));
    h.get_by_label(&format!("tech1 @ {root}"));

    click(h, "File");
    click(h, "Accounts…");
    h.get_by_label_contains("Token expires");
    h.get_by_label_contains("in 59 min (");
    click(h, "Sign out…");
    click(h, "Sign out");
    wait_until(h, "the sign-out", |a| a.vm.accounts.is_empty());
    assert!(h.query_by_label("tech1").is_none());
}

/// The browser flow: the window gets the authorize URL (and asks to open it), shows "waiting for
/// the browser…"; the test signs in on the portal's page and follows the redirect to the
/// engine's loopback listener; the account appears and the dialog closes.
#[test]
fn browser_sign_in_with_the_test_as_the_browser() {
    let port = free_port();
    let mut def = secured_demo();
    def.federated = true;
    def.oauth_apps.push(OAuthAppDef {
        client_id: CLIENT_ID.into(),
        redirect_uris: vec![format!("http://127.0.0.1:{port}/callback")],
    });
    let mut s = secured_stack(def);
    let portal = base(&s);
    let h = &mut s.h;
    open_sign_in(h, &portal);
    click(h, "Sign in with your browser");
    type_into(h, "Client id", CLIENT_ID);
    type_into(h, "Redirect port", &port.to_string());
    h.get_by_label("Sign in").click();
    h.run_steps(3);
    wait_until(h, "the authorize page", |a| {
        a.sign_in
            .as_ref()
            .is_some_and(|s| matches!(s.dialog.stage, SignInStage::WaitingForBrowser { .. }))
    });
    h.get_by_label("Waiting for the browser…");
    let Some(SignInStage::WaitingForBrowser { authorize_url, oob }) =
        h.state().sign_in.clone().map(|s| s.dialog.stage)
    else {
        panic!("not waiting for the browser");
    };
    assert!(!oob);
    assert!(
        authorize_url.contains("/sharing/rest/oauth2/authorize"),
        "{authorize_url}"
    );
    let status = s
        .runtime
        .block_on(sign_in_and_follow(&authorize_url, "tech1", TECH1_PASSWORD));
    assert_eq!(status, 200, "the loopback listener took the redirect");
    wait_until(&mut s.h, "tech1 signed in", |a| signed_in(a, "tech1"));
    let account = s.h.state().vm.accounts[0].clone();
    assert_eq!(account.kind.client_id(), Some(CLIENT_ID));
    assert_eq!(
        s.h.state()
            .persisted
            .client_ids
            .values()
            .next()
            .map(String::as_str),
        Some(CLIENT_ID),
        "the client id is remembered for the portal"
    );
}

/// A replica whose account was signed out needs a sign-in at its next sync: its badge says so,
/// the banner's "Sign in again" opens the dialog prefilled with that server and user, and after
/// the password the waiting sync runs and completes.
#[test]
fn sign_in_again_banner_leads_to_a_working_sync() {
    let mut s = secured_stack(secured_demo());
    let root = format!("{}/arcgis", base(&s));
    let h = &mut s.h;
    open_sign_in(h, &root);
    submit_password(h, "tech1", TECH1_PASSWORD);
    wait_until(h, "tech1 signed in", |a| signed_in(a, "tech1"));
    new_replica(h, &["Hydrants"], "Hydrants again");
    wait_until(h, "the new replica", |a| {
        a.vm.replicas.len() == 1
            && !a.vm.replicas[0].syncing
            && a.vm.replicas[0].server_gen.is_some()
    });
    let replica = h.state().vm.replicas[0].id;

    click(h, "File");
    click(h, "Accounts…");
    click(h, "Sign out…");
    click(h, "Sign out");
    wait_until(h, "the sign-out", |a| a.vm.accounts.is_empty());
    click(h, "Close");

    click(h, "⟳ Sync now");
    wait_until(h, "sign-in needed", |a| {
        a.vm.replica(replica)
            .is_some_and(|r| r.sign_in_needed.is_some())
    });
    assert_eq!(
        h.state().vm.replica(replica).map(|r| r.health()),
        Some(syncwatch::engine::Health::SignInNeeded)
    );
    h.get_by_label_contains("Sign-in needed for tech1 @");
    click(h, "Sign in again");
    let dialog = h.state().sign_in.clone().expect("the dialog").dialog;
    assert_eq!(dialog.url, root);
    assert_eq!(dialog.username, "tech1");
    submit_password(h, "tech1", TECH1_PASSWORD);
    wait_until(h, "the waiting sync to complete", |a| {
        a.vm.jobs
            .get(&replica)
            .is_some_and(|j| j.state == JobState::Completed)
            && a.vm
                .replica(replica)
                .is_some_and(|r| r.sign_in_needed.is_none() && !r.syncing)
    });
    assert!(h.query_by_label("Sign in again").is_none(), "banner gone");
}

/// The fingerprint of the certificate the service wrote to its data dir.
fn served_fingerprint(s: &Stack) -> String {
    let path = s.server.as_ref().expect("server").tls_cert_path();
    let path = path.expect("served over TLS");
    syncwatch::service::CaCertificate::from_pem_file(path).expect("the service's certificate")[0]
        .fingerprint_sha256()
}

/// Over HTTPS with the service's self-signed certificate: the sign-in is refused with the
/// "trust this certificate" prompt showing the real certificate's fingerprint and a warning;
/// "Trust this certificate" keeps it in the data dir and signs in without retyping the
/// password; a restarted engine on the same data dir still trusts it.
#[test]
fn an_untrusted_certificate_is_trusted_from_the_sign_in_dialog() {
    let mut s = secured_https_stack(secured_demo());
    let root = format!("{}/arcgis", base(&s));
    assert!(root.starts_with("https://"), "{root}");
    let fingerprint = served_fingerprint(&s);
    let h = &mut s.h;
    open_sign_in(h, &root);
    submit_password(h, "tech1", TECH1_PASSWORD);
    wait_until(h, "the untrusted-certificate prompt", |a| {
        a.sign_in
            .as_ref()
            .is_some_and(|s| s.dialog.untrusted_fingerprint.is_some())
    });
    let shown = h.state().sign_in.clone().expect("open").dialog;
    assert_eq!(
        shown.untrusted_fingerprint.as_deref(),
        Some(fingerprint.as_str())
    );
    h.get_by_label("Trust this certificate?");
    h.get_by_label(&fingerprint);
    h.get_by_label_contains("compare every character");
    assert!(h.state().vm.accounts.is_empty());

    click(h, "Trust this certificate");
    wait_until(h, "tech1 signed in", |a| signed_in(a, "tech1"));
    assert_eq!(h.state().vm.accounts[0].key.root_url, root);

    let data_dir = s.app_data_dir().expect("temp data dir");
    let kept = data_dir
        .join("trusted-certificates")
        .join(format!("{}.pem", fingerprint.replace(':', "")));
    let certificate = syncwatch::service::CaCertificate::from_pem_file(&kept).expect("kept");
    assert_eq!(certificate[0].fingerprint_sha256(), fingerprint);

    // A restarted engine (no --ca-cert) loads it: a sign-in over HTTPS works at once.
    let _ = s.handle.try_send(syncwatch::engine::Command::Shutdown);
    let mut config = syncwatch::engine::EngineConfig::new(&data_dir);
    config.secret_store = Some(syncwatch::model::SecretStoreKind::File);
    let restarted = s.runtime.block_on(async {
        let (engine, events, _join) =
            syncwatch::engine::start_with_channel(config).expect("restart");
        let id = engine
            .submit(syncwatch::engine::Command::SignIn {
                url: root.clone(),
                method: syncwatch::engine::SignInRequest::Password {
                    username: "tech1".into(),
                    password: syncwatch::engine::Secret::new(TECH1_PASSWORD),
                    remember: false,
                },
                expiration_minutes: None,
            })
            .await
            .expect("queued")
            .command();
        let end = tokio::task::spawn_blocking(move || {
            events.wait_for(std::time::Duration::from_secs(60), |e| match e {
                syncwatch::engine::Event::SignedIn { sign_in, .. } if *sign_in == id => {
                    Some(Ok(()))
                }
                syncwatch::engine::Event::SignInFailed {
                    sign_in, message, ..
                } if *sign_in == id => Some(Err(message.clone())),
                _ => None,
            })
        })
        .await
        .expect("waited");
        let _ = engine.send(syncwatch::engine::Command::Shutdown).await;
        end
    });
    assert_eq!(restarted.expect("an answer"), Ok(()));
}
