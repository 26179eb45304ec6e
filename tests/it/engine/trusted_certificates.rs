//! Trusting a server's certificate through the engine (`Command::TrustCertificate`) against the
//! secured reference service over real HTTPS with its self-signed certificate: a fingerprint
//! that is not the presented certificate's is refused with one line and nothing is saved; the
//! right one is kept (user-only) under `trusted-certificates/` and the refused sign-in then
//! works, with no restart and no `--ca-cert`.

use crate::support::client_config::fast;
use crate::support::engine::Harness;
use crate::support::https::with_tls;
use crate::support::server::{TECH1_PASSWORD, secured_demo};
use syncwatch::engine::{Command, CommandId, Event, Secret, SignInRequest};
use syncwatch::server::ServerConfig;
use syncwatch::service::CaCertificate;

/// The secured service over HTTPS, its certificate not trusted (the harness would trust it).
async fn secured_https() -> Harness {
    Harness::start_with(
        with_tls(ServerConfig {
            definition: Some(secured_demo()),
            ..Default::default()
        }),
        fast(),
        |config| config.client.ca_certificates.clear(),
    )
    .await
}

/// The fingerprint of the certificate the service wrote to its data dir.
fn served_fingerprint(h: &Harness) -> String {
    let path = h.server.tls_cert_path().expect("served over TLS");
    CaCertificate::from_pem_file(path).expect("the service's certificate")[0].fingerprint_sha256()
}

fn trusted_files(h: &Harness) -> Vec<std::path::PathBuf> {
    match std::fs::read_dir(h.dir.path().join("trusted-certificates")) {
        Ok(entries) => entries.map(|e| e.expect("entry").path()).collect(),
        Err(_) => Vec::new(),
    }
}

/// A sign-in as tech1; `Ok(())` or the refusal's line.
async fn sign_in(h: &Harness) -> Result<(), String> {
    let id = h
        .engine
        .submit(Command::SignIn {
            url: format!("{}/arcgis", h.server.base_url()),
            method: SignInRequest::Password {
                username: "tech1".into(),
                password: Secret::new(TECH1_PASSWORD),
                remember: false,
            },
            expiration_minutes: None,
        })
        .await
        .expect("queued")
        .command();
    h.next(|e| match e {
        Event::SignedIn { sign_in, .. } if *sign_in == id => Some(Ok(())),
        Event::SignInFailed {
            sign_in, message, ..
        } if *sign_in == id => Some(Err(message.clone())),
        _ => None,
    })
    .await
}

/// The answer to a trust command: `Ok(fingerprint)` or the failure's line.
async fn trust(h: &Harness, fingerprint: &str) -> Result<String, String> {
    let id: CommandId = h
        .engine
        .submit(Command::TrustCertificate {
            url: format!("{}/arcgis", h.server.base_url()),
            fingerprint: fingerprint.to_owned(),
        })
        .await
        .expect("queued")
        .command();
    h.next(|e| match e {
        Event::CertificateTrusted { fingerprint, .. } => Some(Ok(fingerprint.clone())),
        Event::CommandFailed {
            command: Some(c),
            error,
            ..
        } if *c == id => Some(Err(error.message.clone())),
        _ => None,
    })
    .await
}

#[tokio::test]
async fn a_changed_fingerprint_is_refused_and_the_right_one_is_trusted_and_kept() {
    let h = secured_https().await;
    let real = served_fingerprint(&h);

    let refused = sign_in(&h)
        .await
        .expect_err("the certificate is not trusted");
    assert!(refused.contains("not trusted"), "{refused}");
    assert!(
        refused.contains(&real),
        "the refusal names the fingerprint: {refused}"
    );

    let wrong = ["00"; 32].join(":");
    let error = trust(&h, &wrong)
        .await
        .expect_err("a different fingerprint");
    assert!(!error.contains('\n'), "{error}");
    assert!(error.contains("changed"), "{error}");
    assert!(error.contains(&real) && error.contains(&wrong), "{error}");
    assert!(trusted_files(&h).is_empty(), "nothing saved");
    let still = sign_in(&h).await.expect_err("still not trusted");
    assert!(still.contains("not trusted"), "{still}");

    // Lower case, as a user may paste it, is the same fingerprint.
    let trusted = trust(&h, &real.to_ascii_lowercase())
        .await
        .expect("trusted");
    assert_eq!(trusted, real);
    let files = trusted_files(&h);
    assert_eq!(files.len(), 1, "{files:?}");
    let kept = CaCertificate::from_pem_file(&files[0]).expect("a PEM certificate");
    assert_eq!(kept[0].fingerprint_sha256(), real);
    assert_eq!(
        files[0].file_name().and_then(|n| n.to_str()),
        Some(format!("{}.pem", real.replace(':', "")).as_str())
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&files[0])
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "user-only file");
        let folder = std::fs::metadata(h.dir.path().join("trusted-certificates")).expect("meta");
        assert_eq!(
            folder.permissions().mode() & 0o777,
            0o700,
            "user-only folder"
        );
    }
    sign_in(&h)
        .await
        .expect("signed in over the trusted certificate");
}
