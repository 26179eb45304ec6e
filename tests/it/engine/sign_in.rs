//! Signing in through the engine (`Command::SignIn`) against the reference service over real
//! HTTPS on 127.0.0.1 (its self-signed certificate trusted as `--ca-cert` does): a password sign-in at a standalone server and through the portal, after
//! which replicas are created and synced with no token given ("signed in as" on the summary);
//! the browser sign-in with the test as the browser (loopback redirect and pasted code);
//! renewal between two syncs (a remembered password, an OAuth refresh token); a refresh token
//! that ended turns the replica "sign-in needed" (no failed sync, edits kept) and its sync waits
//! until the next sign-in, then completes; refused sign-ins are one line with their kind.

use crate::support::browser::{code_from_page, free_port, sign_in_and_follow};
use crate::support::client_config::fast;
use crate::support::engine::Harness;
use crate::support::https::with_tls;
use crate::support::server::{TECH1_PASSWORD, secured_demo};
use std::time::Duration;
use syncwatch::engine::{
    Account, AccountKey, Command, CommandId, Event, Health, JobEnd, JobWatch, Secret,
    SignInFailure, SignInRequest, SyncOptions,
};
use syncwatch::protocol::JobState;
use syncwatch::server::{AuthSettings, OAuthAppDef, ServerConfig};

const CLIENT_ID: &str = "syncwatch-field";
const OOB: &str = "urn:ietf:wg:oauth:2.0:oob";

/// The secured demo service, federated with its built-in portal or standalone, with `auth`.
async fn secured(federated: bool, auth: AuthSettings, redirects: Vec<String>) -> Harness {
    let mut def = secured_demo();
    def.federated = federated;
    if !redirects.is_empty() {
        def.oauth_apps.push(OAuthAppDef {
            client_id: CLIENT_ID.into(),
            redirect_uris: redirects,
        });
    }
    let h = Harness::start(
        with_tls(ServerConfig {
            definition: Some(def),
            auth,
            ..Default::default()
        }),
        fast(),
    )
    .await;
    assert!(h.service_url.starts_with("https://"), "{}", h.service_url);
    h
}

fn password(user: &str, secret: &str, remember: bool) -> SignInRequest {
    SignInRequest::Password {
        username: user.into(),
        password: Secret::new(secret),
        remember,
    }
}

/// Sends a sign-in and returns its id.
async fn start_sign_in(h: &Harness, method: SignInRequest) -> CommandId {
    h.engine
        .submit(Command::SignIn {
            url: h.service_url.clone(),
            method,
            expiration_minutes: None,
        })
        .await
        .unwrap()
        .command()
}

/// The end of sign-in `id`.
async fn sign_in_end(h: &Harness, id: CommandId) -> Result<Account, (SignInFailure, String)> {
    h.next(|e| match e {
        Event::SignedIn { sign_in, account } if *sign_in == id => Some(Ok(account.clone())),
        Event::SignInFailed {
            sign_in,
            failure,
            message,
        } if *sign_in == id => Some(Err((*failure, message.clone()))),
        _ => None,
    })
    .await
}

async fn sign_in(h: &Harness, method: SignInRequest) -> Account {
    let id = start_sign_in(h, method).await;
    sign_in_end(h, id)
        .await
        .unwrap_or_else(|e| panic!("sign-in failed: {e:?}"))
}

/// An out-of-band browser sign-in, the test pasting the code the portal shows.
async fn sign_in_with_pasted_code(h: &Harness) -> Account {
    let id = start_sign_in(
        h,
        SignInRequest::PastedCode {
            client_id: CLIENT_ID.into(),
        },
    )
    .await;
    let url = h
        .next(|e| match e {
            Event::BrowserSignInStarted {
                sign_in,
                authorize_url,
                oob: true,
            } if *sign_in == id => Some(authorize_url.clone()),
            _ => None,
        })
        .await;
    let code = code_from_page(&url, "tech1", TECH1_PASSWORD).await;
    h.send(Command::SubmitSignInCode {
        sign_in: id,
        code: Secret::new(code),
    })
    .await;
    sign_in_end(h, id).await.unwrap()
}

fn server_root(h: &Harness) -> String {
    format!("{}/arcgis", h.server.base_url())
}

/// A standalone secured server: the password sign-in is for the server's root; then a replica
/// is created and synced with no token, and its summary names the account.
#[tokio::test]
async fn password_sign_in_then_create_and_sync_without_a_token() {
    let h = secured(false, AuthSettings::default(), vec![]).await;
    let account = sign_in(&h, password("tech1", TECH1_PASSWORD, false)).await;
    assert_eq!(account.key, AccountKey::new(&server_root(&h), "tech1"));
    assert!(!account.remembers_password());
    let replica = h.create("signed-in").await;
    h.add_hydrant(replica, "by tech1").await;
    let outcome = h.sync(replica, false).await.unwrap();
    assert_eq!((outcome.state, outcome.uploaded), (JobState::Completed, 1));
    let summary = h.summary(replica).await;
    assert_eq!(summary.signed_in_as, Some(account.key.clone()));
    assert_eq!(summary.health(), Health::UpToDate);
    h.send(Command::ListAccounts).await;
    let listed = h
        .next(|e| match e {
            Event::Accounts(list) => Some(list.clone()),
            _ => None,
        })
        .await;
    assert_eq!(
        listed.iter().map(|a| &a.key).collect::<Vec<_>>(),
        [&account.key]
    );
}

/// A federated server: the sign-in is at the portal (its root), and the replica's jobs get a
/// server token through the exchange.
#[tokio::test]
async fn password_sign_in_through_the_portal_opens_the_federated_service() {
    let h = secured(true, AuthSettings::default(), vec![]).await;
    let account = sign_in(&h, password("tech1", TECH1_PASSWORD, false)).await;
    assert_eq!(account.key, AccountKey::new(h.server.base_url(), "tech1"));
    let replica = h.create("through-portal").await;
    assert_eq!(
        h.sync(replica, false).await.unwrap().state,
        JobState::Completed
    );
    assert_eq!(h.summary(replica).await.signed_in_as, Some(account.key));
}

/// The browser sign-in: the engine announces the authorize URL, the test signs in on the page
/// and follows the redirect to the engine's loopback listener.
#[tokio::test]
async fn browser_sign_in_through_the_loopback_listener() {
    let port = free_port();
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let h = secured(true, AuthSettings::default(), vec![redirect]).await;
    let id = start_sign_in(
        &h,
        SignInRequest::Browser {
            client_id: CLIENT_ID.into(),
            port: Some(port),
        },
    )
    .await;
    let url = h
        .next(|e| match e {
            Event::BrowserSignInStarted {
                sign_in,
                authorize_url,
                oob: false,
            } if *sign_in == id => Some(authorize_url.clone()),
            _ => None,
        })
        .await;
    assert_eq!(sign_in_and_follow(&url, "tech1", TECH1_PASSWORD).await, 200);
    let account = sign_in_end(&h, id).await.unwrap();
    assert_eq!(account.kind.client_id(), Some(CLIENT_ID));
    let replica = h.create("by-browser").await;
    assert_eq!(
        h.sync(replica, false).await.unwrap().state,
        JobState::Completed
    );
}

/// Tokens that end between two syncs are renewed without the user: with the remembered
/// password (generateToken again) and with the OAuth refresh token.
#[tokio::test]
async fn a_token_that_ends_between_two_syncs_is_renewed() {
    let short = AuthSettings::default().with_token_lifetime(Duration::from_secs(2));
    let h = secured(false, short.clone(), vec![]).await;
    let first = sign_in(&h, password("tech1", TECH1_PASSWORD, true)).await;
    assert!(first.remembers_password());
    let replica = h.create("remembered").await;
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    assert_eq!(
        h.sync(replica, false).await.unwrap().state,
        JobState::Completed
    );
    let renewed = h
        .engine
        .accounts()
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.key == first.key)
        .unwrap();
    assert!(
        renewed.access_expires_ms > first.access_expires_ms,
        "the renewed token was kept: {renewed:?}"
    );

    let h = secured(true, short, vec![OOB.into()]).await;
    sign_in_with_pasted_code(&h).await;
    let replica = h.create("refreshed").await;
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    assert_eq!(
        h.sync(replica, false).await.unwrap().state,
        JobState::Completed
    );
}

/// A refresh token that has ended: the sync waits ("sign-in needed", no failure, no refused
/// edit, the local edit still queued); after the next sign-in the same job runs and completes.
#[tokio::test]
async fn an_ended_refresh_token_waits_for_the_next_sign_in() {
    let auth = AuthSettings::default()
        .with_token_lifetime(Duration::from_secs(2))
        .with_refresh_token_lifetime(Duration::from_secs(3));
    let h = secured(true, auth, vec![OOB.into()]).await;
    sign_in_with_pasted_code(&h).await;
    let replica = h.create("waits").await;
    h.add_hydrant(replica, "kept-out").await;
    tokio::time::sleep(Duration::from_millis(3_100)).await;

    let ticket = h
        .engine
        .submit(Command::SyncNow {
            replica,
            options: SyncOptions {
                is_async: false,
                ..SyncOptions::default()
            },
        })
        .await
        .unwrap();
    let mut watch = JobWatch::new(ticket);
    let end = h.next(|e| watch.see(e)).await.unwrap();
    let JobEnd::SignInNeeded { job, reason, .. } = end else {
        panic!("expected the sync to wait for a sign-in: {end:?}")
    };
    assert!(!reason.contains('\n'), "{reason}");
    let summary = h.summary(replica).await;
    assert_eq!(summary.health(), Health::SignInNeeded);
    assert!(summary.sign_in_needed.is_some());
    assert_eq!(summary.last_error, None, "not a failed sync");
    assert_eq!((summary.failed_edits, summary.pending_changes), (0, 1));

    // A sync asked for meanwhile waits too, without reaching the service.
    h.begin_sync(replica).await;
    let second = h
        .next(|e| match e {
            Event::JobWaitingForSignIn {
                replica: r, job: j, ..
            } if *r == replica => Some(*j),
            _ => None,
        })
        .await;
    assert_ne!(second, job);

    sign_in(&h, password("tech1", TECH1_PASSWORD, true)).await;
    let outcome = h
        .next(|e| match e {
            Event::JobCompleted {
                job: j, outcome, ..
            } if *j == job => Some(outcome.clone()),
            Event::JobFailed { job: j, error, .. } if *j == job => {
                panic!("the waiting sync failed: {error:?}")
            }
            _ => None,
        })
        .await;
    assert_eq!((outcome.state, outcome.uploaded), (JobState::Completed, 1));
    let again = h
        .next(|e| match e {
            Event::JobCompleted {
                job: j, outcome, ..
            } if *j == second => Some(outcome.clone()),
            _ => None,
        })
        .await;
    assert_eq!(again.state, JobState::Completed);
    let summary = h.summary(replica).await;
    assert_eq!(summary.sign_in_needed, None);
    assert_eq!(summary.health(), Health::UpToDate);
}

/// A wrong password, an unknown user and a locked-out user: one line each, with its kind.
#[tokio::test]
async fn refused_sign_ins_are_one_line_with_their_kind() {
    let h = secured(false, AuthSettings::default(), vec![]).await;
    for (user, secret) in [("tech2", "not-the-password"), ("nobody", "whatever")] {
        let id = start_sign_in(&h, password(user, secret, false)).await;
        let (failure, message) = sign_in_end(&h, id).await.unwrap_err();
        assert_eq!(failure, SignInFailure::Credentials, "{message}");
        assert!(
            message.contains("Invalid username or password."),
            "{message}"
        );
        assert!(
            !message.contains('\n') && !message.contains(secret),
            "{message}"
        );
    }
    for _ in 0..5 {
        let id = start_sign_in(&h, password("tech2", "wrong", false)).await;
        sign_in_end(&h, id).await.unwrap_err();
    }
    let id = start_sign_in(
        &h,
        password("tech2", crate::support::server::TECH2_PASSWORD, false),
    )
    .await;
    let (failure, message) = sign_in_end(&h, id).await.unwrap_err();
    assert_eq!(failure, SignInFailure::LockedOut, "{message}");
    assert!(h.engine.accounts().await.unwrap().is_empty());
}
