//! The sign-in job of [`Command::SignIn`](super::Command::SignIn): discovery of how to sign in
//! for the URL, then a password (generateToken) or a browser sign-in (OAuth with PKCE, the
//! redirect on a loopback listener or a pasted code), then the session kept (`sessions.rs`) and
//! made the engine's. It runs as its own task, so the command loop never waits for a server or
//! a browser; the runner hears its end as a [`SignInEnd`]. Signing out is here too.
//!
//! It must never put a secret in a log line, an event or an error message.

use super::api::{
    Account, AccountKey, CommandId, Event, LocalReplicaId, SignInFailure, SignInRequest,
};
use super::error::{EngineError, chain};
use super::{Deps, secrets, sessions};
use crate::model::Secret;
use crate::service::sign_in::{
    Redirect, RememberPassword, SignInClient, SignInError, SignInPlan, SignInSession, TokenOptions,
};
use std::time::Duration;
use tokio::sync::{oneshot, watch};

/// The path of the loopback redirect (`http://127.0.0.1:<port>/callback`), as the app's
/// registration at the portal must list it (the demo's `syncwatch-desktop` does, on 47615).
pub const LOOPBACK_PATH: &str = "/callback";

/// How long a browser sign-in waits for the redirect.
pub(crate) const BROWSER_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// What the runner hears when a sign-in ends.
#[derive(Debug)]
pub(crate) struct SignInEnd {
    pub sign_in: CommandId,
    pub account: Option<Account>,
    /// The replicas that waited for a sign-in and no longer do (cleared in the app database
    /// before [`Event::SignedIn`] is sent, so a front end that exits on it leaves none marked).
    pub woken: Vec<LocalReplicaId>,
}

/// What a sign-in job needs besides the engine's parts.
pub(crate) struct SignInJob {
    pub sign_in: CommandId,
    pub url: String,
    pub method: SignInRequest,
    pub expiration_minutes: Option<u32>,
    /// The pasted code of an out-of-band browser sign-in.
    pub code: oneshot::Receiver<Secret>,
    pub cancel: watch::Receiver<bool>,
}

/// A failed sign-in: what kind, and one line.
struct Refused {
    failure: SignInFailure,
    message: String,
}

impl From<SignInError> for Refused {
    fn from(e: SignInError) -> Self {
        let failure = match &e {
            SignInError::InvalidCredentials { .. } | SignInError::UnknownUser { .. } => {
                SignInFailure::Credentials
            }
            SignInError::LockedOut { .. } => SignInFailure::LockedOut,
            SignInError::TimedOut { .. }
            | SignInError::AuthorizationDenied { .. }
            | SignInError::StateMismatch => SignInFailure::Cancelled,
            SignInError::Transport { .. }
            | SignInError::UntrustedCertificate(_)
            | SignInError::NotArcGis { .. }
            | SignInError::InvalidUrl { .. } => SignInFailure::Unreachable,
            _ => SignInFailure::Other,
        };
        Refused {
            failure,
            message: one_line(&chain(&e)),
        }
    }
}

impl From<EngineError> for Refused {
    fn from(e: EngineError) -> Self {
        let failure = match &e {
            EngineError::Secrets(_) => SignInFailure::SecretStore,
            _ => SignInFailure::Other,
        };
        Refused {
            failure,
            message: one_line(&chain(&e)),
        }
    }
}

fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

/// Runs one sign-in to its end: sends [`Event::SignedIn`] (and [`Event::Accounts`]) or
/// [`Event::SignInFailed`].
pub(crate) async fn run(deps: Deps, job: SignInJob) -> SignInEnd {
    let sign_in = job.sign_in;
    let url = job.url.clone();
    match sign_in_and_keep(&deps, job).await {
        Ok(account) => {
            tracing::info!(account = %account.key, "signed in");
            let woken = clear_sign_in_waits(&deps).await;
            deps.events.send(Event::SignedIn {
                sign_in,
                account: account.clone(),
            });
            send_accounts(&deps).await;
            SignInEnd {
                sign_in,
                account: Some(account),
                woken,
            }
        }
        Err(refused) => {
            tracing::warn!(url = %url, reason = %refused.message, "sign-in failed");
            deps.events.send(Event::SignInFailed {
                sign_in,
                failure: refused.failure,
                message: refused.message,
            });
            SignInEnd {
                sign_in,
                account: None,
                woken: Vec::new(),
            }
        }
    }
}

async fn sign_in_and_keep(deps: &Deps, job: SignInJob) -> Result<Account, Refused> {
    let client = &deps.sign_in_client();
    let mut options = TokenOptions::default();
    if let Some(minutes) = job.expiration_minutes {
        options.expiration_minutes = minutes;
    }
    let plan = client.discover(&job.url).await?;
    if let SignInPlan::NotNeeded { server_root } = &plan {
        return Err(Refused {
            failure: SignInFailure::NotNeeded,
            message: format!("{server_root} does not use tokens: no sign-in is needed"),
        });
    }
    let (session, password) = match job.method {
        SignInRequest::Password {
            username,
            password,
            remember,
        } => {
            let keep = if remember {
                RememberPassword::Yes
            } else {
                RememberPassword::No
            };
            let session = client
                .sign_in_with_password(&plan, &username, password.clone(), keep, options)
                .await?;
            (session, remember.then_some(password))
        }
        SignInRequest::Browser { client_id, port } => {
            let redirect = Redirect::Loopback {
                port: port.unwrap_or(0),
                path: LOOPBACK_PATH.into(),
            };
            let started = browser(
                deps,
                client,
                &plan,
                &client_id,
                redirect,
                options,
                job.sign_in,
            )
            .await?;
            let session = tokio::select! {
                finished = started.finish(BROWSER_TIMEOUT) => finished?,
                _ = cancelled(job.cancel) => return Err(cancelled_refusal()),
            };
            (session, None)
        }
        SignInRequest::PastedCode { client_id } => {
            let started = browser(
                deps,
                client,
                &plan,
                &client_id,
                Redirect::OutOfBand,
                options,
                job.sign_in,
            )
            .await?;
            let code = tokio::select! {
                code = job.code => code.map_err(|_| cancelled_refusal())?,
                _ = cancelled(job.cancel) => return Err(cancelled_refusal()),
            };
            (started.finish_with_code(code.expose()).await?, None)
        }
    };
    keep(deps, session, password).await
}

/// Starts a browser sign-in at the plan's portal and tells the front end where to send the user.
async fn browser(
    deps: &Deps,
    client: &SignInClient,
    plan: &SignInPlan,
    client_id: &str,
    redirect: Redirect,
    options: TokenOptions,
    sign_in: CommandId,
) -> Result<crate::service::sign_in::BrowserSignIn, Refused> {
    let SignInPlan::Portal(portal) = plan else {
        return Err(Refused {
            failure: SignInFailure::Other,
            message: "the browser sign-in needs a portal or ArcGIS Online; this server has its \
                      own users: sign in with a username and password"
                .into(),
        });
    };
    let oob = matches!(redirect, Redirect::OutOfBand);
    let started = client
        .start_browser_sign_in(&portal.portal, client_id, redirect, options)
        .await?;
    deps.events.send(Event::BrowserSignInStarted {
        sign_in,
        authorize_url: started.authorize_url().to_string(),
        oob,
    });
    Ok(started)
}

fn cancelled_refusal() -> Refused {
    Refused {
        failure: SignInFailure::Cancelled,
        message: "the sign-in was cancelled".into(),
    }
}

async fn cancelled(mut cancel: watch::Receiver<bool>) {
    if cancel.wait_for(|c| *c).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Keeps the new session (secrets to the store, metadata to the app database) and makes it the
/// engine's session of its account.
async fn keep(
    deps: &Deps,
    session: SignInSession,
    password: Option<Secret>,
) -> Result<Account, Refused> {
    let key = sessions::key_of(&session);
    let record = session.record().await;
    let creds = deps.secrets.clone();
    let (saved_key, saved_password) = (key.clone(), password.clone());
    let account = deps
        .blocking(move |store| sessions::save(store, &creds, &saved_key, &record, saved_password))
        .await?;
    sessions::register(deps, key, session, password);
    Ok(account)
}

/// After a sign-in: no replica waits for one any more (one whose server the new account does
/// not cover is marked again by its next sync). Returns the replicas that waited.
async fn clear_sign_in_waits(deps: &Deps) -> Vec<LocalReplicaId> {
    deps.with_store(|s| {
        let mut cleared = Vec::new();
        for record in s.replicas()? {
            if s.sign_in_needed(record.local_id)?.is_some() {
                s.set_sign_in_needed(record.local_id, None)?;
                cleared.push(record.local_id);
            }
        }
        Ok(cleared)
    })
    .await
    .unwrap_or_else(|e| {
        tracing::warn!(error = %e, "could not clear the replicas' sign-in waits");
        Vec::new()
    })
}

/// Sends every account as [`Event::Accounts`].
pub(crate) async fn send_accounts(deps: &Deps) {
    match deps.with_store(|s| s.accounts()).await {
        Ok(accounts) => deps.events.send(Event::Accounts(accounts)),
        Err(e) => tracing::warn!(error = %e, "could not list the accounts"),
    }
}

/// Signs out of `key`: the session is dropped, its secrets and record forgotten.
pub(crate) async fn sign_out(deps: &Deps, key: AccountKey) -> Result<bool, EngineError> {
    deps.sessions.remove(&key);
    let creds = deps.secrets.clone();
    let signed_out = key.clone();
    let was = deps
        .blocking(move |s| secrets::sign_out(s, &creds, &signed_out))
        .await?;
    deps.events.send(Event::SignedOut { account: key });
    send_accounts(deps).await;
    Ok(was)
}
