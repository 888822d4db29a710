//! The chip's images as PNG, decoded in pure Rust: JPEG 2000 (JP2 container or raw
//! codestream) with `hayro-jpeg2000`, CCITT Group 4 TIFF with the `tiff` crate's
//! Group 4 decoder (the `fax` crate), written with `png`.
//!
//! The chip's images come from a card that may be forged: every decoder error, and
//! any panic inside a third-party decoder, is an [`ImageError`]; a bad image never
//! stops a read, a report or an export. Sizes are capped before any pixel buffer is
//! allocated ([`MAX_PIXELS`]).

use std::io::Cursor;
use std::panic::{AssertUnwindSafe, catch_unwind};

use zairyu::files::{Image, ImageFormat};

/// The largest image (width × height) decoded. The chip's images are at most a few
/// hundred pixels wide (the fields hold 2,500 to 7,000 bytes); anything larger is a
/// malformed or hostile header.
pub const MAX_PIXELS: u64 = 16 * 1024 * 1024;

/// Why an image could not be turned into a PNG.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ImageError {
    /// The field holds no image (all zero: an under-16 card's face).
    #[error("no image stored")]
    Empty,
    /// Not a TIFF, JP2 or JPEG 2000 codestream.
    #[error("not a TIFF or JPEG 2000 image")]
    UnknownFormat,
    /// The image is malformed (the decoder's message).
    #[error("malformed {format} image: {reason}")]
    Malformed {
        /// `tiff` or `jpeg2000`.
        format: &'static str,
        /// The decoder's message.
        reason: String,
    },
    /// A well-formed image of a kind this crate does not convert (a colour space,
    /// bit depth or TIFF compression other than the chip's).
    #[error("unsupported {format} image: {reason}")]
    Unsupported {
        /// `tiff` or `jpeg2000`.
        format: &'static str,
        /// What is not supported.
        reason: String,
    },
    /// Width × height is zero or above [`MAX_PIXELS`].
    #[error("image size {width}x{height} is outside 1..={MAX_PIXELS} pixels")]
    TooLarge {
        /// Width from the header.
        width: u32,
        /// Height from the header.
        height: u32,
    },
    /// A decoder panicked on this input (caught; a bug to report upstream).
    #[error("the {format} decoder failed on this input")]
    DecoderPanic {
        /// `tiff` or `jpeg2000`.
        format: &'static str,
    },
}

impl ImageError {
    /// A stable code: `empty`, `unknown_format`, `malformed`, `unsupported`,
    /// `too_large`, `decoder_panic`.
    pub fn code(&self) -> &'static str {
        match self {
            ImageError::Empty => "empty",
            ImageError::UnknownFormat => "unknown_format",
            ImageError::Malformed { .. } => "malformed",
            ImageError::Unsupported { .. } => "unsupported",
            ImageError::TooLarge { .. } => "too_large",
            ImageError::DecoderPanic { .. } => "decoder_panic",
        }
    }
}

/// Decoded pixels: 8-bit samples, interleaved, `channels` 1 (grey), 2 (grey +
/// alpha), 3 (RGB) or 4 (RGBA).
#[derive(Clone, PartialEq, Eq)]
pub struct Pixels {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Samples per pixel.
    pub channels: u8,
    /// `width * height * channels` bytes, row by row.
    pub data: Vec<u8>,
}

impl core::fmt::Debug for Pixels {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Pixels({}x{}x{})", self.width, self.height, self.channels)
    }
}

/// The chip image as a PNG file (8-bit grey for the bi-level TIFFs, 8-bit RGB or
/// grey for JPEG 2000).
pub fn image_png(image: &Image) -> Result<Vec<u8>, ImageError> {
    encode_png(&decode(image)?)
}

/// Decodes a chip image to 8-bit pixels.
pub fn decode(image: &Image) -> Result<Pixels, ImageError> {
    decode_bytes(image.bytes())
}

/// Decodes image bytes (TIFF, JP2 or J2K, detected from the first bytes).
pub fn decode_bytes(bytes: &[u8]) -> Result<Pixels, ImageError> {
    match ImageFormat::detect(bytes) {
        ImageFormat::Empty => Err(ImageError::Empty),
        ImageFormat::Unknown => Err(ImageError::UnknownFormat),
        ImageFormat::Tiff => guarded("tiff", || decode_tiff(bytes)),
        ImageFormat::Jp2 | ImageFormat::J2k => guarded("jpeg2000", || decode_jpeg2000(bytes)),
    }
}

/// Runs a third-party decoder, turning a panic into [`ImageError::DecoderPanic`].
fn guarded(format: &'static str, f: impl FnOnce() -> Result<Pixels, ImageError>) -> Result<Pixels, ImageError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(Err(ImageError::DecoderPanic { format }))
}

fn check_size(width: u32, height: u32) -> Result<(), ImageError> {
    let pixels = u64::from(width) * u64::from(height);
    if pixels == 0 || pixels > MAX_PIXELS {
        return Err(ImageError::TooLarge { width, height });
    }
    Ok(())
}

fn decode_jpeg2000(bytes: &[u8]) -> Result<Pixels, ImageError> {
    use hayro_jpeg2000::{ColorSpace, DecodeSettings, DecoderContext, Image as J2k};
    let bad = |e: hayro_jpeg2000::DecodeError| ImageError::Malformed { format: "jpeg2000", reason: e.to_string() };
    let settings = DecodeSettings { strict: false, ..DecodeSettings::default() };
    let image = J2k::new(bytes, &settings).map_err(bad)?;
    let (width, height) = (image.width(), image.height());
    check_size(width, height)?;
    let colour = match image.color_space() {
        ColorSpace::Gray => 1u8,
        ColorSpace::RGB => 3,
        // An ICC-based space is shown as its grey or RGB samples, untransformed.
        ColorSpace::Icc { num_channels: n @ (1 | 3), .. } => *n,
        other => {
            return Err(ImageError::Unsupported { format: "jpeg2000", reason: format!("colour space {other:?}") });
        }
    };
    let channels = colour + u8::from(image.has_alpha());
    let mut ctx = DecoderContext::default();
    let decoded = image.decode(&mut ctx).map_err(bad)?;
    let data = decoded.data_u8();
    let expected = width as usize * height as usize * usize::from(channels);
    if data.len() != expected {
        return Err(ImageError::Malformed {
            format: "jpeg2000",
            reason: format!("decoded {} samples, expected {expected}", data.len()),
        });
    }
    Ok(Pixels { width, height, channels, data })
}

fn decode_tiff(bytes: &[u8]) -> Result<Pixels, ImageError> {
    use tiff::ColorType;
    use tiff::decoder::{Decoder, DecodingResult, Limits};
    use tiff::tags::Tag;
    let bad = |e: tiff::TiffError| match e {
        tiff::TiffError::UnsupportedError(u) => ImageError::Unsupported { format: "tiff", reason: u.to_string() },
        e => ImageError::Malformed { format: "tiff", reason: e.to_string() },
    };
    let mut limits = Limits::default();
    limits.decoding_buffer_size = MAX_PIXELS as usize;
    limits.ifd_value_size = 1 << 20;
    limits.intermediate_buffer_size = MAX_PIXELS as usize;
    let mut dec = Decoder::new(Cursor::new(bytes)).map_err(bad)?.with_limits(limits);
    let (width, height) = dec.dimensions().map_err(bad)?;
    check_size(width, height)?;
    let unsupported = |reason: String| ImageError::Unsupported { format: "tiff", reason };
    let fill_order = dec.find_tag_unsigned::<u16>(Tag::FillOrder).map_err(bad)?.unwrap_or(1);
    if fill_order != 1 {
        return Err(unsupported(format!("FillOrder {fill_order}")));
    }
    let photometric = dec.find_tag_unsigned::<u16>(Tag::PhotometricInterpretation).map_err(bad)?;
    let colour = dec.colortype().map_err(bad)?;
    // The tiff crate normalises bi-level samples to BlackIsZero (it inverts
    // WhiteIsZero data): a set bit is white whatever the file's interpretation.
    match (colour, photometric) {
        (ColorType::Gray(1), Some(0 | 1)) => {}
        (c, p) => return Err(unsupported(format!("colour type {c:?}, photometric interpretation {p:?}"))),
    }
    let packed = match dec.read_image().map_err(bad)? {
        DecodingResult::U8(v) => v,
        _ => return Err(unsupported("sample type".into())),
    };
    let row = (width as usize).div_ceil(8);
    if packed.len() < row * height as usize {
        return Err(ImageError::Malformed {
            format: "tiff",
            reason: format!("decoded {} bytes, expected {}", packed.len(), row * height as usize),
        });
    }
    let mut data = Vec::with_capacity(width as usize * height as usize);
    for y in 0..height as usize {
        let line = &packed[y * row..(y + 1) * row];
        for x in 0..width as usize {
            let white = (line[x / 8] >> (7 - x % 8)) & 1 == 1;
            data.push(if white { 255 } else { 0 });
        }
    }
    Ok(Pixels { width, height, channels: 1, data })
}

/// Writes pixels as a PNG file.
pub fn encode_png(p: &Pixels) -> Result<Vec<u8>, ImageError> {
    let colour = match p.channels {
        1 => png::ColorType::Grayscale,
        2 => png::ColorType::GrayscaleAlpha,
        3 => png::ColorType::Rgb,
        4 => png::ColorType::Rgba,
        n => return Err(ImageError::Unsupported { format: "png", reason: format!("{n} channels") }),
    };
    let failed = |e: png::EncodingError| ImageError::Malformed { format: "png", reason: e.to_string() };
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, p.width, p.height);
        enc.set_color(colour);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().map_err(failed)?;
        writer.write_image_data(&p.data).map_err(failed)?;
        writer.finish().map_err(failed)?;
    }
    Ok(out)
}

/// Reads a PNG file back into 8-bit pixels (for tests and tools).
pub fn decode_png(bytes: &[u8]) -> Result<Pixels, ImageError> {
    let bad = |e: png::DecodingError| ImageError::Malformed { format: "png", reason: e.to_string() };
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(bad)?;
    let size = reader.output_buffer_size().ok_or(ImageError::TooLarge { width: 0, height: 0 })?;
    let mut buf = vec![0; size];
    let info = reader.next_frame(&mut buf).map_err(bad)?;
    buf.truncate(info.buffer_size());
    let channels = match info.color_type {
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        png::ColorType::Indexed => {
            return Err(ImageError::Unsupported { format: "png", reason: "indexed".into() });
        }
    };
    Ok(Pixels { width: info.width, height: info.height, channels, data: buf })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_images_are_typed_errors() {
        assert_eq!(image_png(&Image::empty()), Err(ImageError::Empty));
        assert_eq!(image_png(&Image::from_value(b"GIF89a")), Err(ImageError::UnknownFormat));
        // Headers only, and every truncation and single-byte change of the fixtures:
        // an error or an image, never a panic.
        for fixture in [zairyu_sim::FRONT_TIF, zairyu_sim::FACE_JP2, zairyu_sim::NAME_TIF] {
            for cut in (0..fixture.len()).step_by(37) {
                let _ = decode_bytes(&fixture[..cut]);
            }
            for at in (0..fixture.len()).step_by(53) {
                let mut v = fixture.to_vec();
                v[at] ^= 0xFF;
                let _ = decode_bytes(&v);
            }
        }
        assert!(matches!(decode_bytes(&[0xFF, 0x4F, 0xFF, 0x51, 0]), Err(ImageError::Malformed { .. })));
        assert!(matches!(decode_bytes(b"II*\0\x08\0\0\0\0\0"), Err(ImageError::Malformed { .. })));
    }

    #[test]
    fn huge_headers_are_refused_before_decoding() {
        // A TIFF claiming 65535 x 65535 pixels.
        let mut t = b"II*\0\x08\0\0\0".to_vec();
        let entries: [(u16, u16, u32, u32); 7] = [
            (256, 4, 1, 65535),
            (257, 4, 1, 65535),
            (258, 3, 1, 1),
            (259, 3, 1, 4),
            (262, 3, 1, 0),
            (273, 4, 1, 8),
            (279, 4, 1, 1),
        ];
        t.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        for (tag, typ, count, value) in entries {
            t.extend_from_slice(&tag.to_le_bytes());
            t.extend_from_slice(&typ.to_le_bytes());
            t.extend_from_slice(&count.to_le_bytes());
            t.extend_from_slice(&value.to_le_bytes());
        }
        t.extend_from_slice(&[0; 4]);
        assert_eq!(decode_bytes(&t), Err(ImageError::TooLarge { width: 65535, height: 65535 }));
    }

    #[test]
    fn png_round_trip() {
        let p = decode_bytes(zairyu_sim::FACE_JP2).unwrap();
        assert_eq!((p.width, p.height, p.channels), (120, 150, 3));
        assert_eq!(decode_png(&encode_png(&p).unwrap()).unwrap(), p);
        let t = decode_bytes(zairyu_sim::FRONT_TIF).unwrap();
        assert_eq!((t.width, t.height, t.channels), (400, 250, 1));
        assert!(t.data.iter().all(|&v| v == 0 || v == 255));
    }
}
