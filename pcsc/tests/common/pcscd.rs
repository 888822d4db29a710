//! Helpers for the tests through pcscd + vpcd, shared by `zairyu-pcsc`'s and the CLI's
//! `tests/pcscd.rs` (the CLI includes this file by path).

use std::process::Command;
use std::time::{Duration, Instant};

/// `scripts/pcscd start|stop`: starts pcscd (removing a killed daemon's leftovers), or
/// stops it and waits until it is gone.
///
/// The script runs with every descriptor above stderr closed: pcscd is a daemon and
/// would otherwise keep the ones this test inherited, among them the lock of
/// `flock /tmp/zairyu-pcsc.lock cargo test …`, and hold that lock for as long as it runs.
pub fn pcscd(command: &str) {
    const CLOSE_AND_RUN: &str =
        r#"for fd in /proc/$$/fd/*; do n=${fd##*/}; [ "$n" -gt 2 ] && eval "exec $n>&-"; done; exec "$0" "$1""#;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/pcscd");
    let status = Command::new("bash").args(["-c", CLOSE_AND_RUN, script, command]).status().expect("bash runs");
    assert!(status.success(), "scripts/pcscd {command}: {status}");
}

/// Waits until `reader` shows a card (`present`) or none, through
/// [`zairyu_pcsc::wait_for_card`]; errors (pcscd restarting, the reader not known
/// yet) are asked again until `timeout`.
pub fn wait_card(reader: &str, present: bool, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match zairyu_pcsc::wait_for_card(reader, present, left) {
            Ok(true) => return,
            Ok(false) => panic!("{reader}: card_present={present} not reached in {timeout:?}"),
            Err(e) => {
                assert!(Instant::now() < deadline, "{reader}: {e} until the deadline");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}
