//! `syncwatch codes` run as the real binary.

use std::process::Command;

fn syncwatch(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_syncwatch"))
        .args(args)
        .output()
        .expect("run syncwatch")
}

/// `codes --json` lists all 26 feature/layer codes and the 3000-series entries, each with guidance.
#[test]
fn codes_json_lists_the_whole_catalog_with_guidance() {
    let out = syncwatch(&["codes", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let entries: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let codes_in = |series: &str| -> Vec<i64> {
        entries
            .iter()
            .filter(|e| e["series"] == series)
            .map(|e| e["code"].as_i64().unwrap())
            .collect()
    };
    let feature_and_layer: Vec<i64> = codes_in("1000")
        .into_iter()
        .chain(codes_in("2000"))
        .collect();
    let expected: Vec<i64> = (1000..=1023).chain([2000, 2001]).collect();
    assert_eq!(feature_and_layer, expected);
    assert_eq!(codes_in("3000"), (3060..=3081).collect::<Vec<_>>());
    for e in &entries {
        for key in ["title", "description", "howToAddress", "clientAction"] {
            assert!(
                !e[key].as_str().unwrap_or("").trim().is_empty(),
                "{} has no {key}",
                e["code"]
            );
        }
        assert!(e["resendCanSucceedUnchanged"].is_boolean());
        assert!(e["domain"] == "featureService" || e["domain"] == "replicaSync");
    }
}

/// `--series 2000` filters; text output carries the guidance; a bad series is a one-line error, exit 2.
#[test]
fn codes_series_filter_text_output_and_bad_input() {
    let out = syncwatch(&["codes", "--series", "2000"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("2000 [2000 layer] Layer edits rolled back"));
    assert!(text.contains("2001 [2000 layer] Layer not found"));
    assert!(!text.contains("1001 ["));
    assert!(text.contains("to address:"));

    let bad = syncwatch(&["codes", "--series", "4000"]);
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8(bad.stderr).unwrap();
    assert!(err.contains("4000"), "{err}");
}
