//! Strict BER-TLV for the write protocol's own data objects (card-verifiable
//! certificates, EF.ChipAuthInfo, the EAC and secure-messaging objects).
//!
//! Unlike [`crate::tlv`], which reads card files as the Ministry's cards hold them
//! (zero fill, lenient lengths), this reader is for data that the project's own
//! software encodes, and so it is exact: tags of one or two bytes (ISO/IEC 7816-4
//! §5.2.2.1), lengths in their shortest form (`00`–`7F`, `81 80`–`81 FF`,
//! `82 01 00`–`82 FF FF`), nothing else. Because every object has exactly one
//! encoding, a parsed object re-encodes to the bytes it was read from.

/// A failure of the strict TLV reader; `offset` is the byte offset of the problem
/// within the buffer handed to the reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BerError {
    /// The data ends inside a tag, a length or a value.
    #[error("data object truncated at offset {offset}")]
    Truncated {
        /// Where the missing bytes should start.
        offset: usize,
    },
    /// A tag of more than two bytes, or a two-byte tag in a non-minimal form.
    #[error("unsupported tag form at offset {offset}")]
    BadTag {
        /// Offset of the tag.
        offset: usize,
    },
    /// A length in an indefinite, over-long or non-minimal form.
    #[error("non-minimal or unsupported length form at offset {offset}")]
    BadLength {
        /// Offset of the length field.
        offset: usize,
    },
    /// A different tag than the layout requires.
    #[error("expected tag {expected:04X}, found {found:04X} at offset {offset}")]
    UnexpectedTag {
        /// The tag the layout requires.
        expected: u16,
        /// The tag found.
        found: u16,
        /// Its offset.
        offset: usize,
    },
    /// A required object is missing at the end of its template.
    #[error("expected tag {expected:04X}, found the end of the template")]
    Missing {
        /// The tag the layout requires.
        expected: u16,
    },
    /// Bytes follow the last object of a template.
    #[error("unexpected bytes after the last data object at offset {offset}")]
    TrailingData {
        /// Offset of the first extra byte.
        offset: usize,
    },
}

/// One data object borrowed from its buffer.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Object<'a> {
    /// The tag (`0x0086`, `0x7F21`).
    pub tag: u16,
    /// The value bytes.
    pub value: &'a [u8],
    /// The whole encoding: tag, length and value.
    pub raw: &'a [u8],
    /// Offset of the tag in the reader's buffer.
    pub offset: usize,
}

impl core::fmt::Debug for Object<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Object(tag={:04X}, len={}, at={})", self.tag, self.value.len(), self.offset)
    }
}

/// Reads the objects of one buffer in order.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Reader<'a> {
    /// A reader over `data`; offsets in errors count from its start.
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data, pos: 0, base: 0 }
    }

    /// A reader over the value of `object`, whose errors carry offsets of the outer buffer.
    pub fn inside(object: &Object<'a>) -> Self {
        let header = object.raw.len() - object.value.len();
        Reader { data: object.value, pos: 0, base: object.offset + header }
    }

    /// Whether every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }

    /// The tag of the next object, without consuming it.
    pub fn peek_tag(&self) -> Option<u16> {
        read_tag(self.data, self.pos, self.base).ok().map(|(t, _)| t)
    }

    /// Reads the next object, whatever its tag.
    pub fn next_object(&mut self) -> Result<Object<'a>, BerError> {
        let start = self.pos;
        let (tag, tag_len) = read_tag(self.data, start, self.base)?;
        let (len, len_len) = read_len(self.data, start + tag_len, self.base)?;
        let vstart = start + tag_len + len_len;
        let end = vstart.checked_add(len).filter(|&e| e <= self.data.len());
        let Some(end) = end else {
            return Err(BerError::Truncated { offset: self.base + self.data.len() });
        };
        self.pos = end;
        Ok(Object { tag, value: &self.data[vstart..end], raw: &self.data[start..end], offset: self.base + start })
    }

    /// Reads the next object and requires its tag.
    pub fn expect(&mut self, tag: u16) -> Result<Object<'a>, BerError> {
        if self.is_empty() {
            return Err(BerError::Missing { expected: tag });
        }
        let at = self.base + self.pos;
        let o = self.next_object()?;
        if o.tag != tag {
            return Err(BerError::UnexpectedTag { expected: tag, found: o.tag, offset: at });
        }
        Ok(o)
    }

    /// Reads the next object if it has `tag`.
    pub fn optional(&mut self, tag: u16) -> Result<Option<Object<'a>>, BerError> {
        if self.is_empty() || self.peek_tag() != Some(tag) {
            return Ok(None);
        }
        self.expect(tag).map(Some)
    }

    /// Requires the end of the buffer.
    pub fn finish(&self) -> Result<(), BerError> {
        if self.is_empty() { Ok(()) } else { Err(BerError::TrailingData { offset: self.base + self.pos }) }
    }
}

fn read_tag(data: &[u8], pos: usize, base: usize) -> Result<(u16, usize), BerError> {
    let first = *data.get(pos).ok_or(BerError::Truncated { offset: base + pos })?;
    if first & 0x1F != 0x1F {
        return Ok((u16::from(first), 1));
    }
    let second = *data.get(pos + 1).ok_or(BerError::Truncated { offset: base + pos + 1 })?;
    // A second byte with b8 set would continue the tag (three bytes or more); one
    // below 1F would have fitted the one-byte form.
    if second & 0x80 != 0 || second < 0x1F {
        return Err(BerError::BadTag { offset: base + pos });
    }
    Ok((u16::from_be_bytes([first, second]), 2))
}

fn read_len(data: &[u8], pos: usize, base: usize) -> Result<(usize, usize), BerError> {
    let at = |i: usize| data.get(pos + i).copied().ok_or(BerError::Truncated { offset: base + pos + i });
    match at(0)? {
        n @ 0x00..=0x7F => Ok((usize::from(n), 1)),
        0x81 => {
            let n = at(1)?;
            if n < 0x80 {
                return Err(BerError::BadLength { offset: base + pos });
            }
            Ok((usize::from(n), 2))
        }
        0x82 => {
            let n = u16::from_be_bytes([at(1)?, at(2)?]);
            if n < 0x100 {
                return Err(BerError::BadLength { offset: base + pos });
            }
            Ok((usize::from(n), 3))
        }
        _ => Err(BerError::BadLength { offset: base + pos }),
    }
}

/// Appends the shortest length field for `len` (at most 65,535).
pub fn push_len(out: &mut Vec<u8>, len: usize) {
    debug_assert!(len <= 0xFFFF, "write-protocol objects are shorter than 64 KiB");
    if len < 0x80 {
        out.push(len as u8);
    } else if len < 0x100 {
        out.extend_from_slice(&[0x81, len as u8]);
    } else {
        out.push(0x82);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    }
}

/// Appends `tag ‖ length ‖ value`.
pub fn push(out: &mut Vec<u8>, tag: u16, value: &[u8]) {
    if tag > 0xFF {
        out.extend_from_slice(&tag.to_be_bytes());
    } else {
        out.push(tag as u8);
    }
    push_len(out, value.len());
    out.extend_from_slice(value);
}

/// `tag ‖ length ‖ value` as a new buffer.
pub fn encode(tag: u16, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 5);
    push(&mut out, tag, value);
    out
}

/// The number of bytes `push` writes for a value of `len` bytes under `tag`.
pub const fn encoded_len(tag: u16, len: usize) -> usize {
    let t = if tag > 0xFF { 2 } else { 1 };
    let l = if len < 0x80 {
        1
    } else if len < 0x100 {
        2
    } else {
        3
    };
    t + l + len
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_length_form() {
        for len in [0usize, 1, 0x7F, 0x80, 0xFF, 0x100, 0x1234] {
            let v = vec![0xAB; len];
            for tag in [0x86u16, 0x7F21] {
                let enc = encode(tag, &v);
                assert_eq!(enc.len(), encoded_len(tag, len));
                let mut r = Reader::new(&enc);
                let o = r.next_object().unwrap();
                assert_eq!((o.tag, o.value.len(), o.raw.len()), (tag, len, enc.len()));
                r.finish().unwrap();
            }
        }
    }

    #[test]
    fn refuses_non_minimal_and_odd_forms() {
        // 81 05: five bytes would fit the one-byte form.
        assert_eq!(
            Reader::new(&[0x86, 0x81, 0x05, 0, 0, 0, 0, 0]).next_object(),
            Err(BerError::BadLength { offset: 1 })
        );
        // 82 00 80 would fit 81 80.
        let mut d = vec![0x86, 0x82, 0x00, 0x80];
        d.extend_from_slice(&[0; 0x80]);
        assert_eq!(Reader::new(&d).next_object(), Err(BerError::BadLength { offset: 1 }));
        // Indefinite length and 83.
        assert_eq!(Reader::new(&[0x86, 0x80]).next_object(), Err(BerError::BadLength { offset: 1 }));
        assert_eq!(Reader::new(&[0x86, 0x83, 0, 0, 1, 0]).next_object(), Err(BerError::BadLength { offset: 1 }));
        // Three-byte tag, and a two-byte tag that fits one byte.
        assert_eq!(Reader::new(&[0x7F, 0x81, 0x01, 0x00]).next_object(), Err(BerError::BadTag { offset: 0 }));
        assert_eq!(Reader::new(&[0x5F, 0x1E, 0x00]).next_object(), Err(BerError::BadTag { offset: 0 }));
        // A value running past the end.
        assert_eq!(Reader::new(&[0x86, 0x03, 0x01]).next_object(), Err(BerError::Truncated { offset: 3 }));
        assert_eq!(Reader::new(&[0x86]).next_object(), Err(BerError::Truncated { offset: 1 }));
    }

    #[test]
    fn expect_optional_finish() {
        let mut d = encode(0x42, b"A");
        d.extend(encode(0x5F20, b"B"));
        let mut r = Reader::new(&d);
        assert_eq!(r.optional(0x43).unwrap(), None);
        assert_eq!(r.expect(0x42).unwrap().value, b"A");
        assert_eq!(r.expect(0x42), Err(BerError::UnexpectedTag { expected: 0x42, found: 0x5F20, offset: 3 }));
        let mut r = Reader::new(&d);
        r.expect(0x42).unwrap();
        assert_eq!(r.finish(), Err(BerError::TrailingData { offset: 3 }));
        r.expect(0x5F20).unwrap();
        assert_eq!(r.expect(0x01), Err(BerError::Missing { expected: 0x01 }));
        r.finish().unwrap();
    }

    #[test]
    fn inner_offsets_count_from_the_outer_buffer() {
        let inner = encode(0x86, &[1, 2]);
        let outer = encode(0x7F49, &inner);
        let mut r = Reader::new(&outer);
        let o = r.expect(0x7F49).unwrap();
        let mut ri = Reader::inside(&o);
        assert_eq!(ri.expect(0x87), Err(BerError::UnexpectedTag { expected: 0x87, found: 0x86, offset: 3 }));
    }
}
