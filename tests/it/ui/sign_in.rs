//! Signing in, in the window with fixture events (no engine): the Sign in dialog's password and
//! browser flows and the commands they send, a refusal as one line in the dialog, "Trust this
//! certificate" (the command it sends, a refusal, the sign-in sent again), Escape, the
//! Accounts window and its confirmed Sign out, the "Sign in again" banner prefilling the dialog,
//! "Signed in as" on the overview, and the connect dialog using the account (token under
//! "Advanced").

use crate::support::ui::{Rig, rig};
use egui_kittest::kittest::Queryable as _;
use syncwatch::engine::{Command, CommandId, Event, Health, SignInFailure, SignInRequest};
use syncwatch::model::AccountKey;
use syncwatch::ui::dialogs::SignInStage;
use syncwatch::ui::fixtures;

fn type_password(r: &mut Rig, text: &str) {
    let role = egui::accesskit::Role::PasswordInput;
    r.harness.get_by_role_and_label(role, "Password").click();
    r.harness.run();
    r.harness
        .get_by_role_and_label(role, "Password")
        .type_text(text);
    r.harness.run();
}

/// Clicks the dialog's submit button; the window then shows a spinner (it never settles).
fn submit(r: &mut Rig, label: &str) {
    r.harness.get_by_label(label).click();
    r.harness.run_steps(3);
}

fn open_sign_in(r: &mut Rig) {
    r.click("File");
    r.click("Sign in…");
    assert!(r.harness.state().sign_in.is_some(), "the dialog opened");
}

fn sign_in_commands(r: &mut Rig) -> Vec<Command> {
    r.take_commands()
        .into_iter()
        .filter(|c| {
            matches!(
                c,
                Command::SignIn { .. }
                    | Command::SubmitSignInCode { .. }
                    | Command::CancelSignIn { .. }
                    | Command::SignOut { .. }
            )
        })
        .collect()
}

/// Password flow: Enter submits URL, username and the masked password with "remember" and the
/// chosen expiration; progress shows; `SignedIn` closes the dialog and the account is listed.
#[test]
fn password_sign_in_sends_the_form_and_closes_on_signed_in() {
    let mut r = rig();
    open_sign_in(&mut r);
    r.type_into("Server or portal URL", fixtures::accounts::SERVER_ROOT);
    r.type_into("Username", "tech1");
    type_password(&mut r, "tech1-pass");
    r.click("Remember password");
    r.harness.key_press(egui::Key::Enter);
    r.harness.run_steps(3);
    let sent = sign_in_commands(&mut r);
    let [
        Command::SignIn {
            url,
            method:
                SignInRequest::Password {
                    username,
                    password,
                    remember,
                },
            expiration_minutes,
        },
    ] = sent.as_slice()
    else {
        panic!("one password sign-in expected: {sent:?}");
    };
    assert_eq!(url, fixtures::accounts::SERVER_ROOT);
    assert_eq!(username, "tech1");
    assert_eq!(password.expose(), "tech1-pass");
    assert!(*remember);
    assert_eq!(*expiration_minutes, Some(60));
    r.harness
        .get_by_label_contains("Signing in to http://127.0.0.1:8080/arcgis");
    // The typed password is gone from the form once sent.
    let state = r.harness.state().sign_in.clone().expect("still open");
    assert!(state.dialog.password.is_empty());

    let account = fixtures::accounts()[0].clone();
    r.push([Event::SignedIn {
        sign_in: CommandId(1),
        account: account.clone(),
    }]);
    assert!(r.harness.state().sign_in.is_none(), "closed on SignedIn");
    assert_eq!(r.harness.state().vm.accounts, vec![account]);
    r.harness
        .get_by_label("Signed in as tech1 @ http://127.0.0.1:8080/arcgis");
}

/// A refusal is one line in the dialog, the form comes back for another try; an untrusted
/// certificate shows the "trust this certificate" prompt with its fingerprint; Escape closes it.
#[test]
fn a_wrong_password_is_one_line_in_the_dialog() {
    let mut r = rig();
    open_sign_in(&mut r);
    r.type_into("Server or portal URL", fixtures::accounts::SERVER_ROOT);
    r.type_into("Username", "tech1");
    type_password(&mut r, "wrong");
    submit(&mut r, "Sign in");
    assert_eq!(sign_in_commands(&mut r).len(), 1);
    r.push([Event::SignInFailed {
        sign_in: CommandId(1),
        failure: SignInFailure::Credentials,
        message: "Invalid username or password.\n(second line never shown)".into(),
    }]);
    r.harness.get_by_label("Invalid username or password.");
    assert!(
        r.harness
            .query_by_label_contains("second line never shown")
            .is_none()
    );
    let state = r.harness.state().sign_in.clone().expect("still open");
    assert_eq!(state.dialog.stage, SignInStage::Editing);
    assert_eq!(state.dialog.username, "tech1", "the form is kept");

    // An untrusted certificate: the prompt shows the fingerprint from the error.
    type_password(&mut r, "tech1-pass");
    submit(&mut r, "Sign in");
    assert_eq!(sign_in_commands(&mut r).len(), 1);
    let fingerprint = ["3F"; 32].join(":");
    r.push([Event::SignInFailed {
        sign_in: CommandId(2),
        failure: SignInFailure::Unreachable,
        message: format!(
            "sign in: TLS handshake failed: the server's certificate is not trusted \
             (UnknownIssuer); its SHA-256 fingerprint is {fingerprint}; to trust it, add it with \
             --ca-cert FILE — https://127.0.0.1:8443/arcgis"
        ),
    }]);
    r.harness.get_by_label("Trust this certificate?");
    r.harness.get_by_label(&fingerprint);

    r.harness.key_press(egui::Key::Escape);
    r.harness.run();
    assert!(r.harness.state().sign_in.is_none(), "Escape cancels");
}

/// Browser flow: the client id is sent; `BrowserSignInStarted` opens the authorize page and shows
/// "waiting for the browser…" with Cancel, which cancels that sign-in; the client id is
/// remembered for the portal; "Paste a code instead" is the out-of-band flow, which takes the
/// pasted code.
#[test]
fn browser_sign_in_opens_the_page_waits_and_cancels() {
    let mut r = rig();
    open_sign_in(&mut r);
    r.type_into("Server or portal URL", fixtures::accounts::PORTAL_ROOT);
    r.click("Sign in with your browser");
    r.type_into("Client id", "syncwatch-field");
    submit(&mut r, "Sign in");
    let sent = sign_in_commands(&mut r);
    assert!(
        matches!(
            sent.as_slice(),
            [Command::SignIn { method: SignInRequest::Browser { client_id, .. }, .. }]
                if client_id == "syncwatch-field"
        ),
        "{sent:?}"
    );
    let authorize = format!(
        "{}/sharing/rest/oauth2/authorize?client_id=x",
        fixtures::accounts::PORTAL_ROOT
    );
    r.events
        .send(Event::BrowserSignInStarted {
            sign_in: CommandId(7),
            authorize_url: authorize.clone(),
            oob: false,
        })
        .expect("receiver alive");
    r.harness.step();
    let opened: Vec<String> = r
        .harness
        .output()
        .platform_output
        .commands
        .iter()
        .filter_map(|c| match c {
            egui::OutputCommand::OpenUrl(u) => Some(u.url.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        opened,
        vec![authorize.clone()],
        "the browser was sent there"
    );
    r.harness.run_steps(3);
    r.harness.get_by_label("Waiting for the browser…");
    r.click("Cancel");
    assert_eq!(
        sign_in_commands(&mut r),
        vec![Command::CancelSignIn {
            sign_in: CommandId(7)
        }]
    );
    assert!(r.harness.state().sign_in.is_none());

    // Opened again for the same portal: the browser method and the client id come back.
    let ctx = r.harness.ctx.clone();
    r.harness.state_mut().apply(
        &ctx,
        syncwatch::ui::Action::OpenSignIn {
            url: format!("{}/", fixtures::accounts::PORTAL_ROOT),
            username: String::new(),
        },
    );
    r.harness.run();
    let state = r.harness.state().sign_in.clone().expect("open");
    assert_eq!(state.dialog.client_id, "syncwatch-field");
    r.click("Paste a code instead");
    submit(&mut r, "Sign in");
    let sent = sign_in_commands(&mut r);
    assert!(
        matches!(
            sent.as_slice(),
            [Command::SignIn { method: SignInRequest::PastedCode { client_id }, .. }]
                if client_id == "syncwatch-field"
        ),
        "{sent:?}"
    );
    r.push([Event::BrowserSignInStarted {
        sign_in: CommandId(8),
        authorize_url: authorize,
        oob: true,
    }]);
    let role = egui::accesskit::Role::PasswordInput;
    r.harness.get_by_role_and_label(role, "Code").click();
    r.harness.run();
    r.harness
        .get_by_role_and_label(role, "Code")
        .type_text("the-code");
    r.harness.run();
    submit(&mut r, "Send code");
    let sent = sign_in_commands(&mut r);
    assert!(
        matches!(
            sent.as_slice(),
            [Command::SubmitSignInCode { sign_in: CommandId(8), code }] if code.expose() == "the-code"
        ),
        "{sent:?}"
    );
}

/// File → Accounts lists who is signed in where, when each token expires (relative and absolute)
/// and which store holds it; Sign out asks first and then sends the command.
#[test]
fn accounts_window_lists_and_signs_out_after_confirming() {
    let mut r = rig();
    r.push([Event::Accounts(fixtures::accounts())]);
    r.click("File");
    r.click("Accounts…");
    assert!(
        r.take_commands().contains(&Command::ListAccounts),
        "the list is asked for again"
    );
    r.harness.get_by_label("tech1");
    r.harness.get_by_label("@ http://127.0.0.1:8080/arcgis");
    r.harness.get_by_label_contains("in 42 min (");
    r.harness.get_by_label_contains("ended 3 min ago (");
    r.harness
        .get_by_label("token, remembered password in the OS keychain");
    r.harness
        .get_by_label("token, refresh token in the secrets file");
    r.harness
        .get_by_label("browser (client id syncwatch-field)");
    r.harness
        .query_all_by_label("Sign out…")
        .next()
        .expect("a Sign out button")
        .click();
    r.harness.run();
    r.click("Stay signed in");
    assert!(
        sign_in_commands(&mut r).is_empty(),
        "nothing without confirming"
    );
    r.harness
        .query_all_by_label("Sign out…")
        .next()
        .expect("a Sign out button")
        .click();
    r.harness.run();
    r.click("Sign out");
    let key = AccountKey::new(fixtures::accounts::SERVER_ROOT, "tech1");
    assert_eq!(
        sign_in_commands(&mut r),
        vec![Command::SignOut {
            account: key.clone()
        }]
    );
    r.push([Event::SignedOut { account: key }]);
    assert_eq!(r.harness.state().vm.accounts.len(), 1);
    assert!(r.harness.query_by_label("tech1").is_none());
}

/// A replica that needs a sign-in gets its badge and a banner; "Sign in again" opens the dialog
/// prefilled with its account's server and username; the overview says who it signs in as.
#[test]
fn sign_in_again_banner_prefills_the_dialog() {
    let mut r = rig();
    let mut summary = fixtures::replicas()[0].clone();
    summary.signed_in_as = Some(AccountKey::new(fixtures::accounts::SERVER_ROOT, "tech1"));
    r.push([Event::ReplicaChanged {
        summary: summary.clone(),
    }]);
    r.harness
        .get_by_label("tech1 @ http://127.0.0.1:8080/arcgis");
    assert!(r.harness.query_by_label("Sign in again").is_none());
    summary.sign_in_needed = Some("the token expired and nothing could renew it".into());
    r.push([Event::ReplicaChanged {
        summary: summary.clone(),
    }]);
    assert_eq!(summary.health(), Health::SignInNeeded);
    assert!(
        r.harness
            .query_all_by_label_contains("Sign-in needed")
            .count()
            >= 2,
        "badge and banner"
    );
    r.click("Sign in again");
    let state = r
        .harness
        .state()
        .sign_in
        .clone()
        .expect("the dialog opened");
    assert_eq!(state.dialog.url, fixtures::accounts::SERVER_ROOT);
    assert_eq!(state.dialog.username, "tech1");
}

/// The New replica wizard names the account it will use, offers "Sign in…" without one, and keeps
/// the token field under "Advanced".
#[test]
fn connect_uses_the_signed_in_account() {
    let mut r = rig();
    r.click("New replica…");
    r.harness.get_by_label("not signed in to this server");
    assert!(
        r.harness
            .query_by_role_and_label(egui::accesskit::Role::PasswordInput, "Token")
            .is_none(),
        "the token is under Advanced"
    );
    r.click("Sign in…");
    let state = r.harness.state().sign_in.clone().expect("Sign in opened");
    assert!(state.dialog.url.ends_with("/Water/FeatureServer"));
    r.harness.key_press(egui::Key::Escape);
    r.harness.run();
    assert!(r.harness.state().sign_in.is_none());
    assert!(r.harness.state().wizard.is_some(), "the wizard stays open");
    r.push([Event::Accounts(fixtures::accounts())]);
    r.harness
        .get_by_label("will use tech1 @ http://127.0.0.1:8080/arcgis");
    r.click("Advanced");
    r.harness
        .get_by_role_and_label(egui::accesskit::Role::PasswordInput, "Token");
}

/// The untrusted-certificate failure of the sign-in `id` (fingerprint `fingerprint`).
fn untrusted(id: u64, fingerprint: &str) -> Event {
    Event::SignInFailed {
        sign_in: CommandId(id),
        failure: SignInFailure::Unreachable,
        message: format!(
            "server info: TLS handshake failed: the server's certificate is not trusted (it is \
             self-signed or signed by an unknown authority); its SHA-256 fingerprint is \
             {fingerprint}; to trust it, add it with --ca-cert FILE — https://127.0.0.1:8443/arcgis"
        ),
    }
}

fn trust_commands(r: &mut Rig) -> Vec<Command> {
    r.take_commands()
        .into_iter()
        .filter(|c| matches!(c, Command::TrustCertificate { .. } | Command::SignIn { .. }))
        .collect()
}

/// "Trust this certificate" sends the fingerprint shown for the dialog's URL; a refusal (the
/// certificate changed) is one line and no sign-in is retried; once `CertificateTrusted`
/// arrives the same sign-in (same password, not retyped) is sent again.
#[test]
fn trust_this_certificate_sends_the_shown_fingerprint_and_retries_the_sign_in() {
    let mut r = rig();
    open_sign_in(&mut r);
    r.type_into("Server or portal URL", fixtures::accounts::SERVER_ROOT);
    r.type_into("Username", "tech1");
    type_password(&mut r, "tech1-pass");
    submit(&mut r, "Sign in");
    assert_eq!(trust_commands(&mut r).len(), 1);
    let fingerprint = ["3F"; 32].join(":");
    r.push([untrusted(1, &fingerprint)]);
    submit(&mut r, "Trust this certificate");
    let sent = trust_commands(&mut r);
    assert_eq!(
        sent,
        vec![Command::TrustCertificate {
            url: fixtures::accounts::SERVER_ROOT.to_owned(),
            fingerprint: fingerprint.clone(),
        }]
    );
    r.harness
        .get_by_label("Checking and trusting the certificate…");
    let changed = format!("the certificate of x changed: it is now AA:…, not the {fingerprint}");
    r.push([Event::CommandFailed {
        what: "trust the certificate".into(),
        error: syncwatch::engine::Failure {
            class: syncwatch::engine::FailureClass::Local,
            code: None,
            message: changed.clone(),
        },
        command: Some(CommandId(2)),
    }]);
    let state = r.harness.state().sign_in.clone().expect("still open");
    assert_eq!(state.dialog.stage, SignInStage::Editing);
    assert_eq!(state.dialog.error.as_deref(), Some(changed.as_str()));
    assert!(
        state.retry.is_none(),
        "the password is not kept after a refusal"
    );
    assert!(trust_commands(&mut r).is_empty(), "no sign-in retried");

    type_password(&mut r, "tech1-pass");
    submit(&mut r, "Sign in");
    assert_eq!(trust_commands(&mut r).len(), 1);
    r.push([untrusted(3, &fingerprint)]);
    submit(&mut r, "Trust this certificate");
    assert_eq!(trust_commands(&mut r).len(), 1);
    // The dialog then shows a spinner again: a few frames, not "until settled".
    r.events
        .send(Event::CertificateTrusted {
            url: fixtures::accounts::SERVER_ROOT.to_owned(),
            fingerprint: fingerprint.clone(),
        })
        .expect("receiver alive");
    r.harness.run_steps(3);
    let sent = trust_commands(&mut r);
    let [
        Command::SignIn {
            url,
            method: SignInRequest::Password { password, .. },
            ..
        },
    ] = sent.as_slice()
    else {
        panic!("the sign-in sent again: {sent:?}");
    };
    assert_eq!(url, fixtures::accounts::SERVER_ROOT);
    assert_eq!(password.expose(), "tech1-pass");
    let state = r.harness.state().sign_in.clone().expect("still open");
    assert_eq!(state.dialog.stage, SignInStage::Working);
    assert!(
        state.dialog.untrusted_fingerprint.is_none(),
        "the prompt is gone"
    );
}
