//! The second-generation address image end to end: a real font, the 2,500-byte budget,
//! core's parser, two maintained decoders (the `tiff` crate's G4 reader and libtiff's
//! tools) giving back exactly the rendered bitmap.

use std::path::Path;
use std::process::Command;

use zairyu::write::record::{NewAddress, WriteTarget};
use zairyu_authority_core::render::{AddressRenderer, Bitmap, FontSetting, MAX_IMAGE_BYTES, RenderSettings};

fn record(address: &str) -> NewAddress {
    NewAddress { date: "20260430".into(), municipality_code: "131016".into(), address: address.into() }
}

const SAMPLE: &str = "東京都千代田区霞が関１丁目１番１号　中央合同庁舎第６号館";

fn renderer() -> AddressRenderer {
    // The font the project's setup installs; a clear failure otherwise.
    AddressRenderer::new(RenderSettings::default())
        .expect("a Japanese font must be installed (scripts/setup installs fonts-ipaexfont-gothic)")
}

/// Decodes a TIFF with the `tiff` crate (its own G4 decoder), to a bitmap (`true`
/// black). The crate hands back samples as luminance (it inverts WhiteIsZero data),
/// so a set bit is white.
fn decode_with_tiff_crate(tiff: &[u8]) -> Bitmap {
    let mut d = tiff::decoder::Decoder::new(std::io::Cursor::new(tiff)).unwrap();
    let (w, h) = d.dimensions().unwrap();
    // WhiteIsZero, as the card images are.
    assert_eq!(d.get_tag_u32(tiff::tags::Tag::PhotometricInterpretation).unwrap(), 0);
    let img = match d.read_image().unwrap() {
        tiff::decoder::DecodingResult::U8(v) => v,
        _ => panic!("not 8-bit packed"),
    };
    unpack(&img, w, h, false)
}

/// 1-bit rows, MSB first, each row padded to a byte; `set_is_black`: what a set bit means.
fn unpack(data: &[u8], w: u32, h: u32, set_is_black: bool) -> Bitmap {
    let stride = w.div_ceil(8) as usize;
    assert!(data.len() >= stride * h as usize, "{} < {}", data.len(), stride * h as usize);
    let rows: Vec<Vec<bool>> = (0..h as usize)
        .map(|y| {
            (0..w as usize).map(|x| ((data[y * stride + x / 8] >> (7 - x % 8)) & 1 == 1) == set_is_black).collect()
        })
        .collect();
    Bitmap::from_rows(&rows).unwrap()
}

#[test]
fn a_sample_address_renders_to_a_g4_tiff_within_2500_bytes_that_decodes_to_the_bitmap() {
    let r = renderer();
    let img = r.render(&record(SAMPLE)).unwrap();
    assert!(img.tiff.len() <= MAX_IMAGE_BYTES, "{} bytes", img.tiff.len());
    assert!(img.bitmap.black_pixels() > 1000, "{:?}", img.bitmap);
    // Not blank, not solid: text.
    assert!(img.bitmap.black_pixels() < (img.bitmap.width() * img.bitmap.height()) as usize / 3);
    // The TIFF is G4 (Compression = 4) and decodes, with the tiff crate, to exactly the bitmap.
    let mut d = tiff::decoder::Decoder::new(std::io::Cursor::new(&img.tiff)).unwrap();
    assert_eq!(d.get_tag_u32(tiff::tags::Tag::Compression).unwrap(), 4);
    assert_eq!(decode_with_tiff_crate(&img.tiff), img.bitmap);
    // Deterministic: the same record gives the same bytes (the write intent is their hash).
    assert_eq!(r.render(&record(SAMPLE)).unwrap().tiff, img.tiff);
    // Another address gives another image.
    assert_ne!(r.render(&record("大阪府大阪市北区梅田１－１")).unwrap().bitmap, img.bitmap);
}

#[test]
fn the_content_is_df1_ef04_and_core_parses_the_image() {
    let r = renderer();
    let c = r.content(&record(SAMPLE)).unwrap();
    assert_eq!(c.target(), WriteTarget::Df1Ef04);
    assert_eq!(c.bytes().len(), 2505);
    let img = zairyu::files::gen2::parse_address_image(c.bytes()).unwrap();
    assert_eq!(img.format, zairyu::files::ImageFormat::Tiff);
    let tiff = r.render(&record(SAMPLE)).unwrap().tiff;
    // The image read from the file, without its zero fill, is the TIFF byte for byte.
    assert_eq!(img.bytes(), &tiff[..]);
}

#[test]
fn the_longest_address_fits_or_is_refused_with_a_typed_error() {
    let r = renderer();
    // 80 characters, the most a record may have: dense kanji.
    let long: String = "東京都千代田区霞が関一丁目一番一号中央合同庁舎第六号館".chars().cycle().take(80).collect();
    match r.render(&record(&long)) {
        Ok(img) => {
            assert!(img.tiff.len() <= MAX_IMAGE_BYTES);
            assert_eq!(decode_with_tiff_crate(&img.tiff), img.bitmap);
        }
        Err(e) => assert_eq!(e.code(), "address_image_too_large"),
    }
    // A tiny budget of height makes every text too large: refused, with the sizes.
    let tight = AddressRenderer::new(RenderSettings { max_height: 20, ..RenderSettings::default() }).unwrap();
    let e = tight.render(&record(SAMPLE)).unwrap_err();
    assert_eq!(e.code(), "address_image_too_large");
    // Dense noise-like text at a large minimum size overflows the 2,500 bytes.
    let big = AddressRenderer::new(RenderSettings { min_px: 30, max_px: 30, max_height: 2000, ..Default::default() })
        .unwrap();
    let e = big.render(&record(&long)).unwrap_err();
    match e {
        zairyu_authority_core::RenderError::TooLarge { bytes, .. } => assert!(bytes > MAX_IMAGE_BYTES),
        other => panic!("{other:?}"),
    }
    // Record checks come first.
    let e = r.render(&record("東京都\u{202E}区")).unwrap_err();
    assert_eq!(e.code(), "record_invalid");
}

#[test]
fn a_font_without_japanese_glyphs_is_refused() {
    let dejavu = Path::new("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf");
    if !dejavu.is_file() {
        eprintln!("SKIP: {} not installed", dejavu.display());
        return;
    }
    let r =
        AddressRenderer::new(RenderSettings { font: FontSetting::Path(dejavu.into()), ..Default::default() }).unwrap();
    let e = r.render(&record(SAMPLE)).unwrap_err();
    assert_eq!(e.code(), "glyph_missing");
    // Latin text renders with it.
    assert!(r.render_lines(&["1-1 Kasumigaseki, Chiyoda-ku, Tokyo".into()]).is_ok());
    // The family setting finds a font by name.
    let r =
        AddressRenderer::new(RenderSettings { font: FontSetting::Family("DejaVu Sans".into()), ..Default::default() })
            .unwrap();
    assert!(r.font_path().to_string_lossy().to_lowercase().contains("dejavusans"));
    let r =
        AddressRenderer::new(RenderSettings { font: FontSetting::Family("IPAexGothic".into()), ..Default::default() })
            .unwrap();
    assert!(r.render(&record(SAMPLE)).is_ok());
}

fn tool(name: &str) -> bool {
    let found =
        Command::new("sh").arg("-c").arg(format!("command -v {name}")).output().is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("SKIP: `{name}` (Debian package libtiff-tools) is not installed; scripts/setup installs it");
    }
    found
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{cmd:?} failed: {stderr}");
    // libtiff reports decoding problems on stderr, even when it exits 0.
    assert!(!stderr.to_lowercase().contains("error"), "{cmd:?}: {stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned() + &stderr
}

#[test]
fn libtiff_decodes_the_image_to_the_rendered_bitmap() {
    if !(tool("tiffinfo") && tool("tiffcp") && tool("tiff2pdf")) {
        return;
    }
    let r = renderer();
    let img = r.render(&record(SAMPLE)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("address.tif");
    std::fs::write(&src, &img.tiff).unwrap();
    // tiffinfo reads the directory and (-D) decodes the strip.
    let info = run(Command::new("tiffinfo").arg("-D").arg(&src));
    assert!(info.contains("CCITT Group 4"), "{info}");
    assert!(
        info.contains(&format!("Image Width: {} Image Length: {}", img.bitmap.width(), img.bitmap.height())),
        "{info}"
    );
    // tiff2pdf embeds it.
    let pdf = dir.path().join("address.pdf");
    run(Command::new("tiff2pdf").arg("-o").arg(&pdf).arg(&src));
    assert!(std::fs::read(&pdf).unwrap().starts_with(b"%PDF"));
    // tiffcp decompresses it; the uncompressed pixels are the rendered bitmap.
    let raw = dir.path().join("raw.tif");
    run(Command::new("tiffcp").args(["-c", "none", "-r", "100000"]).arg(&src).arg(&raw));
    let raw = std::fs::read(&raw).unwrap();
    let mut d = tiff::decoder::Decoder::new(std::io::Cursor::new(&raw)).unwrap();
    assert_eq!(d.get_tag_u32(tiff::tags::Tag::Compression).unwrap(), 1);
    assert_eq!(decode_with_tiff_crate(&raw), img.bitmap);
}
