//! The `zairyu watch` line protocol (`zairyu_cli::watch_line`): any bytes, split into
//! lines, with card insertions and removals between them, never panic; a line is used
//! at most once, only for the card in the reader; a rejection never changes the state
//! and never shows the number.
//!
//! Input: lines separated by `\n`. A line that is exactly `\x01` is a card insertion,
//! `\x02` a removal; a line starting with `\x03` arrived before the current card was
//! announced; any other line is an input line, as `watch` receives it.
#![no_main]
use libfuzzer_sys::fuzz_target;
use zairyu_cli::watch_line::{Action, Insertions, Reason, parse};

fuzz_target!(|data: &[u8]| {
    let mut insertions = Insertions::<u64>::new();
    let mut clock = 1u64;
    let mut announced = 0u64;
    let mut answered: Vec<u64> = Vec::new();
    for line in data.split(|&b| b == b'\n') {
        clock += 2;
        match line {
            b"\x01" => {
                let before = insertions.current();
                let id = insertions.insert(clock);
                assert!(before.is_none_or(|b| id > b));
                assert_eq!((insertions.current(), insertions.awaiting()), (Some(id), Some(id)));
                announced = clock;
                continue;
            }
            b"\x02" => {
                let was = insertions.current();
                assert_eq!(insertions.remove(), was);
                assert_eq!(insertions.current(), None);
                continue;
            }
            _ => {}
        }
        let (bytes, received) = match line.strip_prefix(b"\x03") {
            Some(rest) => (rest, announced.saturating_sub(1)),
            None => (line, clock),
        };
        let parsed = parse(bytes);
        let (current, awaiting) = (insertions.current(), insertions.awaiting());
        match insertions.take(bytes, received) {
            Ok((id, action)) => {
                // Used only for the card waiting in the reader, announced before the line.
                assert_eq!(awaiting, Some(id));
                assert!(received >= announced);
                assert!(!answered.contains(&id), "insertion {id} answered twice");
                answered.push(id);
                assert_eq!(insertions.awaiting(), None);
                assert_eq!(insertions.current(), current);
                let named = parsed.expect("a used line parses").insertion;
                assert!(named.is_none_or(|n| n == id));
                if let Action::Read(number) = action {
                    assert!(number.expose().iter().all(u8::is_ascii_alphanumeric));
                }
            }
            Err(rejection) => {
                // Nothing changes; the reason is the parser's, or about the state.
                assert_eq!((insertions.current(), insertions.awaiting()), (current, awaiting));
                match &parsed {
                    Err(e) => assert_eq!(e, &rejection),
                    Ok(_) => assert!(!matches!(rejection.reason, Reason::BadLine(_))),
                }
                // The message never shows a plain line's card number.
                let message = rejection.message();
                if let Ok(text) = core::str::from_utf8(bytes) {
                    let text = text.trim();
                    if text.len() == 12 && text.bytes().all(|b| b.is_ascii_alphanumeric()) {
                        assert!(!message.to_ascii_uppercase().contains(&text.to_ascii_uppercase()), "{message}");
                    }
                }
                assert!(rejection.code().starts_with("watch_"));
            }
        }
    }
});
