//! What `zairyu -v` may never print: a card number or the key derived from it, in
//! any spelling a log line could use.

/// Every spelling of `secret` (ASCII as is, hex upper and lower, spaced or not).
fn spellings(secret: &[u8]) -> Vec<String> {
    let upper = hex::encode_upper(secret);
    let spaced = secret.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(" ");
    let mut out = vec![upper.clone(), upper.to_lowercase(), spaced.clone(), spaced.to_lowercase()];
    if secret.iter().all(u8::is_ascii_graphic) {
        out.push(String::from_utf8(secret.to_vec()).unwrap());
    }
    out
}

/// Panics if `text` holds any of `numbers` or the Kenc derived from it.
pub fn assert_no_secret(text: &str, numbers: &[&str]) {
    let squeezed = text.replace(' ', "");
    for n in numbers {
        let kenc = zairyu::crypto::derive_base_key(n.as_bytes());
        for secret in [n.as_bytes(), &kenc.expose()[..]] {
            for s in spellings(secret) {
                assert!(!text.contains(&s) && !squeezed.contains(&s), "a secret ({s}) in:\n{text}");
            }
        }
    }
}
