//! The built-in portal's OAuth 2.0 over real HTTP, with the test playing the browser: the
//! authorize form, PKCE, refused verifiers and redirect URIs, the out-of-band code page, refresh
//! and exchange_refresh_token, and the federated exchange of a portal token for a server token.

use crate::support::browser::{browser, hidden_fields};
use crate::support::server::*;
use base64::Engine;
use serde_json::Value;
use sha2::Digest;
use std::time::Duration;
use syncwatch::server::{AuthSettings, OAuthAppDef, ServerConfig};

const CLIENT_ID: &str = "field-app";
const OOB: &str = "urn:ietf:wg:oauth:2.0:oob";
const VERIFIER: &str = "a-verifier-of-more-than-forty-three-characters-0123456789";

/// A federated, token-secured demo service with one OAuth app registered for `redirect` and the
/// out-of-band redirect.
async fn portal(redirect: &str, auth: AuthSettings) -> Fixture {
    let mut def = secured_demo();
    def.federated = true;
    def.oauth_apps.push(OAuthAppDef {
        client_id: CLIENT_ID.into(),
        redirect_uris: vec![redirect.into(), OOB.into()],
    });
    start_with(ServerConfig {
        definition: Some(def),
        auth,
        ..Default::default()
    })
    .await
}

/// A loopback address the test "listens" on (bound, so the port is really ours).
async fn loopback_redirect() -> (tokio::net::TcpListener, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    (listener, format!("http://127.0.0.1:{port}/callback"))
}

fn challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier))
}

fn authorize_query(redirect: &str, state: &str) -> Vec<(&'static str, String)> {
    vec![
        ("client_id", CLIENT_ID.into()),
        ("response_type", "code".into()),
        ("redirect_uri", redirect.into()),
        ("state", state.into()),
        ("code_challenge", challenge(VERIFIER)),
        ("code_challenge_method", "S256".into()),
        ("expiration", "20160".into()),
    ]
}

/// GET the authorize page and POST its form as `user`; the response (a redirect, or a page).
async fn sign_in_through_form(
    fx: &Fixture,
    redirect: &str,
    user: &str,
    password: &str,
) -> reqwest::Response {
    let authorize = format!("{}/sharing/rest/oauth2/authorize", fx.server.base_url());
    let page = browser()
        .get(&authorize)
        .query(&authorize_query(redirect, "st-42"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text().await.unwrap();
    assert!(html.contains("<form method=\"post\""), "{html}");
    let mut form = hidden_fields(&html);
    assert!(
        form.iter()
            .any(|(k, v)| k == "redirect_uri" && v == redirect)
    );
    form.push(("username".into(), user.into()));
    form.push(("password".into(), password.into()));
    browser().post(&authorize).form(&form).send().await.unwrap()
}

/// The code in a redirect's `Location`, after checking `state` came back.
fn code_from_redirect(response: &reqwest::Response, redirect: &str) -> String {
    assert_eq!(response.status().as_u16(), 302);
    let location = response.headers()["location"].to_str().unwrap();
    assert!(location.starts_with(&format!("{redirect}?")), "{location}");
    let url = url::Url::parse(location).unwrap();
    let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    assert!(query.contains(&("state".into(), "st-42".into())));
    query
        .into_iter()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v)
        .expect("code")
}

async fn exchange(fx: &Fixture, code: &str, redirect: &str, verifier: &str) -> Value {
    fx.post_path(
        "/sharing/rest/oauth2/token",
        &[
            ("client_id", CLIENT_ID),
            ("grant_type", "authorization_code"),
            ("redirect_uri", redirect),
            ("code", code),
            ("code_verifier", verifier),
            ("f", "json"),
        ],
    )
    .await
}

fn oauth_error(reply: &Value) -> (i64, String, String) {
    let e = &reply["error"];
    assert_eq!(e["message"], e["error_description"], "{reply}");
    (
        e["code"].as_i64().unwrap_or(0),
        e["error"].as_str().unwrap_or("").into(),
        e["error_description"].as_str().unwrap_or("").into(),
    )
}

/// The PKCE round trip: authorize page, form, redirect with code and state, code exchange with the
/// verifier (ArcGIS's reply fields); the code is single use; the access token is a portal token,
/// exchanged at the portal's generateToken with `serverUrl` for a server token the service takes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pkce_round_trip_and_federated_exchange() {
    let (_listener, redirect) = loopback_redirect().await;
    let fx = portal(&redirect, AuthSettings::default()).await;
    let base = fx.server.base_url().to_string();
    let response = sign_in_through_form(&fx, &redirect, "tech1", TECH1_PASSWORD).await;
    let code = code_from_redirect(&response, &redirect);
    let tokens = exchange(&fx, &code, &redirect, VERIFIER).await;
    assert_eq!(tokens["username"], "tech1", "{tokens}");
    assert_eq!(tokens["expires_in"], 1800);
    assert_eq!(tokens["refresh_token_expires_in"], 20160 * 60);
    assert_eq!(tokens["ssl"], false);
    let access = tokens["access_token"].as_str().unwrap();
    assert!(tokens["refresh_token"].as_str().unwrap().len() >= 40);
    let again = exchange(&fx, &code, &redirect, VERIFIER).await;
    assert_eq!(
        oauth_error(&again),
        (
            400,
            "invalid_request".into(),
            "Invalid authorization code".into()
        )
    );

    // Federation: rest/info names the portal; its token service mints the server token.
    let (_, info) = fx
        .get_json(&format!("{base}/arcgis/rest/info?f=json"))
        .await;
    assert_eq!(info["owningSystemUrl"], base);
    let (_, portal_info) = fx
        .get_json(&format!(
            "{}/sharing/rest/info?f=json",
            info["owningSystemUrl"].as_str().unwrap()
        ))
        .await;
    let token_service = portal_info["authInfo"]["tokenServicesUrl"]
        .as_str()
        .unwrap();
    assert_eq!(info["authInfo"]["tokenServicesUrl"], token_service);
    assert_eq!(fx.replicas_with(access).await["error"]["code"], 498);
    let server_root = format!("{base}/arcgis");
    let server_token = fx
        .http
        .post(token_service)
        .form(&[
            ("token", access),
            ("serverUrl", server_root.as_str()),
            ("expiration", "60"),
            ("f", "json"),
        ])
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let server_token = server_token["token"]
        .as_str()
        .unwrap_or_else(|| panic!("{server_token}"));
    assert!(fx.replicas_with(server_token).await.is_array());
    // A server token cannot be exchanged again, nor a guess; another server is not federated.
    let reexchange = fx
        .post_path(
            "/sharing/rest/generateToken",
            &[("token", server_token), ("serverUrl", server_root.as_str())],
        )
        .await;
    assert_eq!(reexchange["error"]["code"], 498);
    assert_eq!(reexchange["error"]["message"], "Invalid token.");
    let elsewhere = fx
        .post_path(
            "/sharing/rest/generateToken",
            &[
                ("token", access),
                ("serverUrl", "https://gis.example.com/arcgis"),
            ],
        )
        .await;
    assert_eq!(elsewhere["error"]["message"], "Unable to generate token.");
}

/// A wrong verifier is refused (and spends the code); an unregistered redirect URI (another
/// port) and an unknown client are refused with an error page, not a redirect; a wrong password
/// shows the form again with the error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_verifier_redirect_and_password_are_refused() {
    let (_listener, redirect) = loopback_redirect().await;
    let fx = portal(&redirect, AuthSettings::default()).await;
    let code = code_from_redirect(
        &sign_in_through_form(&fx, &redirect, "tech1", TECH1_PASSWORD).await,
        &redirect,
    );
    let wrong = exchange(
        &fx,
        &code,
        &redirect,
        "some-other-verifier-0123456789-0123456789",
    )
    .await;
    assert_eq!(
        oauth_error(&wrong),
        (
            400,
            "invalid_request".into(),
            "Invalid code_verifier".into()
        )
    );
    assert!(exchange(&fx, &code, &redirect, VERIFIER).await["access_token"].is_null());

    let authorize = format!("{}/sharing/rest/oauth2/authorize", fx.server.base_url());
    let other_port = redirect.replace("127.0.0.1:", "127.0.0.1:1");
    for (query, message) in [
        (authorize_query(&other_port, "s"), "Invalid redirect_uri"),
        (
            authorize_query(&redirect, "s")
                .into_iter()
                .map(|(k, v)| {
                    if k == "client_id" {
                        (k, "nope".into())
                    } else {
                        (k, v)
                    }
                })
                .collect(),
            "Invalid client_id",
        ),
    ] {
        let page = browser()
            .get(&authorize)
            .query(&query)
            .send()
            .await
            .unwrap();
        assert_eq!(page.status().as_u16(), 400);
        assert!(page.headers().get("location").is_none());
        assert!(page.text().await.unwrap().contains(message), "{message}");
    }
    let code = code_from_redirect(
        &sign_in_through_form(&fx, &redirect, "tech1", TECH1_PASSWORD).await,
        &redirect,
    );
    let wrong_redirect = exchange(&fx, &code, &other_port, VERIFIER).await;
    assert_eq!(oauth_error(&wrong_redirect).2, "Invalid redirect_uri");

    let refused = sign_in_through_form(&fx, &redirect, "tech1", "wrong").await;
    assert_eq!(refused.status().as_u16(), 200);
    let html = refused.text().await.unwrap();
    assert!(html.contains("Invalid username or password."));
    assert!(html.contains("<form method=\"post\""));
}

/// `urn:ietf:wg:oauth:2.0:oob` shows the code on a page; it exchanges like a redirected one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_band_shows_the_code_to_copy() {
    let (_listener, redirect) = loopback_redirect().await;
    let fx = portal(&redirect, AuthSettings::default()).await;
    let page = sign_in_through_form(&fx, OOB, "tech2", TECH2_PASSWORD).await;
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.unwrap();
    let code = html
        .split("<code id=\"code\">")
        .nth(1)
        .and_then(|rest| rest.split("</code>").next())
        .expect("the code on the page");
    let tokens = exchange(&fx, code, OOB, VERIFIER).await;
    assert_eq!(tokens["username"], "tech2", "{tokens}");
}

/// `refresh_token` gives a new access token (no new refresh token); `exchange_refresh_token` a
/// new refresh token; an expired refresh token and a guessed one get ArcGIS's 498 answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_and_exchange_refresh_token() {
    let (_listener, redirect) = loopback_redirect().await;
    let auth = AuthSettings::default()
        .with_token_lifetime(Duration::from_secs(1))
        .with_refresh_token_lifetime(Duration::from_secs(2));
    let fx = portal(&redirect, auth).await;
    let code = code_from_redirect(
        &sign_in_through_form(&fx, &redirect, "tech1", TECH1_PASSWORD).await,
        &redirect,
    );
    let first = exchange(&fx, &code, &redirect, VERIFIER).await;
    assert_eq!(
        (
            first["expires_in"].as_u64(),
            first["refresh_token_expires_in"].as_u64()
        ),
        (Some(1), Some(2))
    );
    let refresh = first["refresh_token"].as_str().unwrap();
    let token = |grant: &'static str, refresh: String, redirect: String| {
        let fx = &fx;
        async move {
            fx.post_path(
                "/sharing/rest/oauth2/token",
                &[
                    ("client_id", CLIENT_ID),
                    ("grant_type", grant),
                    ("refresh_token", refresh.as_str()),
                    ("redirect_uri", redirect.as_str()),
                ],
            )
            .await
        }
    };
    let renewed = token("refresh_token", refresh.into(), String::new()).await;
    assert_eq!(renewed["username"], "tech1", "{renewed}");
    assert!(renewed["access_token"].is_string());
    assert_ne!(renewed["access_token"], first["access_token"]);
    assert!(renewed.get("refresh_token").is_none());
    let exchanged = token("exchange_refresh_token", refresh.into(), redirect.clone()).await;
    let new_refresh = exchanged["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(new_refresh, refresh);
    assert_eq!(exchanged["refresh_token_expires_in"], 2);
    let bad_redirect = token(
        "exchange_refresh_token",
        new_refresh.clone(),
        "http://evil/".into(),
    )
    .await;
    assert_eq!(oauth_error(&bad_redirect).2, "Invalid redirect_uri");
    let guessed = token("refresh_token", "guessed".into(), String::new()).await;
    assert_eq!(
        oauth_error(&guessed),
        (
            498,
            "invalid_request".into(),
            "Invalid refresh_token".into()
        )
    );

    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let expired = token("refresh_token", refresh.into(), String::new()).await;
    assert_eq!(
        oauth_error(&expired),
        (
            498,
            "invalid_request".into(),
            "refresh_token expired".into()
        )
    );
}
