//! The production verdict through the CLI: a card signed under a root that this
//! build pins exits 0 with `production`, also when the same root is loaded as a test
//! anchor too. Only builds with the feature `test-production-root` pin the synthetic
//! roots (`cargo test -p zairyu-cli --features test-production-root --test
//! production`, run by scripts/test-all); release builds hold neither the roots nor
//! this feature (scripts/check-release-artefacts). Without the feature only the
//! tests that hold in every build run.

use std::process::Command;

fn zairyu(args: &[&str]) -> (i32, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_zairyu")).args(args).env_remove("ZAIRYU_CARD_NUMBER").output().unwrap();
    let code = out.status.code().expect("exit code");
    let json =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (code, json)
}

fn read(card_type: &str, extra: &[&str]) -> (i32, serde_json::Value) {
    let mut args = vec![
        "read",
        "--json",
        "--sim-pki",
        "synthetic-production",
        "--sim-card-type",
        card_type,
        "--card-number",
        "AB12345678CD",
        "--no-sim-test-ca",
    ];
    args.extend_from_slice(extra);
    zairyu(&args)
}

#[test]
fn a_synthetic_production_card_without_its_root_is_not_valid() {
    for t in ["1", "05"] {
        let (code, v) = read(t, &[]);
        assert_eq!(v["verification"]["chain"], "no_matching_anchor", "{v}");
        assert_eq!(v["verdict"], "untrusted", "{v}");
        // A valid signature under no known anchor binds nothing.
        assert_eq!(v["verification"]["signed_fields"], serde_json::json!([]), "{v}");
        assert_eq!(code, 11, "type {t}: {v}");
    }
}

#[cfg(feature = "test-production-root")]
mod pinned {
    use std::path::PathBuf;

    use super::*;

    /// A directory holding `files`, removed on drop.
    struct Dir(PathBuf);

    impl Dir {
        fn with(name: &str, files: &[(&str, &[u8])]) -> Dir {
            let d = std::env::temp_dir().join(format!("zairyu-cli-production-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&d);
            std::fs::create_dir_all(&d).unwrap();
            for (f, bytes) in files {
                std::fs::write(d.join(f), bytes).unwrap();
            }
            Dir(d)
        }
        fn path(&self) -> &str {
            self.0.to_str().unwrap()
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    const ROOTS: [(&str, &[u8]); 2] = [
        ("gen1.der", zairyu_sim::GEN1_SYNTHETIC_PRODUCTION_CA_DER),
        ("gen2.der", zairyu_sim::GEN2_SYNTHETIC_PRODUCTION_CA_DER),
    ];

    #[test]
    fn a_card_under_a_pinned_root_exits_0_with_the_production_verdict() {
        let dir = Dir::with("pinned", &ROOTS);
        for t in ["1", "2", "05", "06"] {
            let (code, v) = read(t, &["--trust-dir", dir.path()]);
            assert_eq!(v["verification"]["anchor_profile"], "production", "type {t}: {v}");
            assert_eq!(v["verdict"], "production", "type {t}: {v}");
            assert_eq!(code, 0, "type {t}");
        }
    }

    #[test]
    fn the_production_root_is_preferred_over_the_same_certificate_as_a_test_anchor() {
        let dir = Dir::with("preferred", &ROOTS);
        let (code, v) = read("05", &["--test-anchors", dir.path(), "--trust-dir", dir.path()]);
        assert_eq!((code, &v["verdict"]), (0, &serde_json::json!("production")), "{v}");
        // The same root as a test anchor only: valid, but exit 12 and verdict test.
        let (code, v) = read("05", &["--test-anchors", dir.path()]);
        assert_eq!((code, &v["verdict"]), (12, &serde_json::json!("test")), "{v}");
    }
}
