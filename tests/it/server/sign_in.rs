//! Signing in to the reference service over real HTTP: generateToken on the server's two paths
//! and the portal, wrong passwords and unknown users, lock-outs, token expiry, 498/499, token
//! guessing, and passwords kept only as hashes.

use crate::support::server::*;
use serde_json::Value;
use std::time::Duration;
use syncwatch::server::{AttemptLimit, AuthSettings, ServerConfig, ServiceDefinition, UserDef};

const SERVER_TOKENS: &str = "/arcgis/tokens/generateToken";
const ADMIN_TOKENS: &str = "/arcgis/admin/generateToken";
const PORTAL_TOKENS: &str = "/sharing/rest/generateToken";

async fn secured_with(auth: AuthSettings) -> Fixture {
    start_with(ServerConfig {
        definition: Some(secured_demo()),
        auth,
        ..Default::default()
    })
    .await
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn details(reply: &Value) -> Vec<String> {
    reply["error"]["details"]
        .as_array()
        .map(|d| {
            d.iter()
                .filter_map(|v| v.as_str())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// `rest/info` advertises the token service; generateToken answers `{token, expires, ssl}` on
/// `/arcgis/tokens/generateToken`, `/arcgis/admin/generateToken` and the portal's
/// `/sharing/rest/generateToken`; the server tokens open the secured service, the portal token
/// does not (it is foreign to an unfederated server); GET and credentials in the URL are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generate_token_on_both_server_paths_and_the_portal() {
    let fx = secured_with(AuthSettings::default()).await;
    let base = fx.server.base_url().to_string();
    let (_, info) = fx
        .get_json(&format!("{base}/arcgis/rest/info?f=json"))
        .await;
    assert_eq!(info["authInfo"]["isTokenBasedSecurity"], true);
    assert_eq!(
        info["authInfo"]["tokenServicesUrl"],
        format!("{base}{SERVER_TOKENS}")
    );
    assert_eq!(info["authInfo"]["shortLivedTokenValidity"], 60);
    assert!(
        info.get("owningSystemUrl").is_none(),
        "not federated: {info}"
    );
    let (_, portal_info) = fx
        .get_json(&format!("{base}/sharing/rest/info?f=json"))
        .await;
    assert_eq!(
        portal_info["authInfo"]["tokenServicesUrl"],
        format!("{base}{PORTAL_TOKENS}")
    );

    for path in [SERVER_TOKENS, ADMIN_TOKENS, PORTAL_TOKENS] {
        let before = now_ms();
        let reply = fx.generate_token(path, "tech1", TECH1_PASSWORD).await;
        let token = reply["token"]
            .as_str()
            .unwrap_or_else(|| panic!("{path}: {reply}"));
        assert!(token.len() >= 40, "{path}: a long random token");
        assert_eq!(reply["ssl"], false, "{path}");
        let expires = reply["expires"].as_i64().expect("expires");
        assert!(
            (before + 59 * 60_000..=now_ms() + 60 * 60_000).contains(&expires),
            "{path}: expires in the 60 minutes asked for"
        );
        let replicas = fx.replicas_with(token).await;
        if path == PORTAL_TOKENS {
            assert_eq!(
                replicas["error"]["code"], 498,
                "a portal token is foreign here"
            );
        } else {
            assert!(replicas.is_array(), "{path}: {replicas}");
        }
    }

    let get = fx
        .http
        .get(format!("{base}{SERVER_TOKENS}?f=json"))
        .send()
        .await
        .unwrap();
    assert_eq!(get.status().as_u16(), 405);
    let in_url = fx
        .post_path(
            &format!("{SERVER_TOKENS}?username=tech1&password={TECH1_PASSWORD}"),
            &[("f", "json")],
        )
        .await;
    assert_eq!(in_url["error"]["message"], "Unable to generate token.");
    assert!(in_url.get("token").is_none());
}

/// A wrong password and an unknown user get the same ArcGIS answer; missing parameters are named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_and_unknown_user_answer_alike() {
    let fx = secured_with(AuthSettings::default()).await;
    for path in [SERVER_TOKENS, ADMIN_TOKENS, PORTAL_TOKENS] {
        let wrong = fx.generate_token(path, "tech1", "not-the-password").await;
        let unknown = fx.generate_token(path, "nobody", TECH1_PASSWORD).await;
        let case = fx.generate_token(path, "TECH1", TECH1_PASSWORD).await;
        for reply in [&wrong, &unknown, &case] {
            assert_eq!(reply["error"]["code"], 400, "{path}: {reply}");
            assert_eq!(reply["error"]["message"], "Unable to generate token.");
            assert_eq!(details(reply), ["Invalid username or password."]);
        }
    }
    let missing = fx
        .post_path(SERVER_TOKENS, &[("username", "tech1"), ("f", "json")])
        .await;
    assert_eq!(details(&missing), ["'password' must be specified."]);
    let no_referer = fx
        .post_path(
            SERVER_TOKENS,
            &[
                ("username", "tech1"),
                ("password", TECH1_PASSWORD),
                ("client", "referer"),
            ],
        )
        .await;
    assert_eq!(details(&no_referer), ["'referer' must be specified."]);
}

fn limit(max_failures: u32, lockout: Duration) -> AttemptLimit {
    AttemptLimit {
        max_failures,
        window: Duration::from_secs(60),
        lockout,
    }
}

/// Three failures lock the user out with a line saying when to try again; the right password
/// is refused meanwhile, other users are not; the lock lifts after its time. Failures from one
/// address across user names lock the address out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_sign_ins_lock_out_with_a_clear_error() {
    let auth = AuthSettings {
        user_sign_in_limit: limit(3, Duration::from_secs(2)),
        address_sign_in_limit: limit(6, Duration::from_secs(60)),
        ..Default::default()
    };
    let fx = secured_with(auth).await;
    for _ in 0..2 {
        let reply = fx.generate_token(SERVER_TOKENS, "tech1", "wrong").await;
        assert_eq!(details(&reply), ["Invalid username or password."]);
    }
    let third = fx.generate_token(SERVER_TOKENS, "tech1", "wrong").await;
    let line = &details(&third)[0];
    assert!(
        line.starts_with("Too many failed sign-in attempts. Try again in 2 seconds (after ")
            && line.ends_with(" UTC)."),
        "{line}"
    );
    let right_but_locked = fx
        .generate_token(PORTAL_TOKENS, "tech1", TECH1_PASSWORD)
        .await;
    assert!(right_but_locked.get("token").is_none());
    assert!(details(&right_but_locked)[0].starts_with("Too many failed sign-in attempts."));
    let other_user = fx
        .generate_token(SERVER_TOKENS, "tech2", TECH2_PASSWORD)
        .await;
    assert!(other_user["token"].is_string(), "{other_user}");

    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let after = fx
        .generate_token(SERVER_TOKENS, "tech1", TECH1_PASSWORD)
        .await;
    assert!(after["token"].is_string(), "the lock lifted: {after}");

    // Three more failures (six from this address in all) lock the address, for every name.
    for name in ["x1", "x2"] {
        let reply = fx.generate_token(SERVER_TOKENS, name, "wrong").await;
        assert_eq!(details(&reply), ["Invalid username or password."]);
    }
    let sixth = fx.generate_token(SERVER_TOKENS, "x3", "wrong").await;
    assert!(
        details(&sixth)[0].contains("Try again in 60 seconds"),
        "{sixth}"
    );
    let admin = fx
        .generate_token(SERVER_TOKENS, "admin", "admin-pass")
        .await;
    assert!(
        admin.get("token").is_none(),
        "the address is locked: {admin}"
    );
}

/// A token opens the secured service until its lifetime (capped by the server) ends; then 498.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_expire_after_the_configured_lifetime() {
    let fx =
        secured_with(AuthSettings::default().with_token_lifetime(Duration::from_secs(1))).await;
    let before = now_ms();
    let reply = fx
        .generate_token(SERVER_TOKENS, "tech1", TECH1_PASSWORD)
        .await;
    let expires = reply["expires"].as_i64().unwrap();
    assert!(
        expires <= now_ms() + 1_000 && expires >= before + 1_000,
        "60 minutes capped to 1 s"
    );
    let token = reply["token"].as_str().unwrap();
    assert!(fx.replicas_with(token).await.is_array());
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let expired = fx.replicas_with(token).await;
    assert_eq!(expired["error"]["code"], 498);
    assert_eq!(expired["error"]["message"], "Invalid Token");
    assert_eq!(details(&expired), ["Token has expired."]);
}

/// No token: 499 "Token Required". A guessed token, one bound to another address (`client=ip`)
/// and a portal token: 498 "Invalid Token", in a 200 body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_guessed_and_foreign_tokens() {
    let fx = secured_with(AuthSettings::default()).await;
    let resp = fx
        .http
        .post(format!("{}/replicas", fx.url))
        .form(&[("f", "json")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let missing: Value = resp.json().await.unwrap();
    assert_eq!(missing["error"]["code"], 499);
    assert_eq!(missing["error"]["message"], "Token Required");

    let bound_elsewhere = fx
        .post_path(
            SERVER_TOKENS,
            &[
                ("username", "tech1"),
                ("password", TECH1_PASSWORD),
                ("client", "ip"),
                ("ip", "10.1.2.3"),
            ],
        )
        .await;
    let portal = fx
        .generate_token(PORTAL_TOKENS, "tech1", TECH1_PASSWORD)
        .await;
    for token in [
        "guessed-token",
        bound_elsewhere["token"].as_str().unwrap(),
        portal["token"].as_str().unwrap(),
    ] {
        let reply = fx.replicas_with(token).await;
        assert_eq!(reply["error"]["code"], 498, "{reply}");
        assert_eq!(reply["error"]["message"], "Invalid Token");
    }
    let here = fx
        .post_path(
            SERVER_TOKENS,
            &[
                ("username", "tech1"),
                ("password", TECH1_PASSWORD),
                ("client", "requestip"),
            ],
        )
        .await;
    assert!(
        fx.replicas_with(here["token"].as_str().unwrap())
            .await
            .is_array()
    );
}

/// Guessing tokens from one address is cut off after the limit: every further token from it
/// (even a valid one) is refused with 429 until the lock-out ends, so guesses learn nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_guesses_are_rate_limited_per_address() {
    let auth = AuthSettings {
        token_guess_limit: limit(20, Duration::from_secs(60)),
        ..Default::default()
    };
    let fx = secured_with(auth).await;
    let mut refused_as_invalid = 0;
    let mut cut_off_at = None;
    for i in 0..200 {
        let reply = fx.replicas_with(&format!("guess-{i}")).await;
        match reply["error"]["code"].as_i64() {
            Some(498) => refused_as_invalid += 1,
            Some(429) => {
                cut_off_at = Some(i);
                break;
            }
            other => panic!("unexpected answer to a guess: {other:?}"),
        }
    }
    assert_eq!((refused_as_invalid, cut_off_at), (19, Some(19)));
    let valid = fx.replicas_with(TECH1).await;
    assert_eq!(
        valid["error"]["code"], 429,
        "no oracle while locked out: {valid}"
    );
    assert!(details(&valid)[0].contains("try again in"));
}

/// Passwords exist only as argon2id hashes: in the definition (as serialised) and in the
/// service's database file; `UserDef::with_password` users sign in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_are_never_stored_in_plain_text() {
    let password = format!("Pw-{}", new_gid());
    let mut def = secured_demo();
    def.add_or_replace_user(UserDef::with_password("tech9", &password).unwrap());
    let text = serde_json::to_string(&def).unwrap();
    assert!(!text.contains(&password));
    assert!(text.contains("$argon2id$"));
    let reloaded = ServiceDefinition::from_json(&text).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let fx = start_with(ServerConfig {
        definition: Some(reloaded),
        data_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    })
    .await;
    let reply = fx.generate_token(SERVER_TOKENS, "tech9", &password).await;
    assert!(
        fx.replicas_with(reply["token"].as_str().unwrap())
            .await
            .is_array()
    );
    let mut stored = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            stored.extend(std::fs::read(&path).unwrap());
        }
    }
    let stored = String::from_utf8_lossy(&stored);
    assert!(stored.contains("$argon2id$"), "the database keeps the hash");
    assert!(!stored.contains(&password), "never the password");
    // A definition with a plain-text "password hash" is refused.
    let mut bad = demo();
    bad.users[0].password_hash = Some("hunter2".into());
    let bad_text = serde_json::to_string(&bad).unwrap();
    assert!(ServiceDefinition::from_json(&bad_text).is_err());
}
