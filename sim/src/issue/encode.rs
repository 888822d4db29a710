//! What both builders share: placing a file where the layout puts it, the one
//! TLV encoder of the simulator, and the fixed-length fields. Every data object
//! is fixed length; a shorter value is padded with `00` (SPEC15 §3.2.3.1; GEN2
//! §3.2.3.1, second-generation notes §4.1), a longer one is refused.

use std::collections::BTreeMap;

use zairyu::layout::{Df, Ef};
use zairyu::tlv;

use crate::options::IssueError;

/// The contents of every EF, keyed by (DF, SFI): the address READ BINARY uses.
pub(crate) type Files = BTreeMap<(Df, u8), Vec<u8>>;

/// Places `contents` where the layout puts `ef` (replacing what was there).
pub(super) fn insert(files: &mut Files, ef: &Ef, contents: Vec<u8>) {
    files.insert((ef.df, ef.sfi), contents);
}

/// The data objects in order, each `tag ‖ length ‖ value` with the shortest
/// length form (tags above `FF` take two bytes, e.g. gen2 `DF D1`).
pub(super) fn tlv<V: AsRef<[u8]>>(objects: &[(u16, V)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (tag, value) in objects {
        tlv::encode(*tag, value.as_ref(), &mut out);
    }
    out
}

/// `contents` zero-filled to the capacity of `ef`: a file whose objects do not
/// fill it (SPEC15 §3.3.5 under-16 DF3; gen2 DF3/EF01, second-generation notes
/// §4.2). Longer contents are refused, never cut.
pub(super) fn filled(ef: &Ef, mut contents: Vec<u8>) -> Result<Vec<u8>, IssueError> {
    if contents.len() > ef.capacity {
        return Err(IssueError::TooLong { field: ef.name, got: contents.len(), max: ef.capacity });
    }
    contents.resize(ef.capacity, 0);
    Ok(contents)
}

/// An all-zero file of the capacity of `ef` (an entry that is absent, SPEC15
/// §3.3.4.6).
pub(super) fn zero_file(ef: &Ef) -> Vec<u8> {
    vec![0; ef.capacity]
}

/// Exactly `n` ASCII characters.
pub(super) fn fixed_ascii(field: &'static str, s: &str, n: usize) -> Result<Vec<u8>, IssueError> {
    if s.len() != n || !s.is_ascii() {
        return Err(IssueError::BadFixedField { field, len: n });
    }
    Ok(s.as_bytes().to_vec())
}

/// At most `n` bytes, zero-padded to `n`.
pub(super) fn zero_padded(field: &'static str, v: &[u8], n: usize) -> Result<Vec<u8>, IssueError> {
    if v.len() > n {
        return Err(IssueError::TooLong { field, got: v.len(), max: n });
    }
    let mut out = v.to_vec();
    out.resize(n, 0);
    Ok(out)
}

/// ASCII, at most `n` bytes, zero-padded to `n`.
pub(super) fn ascii_padded(field: &'static str, s: &str, n: usize) -> Result<Vec<u8>, IssueError> {
    if !s.is_ascii() {
        return Err(IssueError::BadFixedField { field, len: n });
    }
    zero_padded(field, s.as_bytes(), n)
}

/// One ASCII character.
pub(super) fn ascii_char(field: &'static str, c: char) -> Result<u8, IssueError> {
    u8::try_from(c).ok().filter(u8::is_ascii).ok_or(IssueError::BadFixedField { field, len: 1 })
}

/// A one-character flag: `'1'` if set, else `'0'` (gen1 `D7`; gen2 `D7 D8 D9`).
pub(super) fn flag(set: bool) -> u8 {
    if set { b'1' } else { b'0' }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zairyu::layout::gen1;

    #[test]
    fn tlv_uses_the_shortest_length_and_two_byte_tags() {
        assert_eq!(tlv(&[(0xC0, b"0001")]), b"\xC0\x040001");
        assert_eq!(tlv(&[(0xD7, [b'1']), (0xD8, [b'0'])]), b"\xD7\x011\xD8\x010");
        let long = tlv(&[(0xDFD1, vec![0u8; 300])]);
        assert_eq!(&long[..5], &[0xDF, 0xD1, 0x82, 0x01, 0x2C]);
        assert_eq!(long.len(), 305);
        assert_eq!(&tlv(&[(0xD5, vec![0u8; 200])])[..3], &[0xD5, 0x81, 0xC8]);
    }

    #[test]
    fn fields_pad_or_refuse() {
        assert_eq!(zero_padded("f", b"ab", 4), Ok(b"ab\0\0".to_vec()));
        assert_eq!(zero_padded("f", b"abcde", 4), Err(IssueError::TooLong { field: "f", got: 5, max: 4 }));
        assert_eq!(fixed_ascii("f", "abc", 4), Err(IssueError::BadFixedField { field: "f", len: 4 }));
        assert_eq!(fixed_ascii("f", "abcé", 5), Err(IssueError::BadFixedField { field: "f", len: 5 }));
        assert_eq!(ascii_padded("f", "é", 4), Err(IssueError::BadFixedField { field: "f", len: 4 }));
        assert_eq!(ascii_char("f", '男'), Err(IssueError::BadFixedField { field: "f", len: 1 }));
        assert_eq!((flag(true), flag(false)), (b'1', b'0'));
        assert_eq!(filled(&gen1::DF2_EF04, vec![0xD7]), Ok(vec![0xD7, 0, 0]));
        assert_eq!(filled(&gen1::DF2_EF04, vec![1; 4]), Err(IssueError::TooLong { field: "DF2/EF04", got: 4, max: 3 }));
        let mut files = Files::new();
        insert(&mut files, &gen1::DF3_EF01, zero_file(&gen1::DF3_EF01));
        assert_eq!(files.get(&(Df::Df3, 0x02)).map(Vec::len), Some(1464));
    }
}
