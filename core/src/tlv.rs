//! BER-TLV as used on the card (SPEC15 §3.2.3.1; GEN2 §3.2.3.1).
//!
//! * Tags are 1 byte, or 2 bytes when the low five bits of the first byte are all
//!   set (`DF D1`, second generation only).
//! * Lengths: `00`–`7F`, `81 xx`, `82 xx xx`. Other forms are errors.
//! * An EF is a plain concatenation of TLVs, possibly followed by `00` fill. A tag
//!   byte of `00` therefore starts the fill; everything after it must be `00`. A
//!   file that is entirely `00` holds no object at all ("field empty", e.g. a work
//!   permission withdrawn, SPEC15 §3.3.4.6–7).

use crate::error::{ParseError, ParseProblem};

/// One data object, borrowing its value from the file.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The tag (`0x00D0`, or `0xDFD1` for a 2-byte tag).
    pub tag: u16,
    /// The value bytes.
    pub value: &'a [u8],
    /// Offset of the tag within the file.
    pub offset: usize,
}

impl core::fmt::Debug for Tlv<'_> {
    /// Tag and length only: values are card data.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Tlv(tag={:04X}, len={}, at={})", self.tag, self.value.len(), self.offset)
    }
}

fn err(file: &'static str, offset: usize, what: ParseProblem) -> ParseError {
    ParseError { file, offset, what }
}

/// Reads one length field at `pos`; returns (length, bytes used).
pub fn read_length(file: &'static str, data: &[u8], pos: usize) -> Result<(usize, usize), ParseError> {
    let first = *data.get(pos).ok_or_else(|| err(file, pos, ParseProblem::Truncated))?;
    match first {
        0x00..=0x7F => Ok((first as usize, 1)),
        0x81 => {
            let b = *data.get(pos + 1).ok_or_else(|| err(file, pos, ParseProblem::Truncated))?;
            Ok((b as usize, 2))
        }
        0x82 => {
            let hi = *data.get(pos + 1).ok_or_else(|| err(file, pos, ParseProblem::Truncated))?;
            let lo = *data.get(pos + 2).ok_or_else(|| err(file, pos, ParseProblem::Truncated))?;
            Ok((u16::from_be_bytes([hi, lo]) as usize, 3))
        }
        other => Err(err(file, pos, ParseProblem::BadLengthForm(other))),
    }
}

/// Parses every data object of a file. Stops at `00` fill, which must run to the end.
pub fn parse_all<'a>(file: &'static str, data: &'a [u8]) -> Result<Vec<Tlv<'a>>, ParseError> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < data.len() {
        let t0 = data[pos];
        if t0 == 0x00 {
            if data[pos..].iter().any(|&b| b != 0) {
                return Err(err(file, pos, ParseProblem::TrailingGarbage));
            }
            break;
        }
        let start = pos;
        let tag = if t0 & 0x1F == 0x1F {
            let t1 = *data.get(pos + 1).ok_or_else(|| err(file, pos, ParseProblem::Truncated))?;
            // Strict BER would read `D1` (bit 8 set) as "more tag bytes follow"; the
            // card's only 2-byte tag is `DF D1`, so the second byte always ends the tag
            // (second-generation notes §4.1).
            pos += 2;
            u16::from_be_bytes([t0, t1])
        } else {
            pos += 1;
            u16::from(t0)
        };
        let (len, used) = read_length(file, data, pos)?;
        pos += used;
        let end = pos.checked_add(len).ok_or_else(|| err(file, pos, ParseProblem::Truncated))?;
        if end > data.len() {
            return Err(err(file, pos, ParseProblem::Truncated));
        }
        out.push(Tlv { tag, value: &data[pos..end], offset: start });
        pos = end;
    }
    Ok(out)
}

/// Finds the object with `tag`, if present.
pub fn find<'a>(objects: &[Tlv<'a>], tag: u16) -> Option<Tlv<'a>> {
    objects.iter().copied().find(|t| t.tag == tag)
}

/// Encodes a length field in the shortest of the three forms.
pub fn encode_length(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(len as u8);
    } else if len < 0x100 {
        out.extend_from_slice(&[0x81, len as u8]);
    } else {
        assert!(len <= 0xFFFF, "TLV value too long");
        out.push(0x82);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    }
}

/// Encodes one data object (used by the simulator and tests).
pub fn encode(tag: u16, value: &[u8], out: &mut Vec<u8>) {
    if tag > 0xFF {
        out.extend_from_slice(&tag.to_be_bytes());
    } else {
        out.push(tag as u8);
    }
    encode_length(value.len(), out);
    out.extend_from_slice(value);
}

/// The value without its trailing `00` fill (fixed-length fields are zero-padded,
/// SPEC15 §3.2.3.1).
pub fn trim_zero_fill(value: &[u8]) -> &[u8] {
    let end = value.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    &value[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_forms() {
        let mut buf = Vec::new();
        encode(0xD2, &[0x31; 8], &mut buf);
        encode(0xD5, &[0x41; 120], &mut buf);
        encode(0xD4, &[0x42; 200], &mut buf);
        encode(0xD0, &[0x43; 7000], &mut buf);
        encode(0xDFD1, &[0x44; 2500], &mut buf);
        assert_eq!(&buf[..2], &[0xD2, 0x08]);
        assert_eq!(&buf[10..12], &[0xD5, 0x78]);
        assert_eq!(&buf[132..135], &[0xD4, 0x81, 0xC8]);
        assert_eq!(&buf[335..339], &[0xD0, 0x82, 0x1B, 0x58]);
        buf.extend_from_slice(&[0; 17]);
        let objs = parse_all("test", &buf).unwrap();
        let tags: Vec<u16> = objs.iter().map(|t| t.tag).collect();
        assert_eq!(tags, vec![0xD2, 0xD5, 0xD4, 0xD0, 0xDFD1]);
        assert_eq!(objs[4].value.len(), 2500);
        assert_eq!(objs[3].value.len(), 7000);
    }

    #[test]
    fn all_zero_file_is_empty() {
        assert!(parse_all("DF2/EF02", &[0u8; 122]).unwrap().is_empty());
        assert!(parse_all("x", &[]).unwrap().is_empty());
    }

    #[test]
    fn malformed_inputs_are_located_errors() {
        let cases: &[(&[u8], ParseProblem)] = &[
            (&[0xD2], ParseProblem::Truncated),
            (&[0xD2, 0x05, 1, 2], ParseProblem::Truncated),
            (&[0xD2, 0x81], ParseProblem::Truncated),
            (&[0xD2, 0x82, 0x01], ParseProblem::Truncated),
            (&[0xD2, 0x83, 0, 0, 1], ParseProblem::BadLengthForm(0x83)),
            (&[0xD2, 0x80], ParseProblem::BadLengthForm(0x80)),
            (&[0xDF], ParseProblem::Truncated),
            (&[0xD2, 0x01, 0x31, 0x00, 0x00, 0x07], ParseProblem::TrailingGarbage),
            (&[0xDF, 0xD1, 0x82, 0x00], ParseProblem::Truncated),
        ];
        for (input, problem) in cases {
            let e = parse_all("f", input).unwrap_err();
            assert_eq!(&e.what, problem, "{input:02X?}");
        }
        let e = parse_all("f", &[0xD2, 0x01, 0x31, 0x00, 0x00, 0x07]).unwrap_err();
        assert_eq!(e.offset, 3);
    }

    #[test]
    fn trims_fill() {
        assert_eq!(trim_zero_fill(&[1, 0, 2, 0, 0]), &[1, 0, 2]);
        assert_eq!(trim_zero_fill(&[0, 0]), &[] as &[u8]);
    }
}
