//! Signing in with the real client (`service::sign_in`) against the reference service's token
//! endpoints on 127.0.0.1, each test body run twice: over real HTTPS (the service's self-signed
//! certificate, trusted explicitly as `--ca-cert` does) and over plain HTTP to loopback (the only
//! plain HTTP the client allows). Discovery of standalone and federated setups, generateToken at
//! a server and through the portal, the OAuth PKCE round trip with the test as the browser (the
//! authorize page on the service, the redirect to the client's `http://127.0.0.1` listener), the
//! federated exchange, refusals as one clear line, renewal between two calls, "sign-in needed"
//! when nothing can renew, no secret sent to another origin, and the replies' URLs and `ssl`
//! following the scheme. Over HTTPS only: a certificate that is not trusted stops the sign-in
//! before any password leaves (one line with its fingerprint). Plain HTTP to another host is
//! refused.

use crate::support::browser::free_port;
use crate::support::client_config::fast;
use crate::support::https::with_tls;
use crate::support::server::*;
use axum::extract::{Request, State};
use axum::response::IntoResponse;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use syncwatch::model::Secret;
use syncwatch::server::{AuthSettings, OAuthAppDef, ServerConfig};
use syncwatch::service::sign_in::{
    Redirect, RememberPassword, ServerSignIn, SignInError, SignInPlan, TokenOptions,
};
use syncwatch::service::{
    CaCertificate, ClientConfig, FeatureServiceClient, ServiceClientError, SignInClient,
    SignInSession,
};
use url::Url;

const CLIENT_ID: &str = "syncwatch-field";
const OOB: &str = "urn:ietf:wg:oauth:2.0:oob";

fn url(text: &str) -> Url {
    Url::parse(text).unwrap()
}

/// How the test reaches the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Over {
    /// Plain HTTP to 127.0.0.1.
    Loopback,
    /// HTTPS with the service's self-signed certificate, trusted explicitly.
    Https,
}

/// Each named `async fn(Over)` as two tests: `over_https::NAME` and `over_loopback_http::NAME`.
macro_rules! over_both {
    ($($name:ident),* $(,)?) => {
        mod over_https {
            $(#[tokio::test]
            async fn $name() {
                super::$name(super::Over::Https).await
            })*
        }
        mod over_loopback_http {
            $(#[tokio::test]
            async fn $name() {
                super::$name(super::Over::Loopback).await
            })*
        }
    };
}

over_both!(
    discovery_reads_standalone_and_federated_setups,
    password_sign_in_on_a_standalone_server,
    password_sign_in_through_the_portal_is_exchanged_for_a_server_token,
    wrong_password_unknown_user_and_lock_out_are_one_clear_line,
    oauth_pkce_round_trip_through_the_loopback_listener,
    loopback_listener_checks_state,
    out_of_band_code_and_a_wrong_verifier,
    a_token_that_ends_between_two_calls_is_renewed,
    a_refresh_token_near_its_end_is_exchanged,
    an_ended_refresh_token_means_sign_in_needed,
    tokens_stay_with_their_server_or_portal,
    no_secret_reaches_another_origin,
    urls_and_ssl_in_the_replies_follow_the_scheme,
);

/// The certificates of the fixtures served over TLS (none over plain HTTP).
fn certificates_of(fixtures: &[&Fixture]) -> Vec<CaCertificate> {
    fixtures
        .iter()
        .filter_map(|fx| fx.server.tls_cert_path())
        .flat_map(|path| CaCertificate::from_pem_file(path).expect("the service's certificate"))
        .collect()
}

/// [`fast`] settings trusting the certificates of `fixtures`.
fn config_trusting(fixtures: &[&Fixture]) -> ClientConfig {
    let mut config = fast();
    config.ca_certificates.extend(certificates_of(fixtures));
    config
}

/// A sign-in client that trusts the certificates of `fixtures`.
fn client_trusting(fixtures: &[&Fixture]) -> SignInClient {
    SignInClient::new(&config_trusting(fixtures)).unwrap()
}

fn client(fx: &Fixture) -> SignInClient {
    client_trusting(&[fx])
}

/// The reference service, secured, federated or not, with `auth` and OAuth redirect URIs.
async fn service(
    over: Over,
    federated: bool,
    auth: AuthSettings,
    redirects: Vec<String>,
) -> Fixture {
    let mut def = secured_demo();
    def.federated = federated;
    if !redirects.is_empty() {
        def.oauth_apps.push(OAuthAppDef {
            client_id: CLIENT_ID.into(),
            redirect_uris: redirects,
        });
    }
    start_over(
        over,
        ServerConfig {
            definition: Some(def),
            auth,
            ..Default::default()
        },
    )
    .await
}

async fn start_over(over: Over, config: ServerConfig) -> Fixture {
    let fx = match over {
        Over::Loopback => start_with(config).await,
        Over::Https => start_with(with_tls(config)).await,
    };
    let scheme = if over == Over::Https {
        "https://"
    } else {
        "http://"
    };
    assert!(fx.url.starts_with(scheme), "{}", fx.url);
    fx
}

/// A signed-in client of the fixture's FeatureServer.
fn service_client(fx: &Fixture, session: &SignInSession) -> FeatureServiceClient {
    FeatureServiceClient::with_token_provider(
        &fx.url,
        Arc::new(session.clone()),
        config_trusting(&[fx]),
    )
    .unwrap()
}

async fn password_session(
    fx: &Fixture,
    remember: RememberPassword,
) -> Result<SignInSession, SignInError> {
    password_session_trusting(fx, &[fx], remember).await
}

/// [`password_session`] with a client that trusts the certificates of `trusted`.
async fn password_session_trusting(
    fx: &Fixture,
    trusted: &[&Fixture],
    remember: RememberPassword,
) -> Result<SignInSession, SignInError> {
    let c = client_trusting(trusted);
    let plan = c.discover(&fx.url).await.unwrap();
    c.sign_in_with_password(
        &plan,
        "tech1",
        Secret::new(TECH1_PASSWORD),
        remember,
        TokenOptions::default(),
    )
    .await
}

/// The portal root the reference service serves (its origin).
fn origin(fx: &Fixture) -> Url {
    url(&format!("{}/", fx.server.base_url()))
}

/// Standalone: every URL of the server leads to its advertised token service; federated: to
/// the portal, with the server named; the portal's own root and an open server are recognised.
async fn discovery_reads_standalone_and_federated_setups(over: Over) {
    let standalone = service(over, false, AuthSettings::default(), vec![]).await;
    let base = standalone.server.base_url();
    for given in [
        standalone.url.clone(),
        format!("{}/0", standalone.url),
        format!("{base}/arcgis/rest/services"),
        format!("{base}/arcgis"),
    ] {
        let plan = client(&standalone).discover(&given).await.unwrap();
        let SignInPlan::Server(ServerSignIn {
            server_root,
            token_url,
            short_lived_minutes,
        }) = plan
        else {
            panic!("{given}: {plan:?}")
        };
        assert_eq!(server_root, url(&format!("{base}/arcgis")), "{given}");
        assert_eq!(
            token_url,
            url(&format!("{base}/arcgis/tokens/generateToken"))
        );
        assert_eq!(short_lived_minutes, Some(60));
    }

    let federated = service(over, true, AuthSettings::default(), vec![]).await;
    let base = federated.server.base_url();
    let SignInPlan::Portal(plan) = client(&federated).discover(&federated.url).await.unwrap()
    else {
        panic!("federated server not read as a portal sign-in")
    };
    assert_eq!(plan.federated_server, Some(url(&format!("{base}/arcgis"))));
    assert_eq!(plan.portal.root, origin(&federated));
    assert_eq!(
        plan.portal.token_url,
        Some(url(&format!("{base}/sharing/rest/generateToken")))
    );
    assert_eq!(
        plan.portal.authorize_url,
        url(&format!("{base}/sharing/rest/oauth2/authorize"))
    );
    assert!(!plan.portal.is_arcgis_online());
    // The bare origin has no rest/info: it is read as the portal.
    let SignInPlan::Portal(at_root) = client(&federated).discover(base).await.unwrap() else {
        panic!("the portal root was not read as a portal")
    };
    assert_eq!(at_root.portal, plan.portal);
    assert_eq!(at_root.federated_server, None);

    // Without tokens required and without password users, the server needs no sign-in.
    let mut open_def = demo();
    for user in &mut open_def.users {
        user.password_hash = None;
    }
    let open = start_over(
        over,
        ServerConfig {
            definition: Some(open_def),
            ..Default::default()
        },
    )
    .await;
    assert!(matches!(
        client(&open).discover(&open.url).await.unwrap(),
        SignInPlan::NotNeeded { .. }
    ));
}

/// generateToken on a standalone server: the session's token opens the service.
async fn password_sign_in_on_a_standalone_server(over: Over) {
    let fx = service(over, false, AuthSettings::default(), vec![]).await;
    let session = password_session(&fx, RememberPassword::No).await.unwrap();
    assert_eq!(session.username(), "tech1");
    let expires = session.token_expires_at_ms().await.unwrap();
    assert!(expires > syncwatch::model::now_ms());
    let info = service_client(&fx, &session).service_info().await.unwrap();
    assert!(info.has_capability("Sync"));
    service_client(&fx, &session).replicas().await.unwrap();
}

/// Through the portal: the portal token is exchanged for a server token, which the service
/// takes; the portal token itself is refused there, so the exchange is what made it work.
async fn password_sign_in_through_the_portal_is_exchanged_for_a_server_token(over: Over) {
    let fx = service(over, true, AuthSettings::default(), vec![]).await;
    let session = password_session(&fx, RememberPassword::No).await.unwrap();
    assert_eq!(session.authority().root(), &origin(&fx));
    let replicas = service_client(&fx, &session).replicas().await;
    assert!(replicas.is_ok(), "{replicas:?}");

    let portal_token = session.record().await.token.unwrap().value;
    let direct = FeatureServiceClient::new(
        &fx.url,
        syncwatch::service::Token::from_secret(&portal_token),
        config_trusting(&[&fx]),
    )
    .unwrap();
    let err = direct.replicas().await.unwrap_err();
    assert!(err.is_sign_in_needed(), "{err}");
    assert_eq!(err.code(), Some(498));
}

/// Wrong password, unknown user and a locked-out account: each a typed error, one line, with the
/// server's words.
async fn wrong_password_unknown_user_and_lock_out_are_one_clear_line(over: Over) {
    let fx = service(over, false, AuthSettings::default(), vec![]).await;
    let c = client(&fx);
    let plan = c.discover(&fx.url).await.unwrap();
    let attempt = |user: &'static str, password: &'static str| {
        let c = c.clone();
        let plan = plan.clone();
        async move {
            c.sign_in_with_password(
                &plan,
                user,
                Secret::new(password),
                RememberPassword::No,
                TokenOptions::default(),
            )
            .await
            .unwrap_err()
        }
    };
    let wrong = attempt("tech2", "not-the-password").await;
    assert!(
        matches!(wrong, SignInError::InvalidCredentials { .. }),
        "{wrong}"
    );
    let unknown = attempt("nobody", "whatever").await;
    // ArcGIS answers an unknown user like a wrong password, and so does the client.
    assert!(unknown.is_credentials_refused(), "{unknown}");
    for e in [&wrong, &unknown] {
        let text = e.to_string();
        assert!(text.contains("Invalid username or password."), "{text}");
        assert!(
            !text.contains('\n') && !text.contains("not-the-password"),
            "{text}"
        );
    }
    // Five failures lock the name out; the right password is then refused as locked out.
    for _ in 0..5 {
        attempt("tech2", "wrong").await;
    }
    let locked = attempt("tech2", TECH2_PASSWORD).await;
    assert!(matches!(locked, SignInError::LockedOut { .. }), "{locked}");
    assert!(
        locked
            .to_string()
            .contains("Too many failed sign-in attempts"),
        "{locked}"
    );
    assert!(!locked.to_string().contains('\n'));
}

/// The test plays the browser: GET the authorize page, POST its form, follow the redirect to the
/// client's loopback listener, which answers "close this window"; the session then opens the
/// federated service.
async fn oauth_pkce_round_trip_through_the_loopback_listener(over: Over) {
    let port = free_port();
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let fx = service(over, true, AuthSettings::default(), vec![redirect.clone()]).await;
    let plan = client(&fx).discover(&fx.url).await.unwrap();
    let SignInPlan::Portal(plan) = plan else {
        panic!("{plan:?}")
    };
    let sign_in = client(&fx)
        .start_browser_sign_in(
            &plan.portal,
            CLIENT_ID,
            Redirect::Loopback {
                port,
                path: "/callback".into(),
            },
            TokenOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(sign_in.redirect_uri(), redirect);
    let authorize = sign_in.authorize_url().clone();
    let finished = tokio::spawn(sign_in.finish(Duration::from_secs(30)));

    let location = sign_in_through_form(&fx, &authorize, "tech1", TECH1_PASSWORD).await;
    assert!(location.starts_with(&format!("{redirect}?")), "{location}");
    let landing = browser(&fx).get(&location).send().await.unwrap();
    assert_eq!(landing.status().as_u16(), 200);
    assert!(
        landing
            .text()
            .await
            .unwrap()
            .contains("You can close this window")
    );

    let session = finished.await.unwrap().unwrap();
    assert_eq!(session.username(), "tech1");
    assert!(session.refresh_expires_at_ms().await.is_some());
    let replicas = service_client(&fx, &session).replicas().await;
    assert!(replicas.is_ok(), "{replicas:?}");
}

/// The loopback listener refuses an answer with another state, and ignores other paths.
async fn loopback_listener_checks_state(over: Over) {
    let fx = service(over, true, AuthSettings::default(), vec![]).await;
    let SignInPlan::Portal(plan) = client(&fx).discover(&fx.url).await.unwrap() else {
        panic!("not a portal")
    };
    let sign_in = client(&fx)
        .start_browser_sign_in(
            &plan.portal,
            CLIENT_ID,
            Redirect::loopback(),
            TokenOptions::default(),
        )
        .await
        .unwrap();
    let redirect = sign_in.redirect_uri().to_string();
    let finished = tokio::spawn(sign_in.finish(Duration::from_secs(30)));
    let favicon = browser(&fx)
        .get(url(&redirect).join("/favicon.ico").unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(favicon.status().as_u16(), 404);
    let forged = browser(&fx)
        .get(format!("{redirect}?code=stolen&state=not-ours"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 400);
    let err = finished.await.unwrap().unwrap_err();
    assert!(matches!(err, SignInError::StateMismatch), "{err}");
}

/// Paste-the-code: the out-of-band code signs in; a code exchanged with another sign-in's
/// verifier (a wrong PKCE verifier) is refused in one line.
async fn out_of_band_code_and_a_wrong_verifier(over: Over) {
    let fx = service(over, true, AuthSettings::default(), vec![OOB.into()]).await;
    let SignInPlan::Portal(plan) = client(&fx).discover(&fx.url).await.unwrap() else {
        panic!("not a portal")
    };
    let start = || async {
        client(&fx)
            .start_browser_sign_in(
                &plan.portal,
                CLIENT_ID,
                Redirect::OutOfBand,
                TokenOptions::default(),
            )
            .await
            .unwrap()
    };
    let first = start().await;
    let other = start().await;
    assert_eq!(first.redirect_uri(), OOB);
    let code = code_from_page(&fx, &first.authorize_url().clone()).await;
    let refused = other.finish_with_code(&code).await.unwrap_err();
    let text = refused.to_string();
    assert!(matches!(refused, SignInError::Refused { .. }), "{text}");
    assert!(
        text.to_lowercase().contains("verifier") || text.contains("invalid_grant"),
        "{text}"
    );
    assert!(!text.contains('\n') && !text.contains(&code), "{text}");

    let again = start().await;
    let code = code_from_page(&fx, &again.authorize_url().clone()).await;
    let session = again.finish_with_code(&code).await.unwrap();
    assert!(service_client(&fx, &session).replicas().await.is_ok());
}

/// Tokens that end between two calls are renewed without the user: with the remembered
/// password (generateToken again) and with the OAuth refresh token, also when the service is
/// the first to notice (the client's clock thinks the token is still good: a 498, one renewal,
/// one retry).
async fn a_token_that_ends_between_two_calls_is_renewed(over: Over) {
    let short = AuthSettings::default().with_token_lifetime(Duration::from_secs(2));
    let fx = service(over, false, short.clone(), vec![]).await;
    let session = password_session(&fx, RememberPassword::Yes).await.unwrap();
    let renewals = Arc::new(Mutex::new(0));
    let counter = renewals.clone();
    session.on_renewed(Arc::new(move |_| *counter.lock().unwrap() += 1));
    let c = service_client(&fx, &session);
    c.replicas().await.unwrap();
    tokio::time::sleep(Duration::from_millis(2_200)).await;
    c.replicas().await.unwrap();
    assert_eq!(
        *renewals.lock().unwrap(),
        1,
        "renewed before the second call"
    );

    // The kept record says the token lasts another hour (a skewed clock); the service says 498.
    let mut record = session.record().await;
    let kept = record.token.as_mut().unwrap();
    tokio::time::sleep(Duration::from_millis(2_200)).await;
    kept.expires_at_ms = syncwatch::model::now_ms() + 3_600_000;
    let restored = client(&fx)
        .restore(&record, Some(Secret::new(TECH1_PASSWORD)))
        .unwrap();
    let c = service_client(&fx, &restored);
    let replicas = c.replicas().await;
    assert!(replicas.is_ok(), "renewed after the 498: {replicas:?}");
    assert_ne!(
        restored.record().await.token.unwrap().value,
        record.token.unwrap().value,
        "a new token was minted"
    );

    // OAuth: the access token ends; the refresh token renews it.
    let oauth = service(over, true, short, vec![OOB.into()]).await;
    let session = oob_session(&oauth).await;
    let before = session.record().await;
    let c = service_client(&oauth, &session);
    c.replicas().await.unwrap();
    tokio::time::sleep(Duration::from_millis(2_200)).await;
    c.replicas().await.unwrap();
    let after = session.record().await;
    assert_ne!(after.token.unwrap().value, before.token.unwrap().value);
    assert_eq!(
        after.refresh_token.unwrap().value,
        before.refresh_token.unwrap().value,
        "a refresh token good for two weeks is kept"
    );
}

/// A refresh token that ends within a day is exchanged for a new one (exchange_refresh_token).
async fn a_refresh_token_near_its_end_is_exchanged(over: Over) {
    let auth = AuthSettings::default()
        .with_token_lifetime(Duration::from_secs(2))
        .with_refresh_token_lifetime(Duration::from_secs(3600));
    let fx = service(over, true, auth, vec![OOB.into()]).await;
    let session = oob_session(&fx).await;
    let before = session.record().await.refresh_token.unwrap();
    tokio::time::sleep(Duration::from_millis(2_200)).await;
    let replicas = service_client(&fx, &session).replicas().await;
    assert!(replicas.is_ok(), "{replicas:?}");
    let after = session.record().await.refresh_token.unwrap();
    assert_ne!(after.value, before.value, "a new refresh token");
}

/// A refresh token that has ended: the call fails with SignInNeeded, not retryable, not a reset
/// and not a sync failure of the service.
async fn an_ended_refresh_token_means_sign_in_needed(over: Over) {
    let auth = AuthSettings::default()
        .with_token_lifetime(Duration::from_secs(1))
        .with_refresh_token_lifetime(Duration::from_secs(2));
    let fx = service(over, true, auth, vec![OOB.into()]).await;
    let session = oob_session(&fx).await;
    let c = service_client(&fx, &session);
    c.replicas().await.unwrap();
    tokio::time::sleep(Duration::from_millis(2_300)).await;
    let err = c.replicas().await.unwrap_err();
    assert!(err.is_sign_in_needed(), "{err}");
    assert!(!err.is_transient() && !err.needs_client_reset());
    assert!(err.transport_kind().is_none() && err.service_error().is_none());
    let text = err.to_string();
    assert!(
        text.contains("sign-in needed") && !text.contains('\n'),
        "{text}"
    );

    // A session that keeps nothing to renew with: the same.
    let short = AuthSettings::default().with_token_lifetime(Duration::from_secs(1));
    let fx = service(over, false, short, vec![]).await;
    let session = password_session(&fx, RememberPassword::No).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let err = service_client(&fx, &session).replicas().await.unwrap_err();
    assert!(
        matches!(err, ServiceClientError::SignInNeeded { .. }),
        "{err}"
    );
}

/// A sign-in opens only its own server, or servers federated with its portal: a server that
/// belongs to another portal, or to none, is refused before any token is sent to it.
async fn tokens_stay_with_their_server_or_portal(over: Over) {
    let portal_a = service(over, true, AuthSettings::default(), vec![]).await;
    let portal_b = service(over, true, AuthSettings::default(), vec![]).await;
    let standalone_a = service(over, false, AuthSettings::default(), vec![]).await;
    let standalone_b = service(over, false, AuthSettings::default(), vec![]).await;
    // The client trusts every certificate here: what refuses the token is the federation.
    let all = [&portal_a, &portal_b, &standalone_a, &standalone_b];
    let session = password_session_trusting(&portal_a, &all, RememberPassword::No)
        .await
        .unwrap();
    let err = service_client(&portal_b, &session)
        .replicas()
        .await
        .unwrap_err();
    assert!(err.is_sign_in_needed(), "{err}");
    assert!(err.to_string().contains("not federated"), "{err}");

    let session = password_session_trusting(&standalone_a, &all, RememberPassword::No)
        .await
        .unwrap();
    let err = service_client(&standalone_b, &session)
        .replicas()
        .await
        .unwrap_err();
    assert!(err.is_sign_in_needed(), "{err}");
    assert!(err.to_string().contains("not for this server"), "{err}");
    // A standalone server is not federated with any portal either.
    let session = password_session_trusting(&portal_a, &all, RememberPassword::No)
        .await
        .unwrap();
    let err = service_client(&standalone_b, &session)
        .replicas()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("users of its own"), "{err}");
}

/// What the service hands out says the scheme it is reached by: rest/info's
/// `tokenServicesUrl` and `owningSystemUrl`, the portal's info, an async job's `statusUrl` and
/// `resultUrl`, and `ssl` in generateToken replies (server and portal) is true exactly over
/// HTTPS.
async fn urls_and_ssl_in_the_replies_follow_the_scheme(over: Over) {
    let https = over == Over::Https;
    let scheme = if https { "https://" } else { "http://" };
    for federated in [false, true] {
        let fx = service(over, federated, AuthSettings::default(), vec![]).await;
        let base = fx.server.base_url().to_string();
        assert!(base.starts_with(scheme), "{base}");
        let get = |path: String| {
            let http = browser(&fx);
            async move {
                let reply = http.get(path).query(&[("f", "json")]).send().await.unwrap();
                reply.json::<serde_json::Value>().await.unwrap()
            }
        };
        let info = get(format!("{base}/arcgis/rest/info")).await;
        let tokens = info["authInfo"]["tokenServicesUrl"].as_str().unwrap();
        assert!(tokens.starts_with(&format!("{base}/")), "{info}");
        if federated {
            assert_eq!(info["owningSystemUrl"], base.as_str(), "{info}");
            let portal = get(format!("{base}/sharing/rest/info")).await;
            assert_eq!(portal["owningSystemUrl"], base.as_str(), "{portal}");
            let portal_tokens = portal["authInfo"]["tokenServicesUrl"].as_str().unwrap();
            assert!(portal_tokens.starts_with(&format!("{base}/")), "{portal}");
        } else {
            assert!(info.get("owningSystemUrl").is_none(), "{info}");
        }
        let minted: serde_json::Value = browser(&fx)
            .post(tokens)
            .form(&[
                ("username", "tech1"),
                ("password", TECH1_PASSWORD),
                ("client", "referer"),
                ("referer", "https://syncwatch.local"),
                ("f", "json"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(minted["token"].is_string(), "{minted}");
        assert_eq!(minted["ssl"], https, "generateToken at {tokens}: {minted}");
        if !federated {
            let token = minted["token"].as_str().unwrap();
            let (status_url, result_url) = async_create_urls(&fx, token).await;
            assert!(status_url.starts_with(&format!("{base}/")), "{status_url}");
            assert!(result_url.starts_with(&format!("{base}/")), "{result_url}");
        }
    }
}

/// An async createReplica (URL transport) as `token`: its `statusUrl` and, once the job has
/// completed, its `resultUrl`.
async fn async_create_urls(fx: &Fixture, token: &str) -> (String, String) {
    let http = browser(fx);
    let created: serde_json::Value = http
        .post(format!("{}/createReplica", fx.url))
        .form(&[
            ("f", "json"),
            ("token", token),
            ("replicaName", "scheme"),
            ("layers", "0"),
            ("transportType", "esriTransportTypeUrl"),
            ("syncModel", "perReplica"),
            ("async", "true"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let status_url = created["statusUrl"]
        .as_str()
        .unwrap_or_else(|| panic!("{created}"))
        .to_string();
    for _ in 0..400 {
        let status: serde_json::Value = http
            .get(&status_url)
            .query(&[("f", "json"), ("token", token)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        match status["status"].as_str() {
            Some("Completed") => {
                let result = status["resultUrl"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{status}"));
                return (status_url, result.to_string());
            }
            Some("Failed") | Some("CompletedWithErrors") => panic!("{status}"),
            _ => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
    panic!("the createReplica job never finished")
}

/// Over HTTPS with a certificate the client does not trust: discovery and generateToken each
/// fail with one line naming the certificate's SHA-256 fingerprint, and no password reaches the
/// service — five wrong passwords sent that way would have locked the user out, yet the right
/// password then signs in with a client that trusts the certificate.
#[tokio::test]
async fn an_untrusted_certificate_stops_the_sign_in_before_the_password() {
    let fx = service(Over::Https, false, AuthSettings::default(), vec![]).await;
    let fingerprint = certificates_of(&[&fx])[0].fingerprint_sha256();
    let untrusting = SignInClient::new(&fast()).unwrap();
    let check = |e: &SignInError| {
        let text = e.to_string();
        assert!(
            matches!(e, SignInError::UntrustedCertificate { .. }),
            "{text}"
        );
        assert_eq!(
            e.untrusted_certificate_fingerprint(),
            Some(fingerprint.as_str())
        );
        assert!(
            text.contains(&fingerprint) && text.contains("--ca-cert"),
            "{text}"
        );
        assert!(
            !text.contains('\n') && !text.contains("not-the-password"),
            "{text}"
        );
    };
    check(&untrusting.discover(&fx.url).await.unwrap_err());

    let base = fx.server.base_url();
    let plan = SignInPlan::Server(ServerSignIn {
        server_root: url(&format!("{base}/arcgis")),
        token_url: url(&format!("{base}/arcgis/tokens/generateToken")),
        short_lived_minutes: None,
    });
    for _ in 0..5 {
        let refused = untrusting
            .sign_in_with_password(
                &plan,
                "tech1",
                Secret::new("not-the-password"),
                RememberPassword::No,
                TokenOptions::default(),
            )
            .await
            .unwrap_err();
        check(&refused);
    }
    let session = password_session(&fx, RememberPassword::No).await;
    assert!(session.is_ok(), "the service saw a password: {session:?}");
}

/// A password is never sent over plain HTTP to another computer.
#[tokio::test]
async fn plain_http_to_another_host_is_refused() {
    let plan = SignInPlan::Server(ServerSignIn {
        server_root: url("http://gis.example.com/arcgis"),
        token_url: url("http://gis.example.com/arcgis/tokens/generateToken"),
        short_lived_minutes: None,
    });
    let err = SignInClient::new(&fast())
        .unwrap()
        .sign_in_with_password(
            &plan,
            "tech1",
            Secret::new("pw"),
            RememberPassword::No,
            TokenOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, SignInError::InsecureTransport { .. }),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.contains("gis.example.com") && text.contains("https://"),
        "{text}"
    );
}

/// Captured traffic: a signed-in client sends its token (and the password never) to a status
/// URL on another origin; the service's own requests carry the token in a header, not the URL.
async fn no_secret_reaches_another_origin(over: Over) {
    let fx = service(over, true, AuthSettings::default(), vec![]).await;
    let session = password_session(&fx, RememberPassword::Yes).await.unwrap();
    let (foreign, seen) = recording_host().await;
    let c = service_client(&fx, &session);
    c.replicas().await.unwrap();
    let _ = c.job_status(&format!("{foreign}/jobs/1")).await;
    let record = session.record().await;
    let token = record.token.unwrap().value;
    let seen = seen.lock().unwrap();
    assert!(!seen.is_empty(), "the foreign host was asked");
    for request in seen.iter() {
        let lower = request.to_lowercase();
        assert!(
            !request.contains(token.expose()) && !request.contains(TECH1_PASSWORD),
            "a secret leaked to another origin: {request}"
        );
        assert!(
            !lower.contains("bearer") && !lower.contains("\"referer\""),
            "token header or its referer sent to another origin: {request}"
        );
    }
}

// --- the test's browser and stand-in host ---------------------------------------------------

/// The test's browser: follows no redirect, trusts the fixture's certificate.
fn browser(fx: &Fixture) -> reqwest::Client {
    crate::support::browser::trusting(fx.server.tls_cert_path())
}

/// GETs the authorize page, POSTs its form as `user`; the response.
async fn submit_form(
    fx: &Fixture,
    authorize: &Url,
    user: &str,
    password: &str,
) -> reqwest::Response {
    crate::support::browser::submit_form_with(&browser(fx), authorize.as_str(), user, password)
        .await
}

/// The redirect the portal answers the form with.
async fn sign_in_through_form(fx: &Fixture, authorize: &Url, user: &str, password: &str) -> String {
    let reply = submit_form(fx, authorize, user, password).await;
    assert_eq!(reply.status().as_u16(), 302);
    reply.headers()["location"].to_str().unwrap().to_string()
}

/// The code the out-of-band page shows.
async fn code_from_page(fx: &Fixture, authorize: &Url) -> String {
    crate::support::browser::code_from_page_with(
        &browser(fx),
        authorize.as_str(),
        "tech1",
        TECH1_PASSWORD,
    )
    .await
}

/// A browser sign-in through the out-of-band page.
async fn oob_session(fx: &Fixture) -> SignInSession {
    let SignInPlan::Portal(plan) = client(fx).discover(&fx.url).await.unwrap() else {
        panic!("not a portal")
    };
    let sign_in = client(fx)
        .start_browser_sign_in(
            &plan.portal,
            CLIENT_ID,
            Redirect::OutOfBand,
            TokenOptions::default(),
        )
        .await
        .unwrap();
    let code = code_from_page(fx, &sign_in.authorize_url().clone()).await;
    sign_in.finish_with_code(&code).await.unwrap()
}

type Seen = Arc<Mutex<Vec<String>>>;

async fn record(State(seen): State<Seen>, request: Request) -> axum::response::Response {
    let head = format!("{} {:?}", request.uri(), request.headers());
    let body = axum::body::to_bytes(request.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    seen.lock()
        .unwrap()
        .push(format!("{head} {}", String::from_utf8_lossy(&body)));
    (
        [("content-type", "application/json")],
        r#"{"status":"Completed","responseType":"esriReplicaResponseTypeNoEdits"}"#,
    )
        .into_response()
}

/// Another origin that records every request it gets.
async fn recording_host() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let app = axum::Router::new()
        .fallback(record)
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    (format!("http://{addr}"), seen)
}
