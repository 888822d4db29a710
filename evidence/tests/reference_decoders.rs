//! The PNGs equal an independent decoder's pixels on the simulator's fixtures:
//! OpenJPEG's `opj_decompress` for JPEG 2000 (within the codec's tolerance for lossy
//! JPEG 2000) and libtiff's `tiff2rgba` + `tiffinfo -d` for CCITT G4 TIFF (exactly).
//! The tools come from Debian's `libopenjp2-tools` and `libtiff-tools`
//! (scripts/setup): a missing tool fails the test, it never skips.

use std::path::{Path, PathBuf};
use std::process::Command;

use zairyu::files::Image;
use zairyu_evidence::image::{Pixels, decode_png, image_png};

fn tool(name: &str, package: &str) -> PathBuf {
    for dir in ["/usr/bin", "/usr/local/bin"] {
        let p = Path::new(dir).join(name);
        if p.exists() {
            return p;
        }
    }
    panic!("`{name}` not found: install the Debian package {package} (scripts/setup does)");
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("zairyu-evidence-ref-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
}

fn ours(bytes: &[u8]) -> Pixels {
    let png = image_png(&Image::from_value(bytes)).expect("our decoder");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    decode_png(&png).expect("our PNG reads back")
}

/// A binary PNM (P5 or P6, maxval 255) as written by opj_decompress.
fn read_pnm(bytes: &[u8]) -> Pixels {
    let mut fields = Vec::new();
    let mut i = 0;
    while fields.len() < 4 {
        while bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if bytes[i] == b'#' {
            while bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        let start = i;
        while !bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        fields.push(String::from_utf8(bytes[start..i].to_vec()).unwrap());
    }
    let channels = match fields[0].as_str() {
        "P5" => 1,
        "P6" => 3,
        other => panic!("PNM type {other}"),
    };
    assert_eq!(fields[3], "255");
    let (width, height) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    let data = bytes[i + 1..].to_vec();
    assert_eq!(data.len(), (width * height) as usize * channels as usize);
    Pixels { width, height, channels, data }
}

fn openjpeg(fixture: &str) -> Pixels {
    let out = tmp(&format!("{fixture}.pnm"));
    let _ = std::fs::remove_file(&out);
    let input = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sim/fixtures").join(fixture);
    let out_ppm = out.with_extension("ppm");
    run(Command::new(tool("opj_decompress", "libopenjp2-tools")).arg("-i").arg(&input).arg("-o").arg(&out_ppm));
    read_pnm(&std::fs::read(&out_ppm).unwrap())
}

#[test]
fn jpeg2000_equals_openjpeg_within_the_codec_tolerance() {
    for (fixture, bytes) in
        [("face.jp2", zairyu_sim::FACE_JP2), ("face.j2k", &include_bytes!("../../sim/fixtures/face.j2k")[..])]
    {
        let reference = openjpeg(fixture);
        let got = ours(bytes);
        assert_eq!((got.width, got.height, got.channels), (reference.width, reference.height, reference.channels));
        let diffs: Vec<u32> = got.data.iter().zip(&reference.data).map(|(a, b)| u32::from(a.abs_diff(*b))).collect();
        let max = diffs.iter().copied().max().unwrap();
        let mean = diffs.iter().sum::<u32>() as f64 / diffs.len() as f64;
        let exact = diffs.iter().filter(|d| **d == 0).count() as f64 / diffs.len() as f64;
        eprintln!("{fixture}: max |diff| {max}, mean {mean:.4}, {:.2}% of samples equal", exact * 100.0);
        // The fixtures are lossy JPEG 2000 (opj_compress -r 22): two conforming
        // decoders may round the inverse wavelet and colour transform differently by
        // a unit or two. A wrong decode differs by far more.
        assert!(max <= 2, "{fixture}: a sample differs by {max}");
        assert!(mean <= 0.1, "{fixture}: mean difference {mean}");
    }
}

/// libtiff's decode of a TIFF: tiff2rgba into an uncompressed RGBA TIFF, whose
/// samples `tiffinfo -d` prints in hex.
fn libtiff(fixture: &str, bytes: &[u8]) -> Pixels {
    let input = tmp(fixture);
    std::fs::write(&input, bytes).unwrap();
    let rgba = tmp(&format!("{fixture}.rgba.tif"));
    run(Command::new(tool("tiff2rgba", "libtiff-tools")).args(["-c", "none"]).arg(&input).arg(&rgba));
    let out = Command::new(tool("tiffinfo", "libtiff-tools")).arg("-d").arg(&rgba).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let dim = |key: &str| -> u32 {
        let at = text.find(key).unwrap_or_else(|| panic!("{key} in tiffinfo output")) + key.len();
        text[at..].split_whitespace().next().unwrap().parse().unwrap()
    };
    let (width, height) = (dim("Image Width:"), dim("Image Length:"));
    let mut data = Vec::new();
    let mut in_strips = false;
    for line in text.lines() {
        if line.starts_with("Strip ") {
            in_strips = true;
            continue;
        }
        if in_strips && line.starts_with(' ') {
            data.extend(line.split_whitespace().map(|h| u8::from_str_radix(h, 16).unwrap()));
        }
    }
    assert_eq!(data.len(), (width * height * 4) as usize, "{fixture}: RGBA samples");
    Pixels { width, height, channels: 4, data }
}

/// The fixture with PhotometricInterpretation (tag 262) set to BlackIsZero: the
/// same G4 data, shown inverted.
fn black_is_zero(tiff: &[u8]) -> Vec<u8> {
    assert!(tiff.starts_with(b"II*\0"), "little-endian fixture");
    let u16_at = |o: usize| u16::from_le_bytes([tiff[o], tiff[o + 1]]);
    let ifd = u32::from_le_bytes(tiff[4..8].try_into().unwrap()) as usize;
    let mut out = tiff.to_vec();
    for i in 0..usize::from(u16_at(ifd)) {
        let e = ifd + 2 + 12 * i;
        if u16_at(e) == 262 {
            assert_eq!(u16_at(e + 8), 0, "the fixture is WhiteIsZero");
            out[e + 8] = 1;
            return out;
        }
    }
    panic!("no PhotometricInterpretation tag");
}

#[test]
fn g4_tiff_equals_libtiff_exactly() {
    let black_is_zero = black_is_zero(zairyu_sim::NAME_TIF);
    for (fixture, bytes) in [
        ("front.tif", zairyu_sim::FRONT_TIF),
        ("name.tif", zairyu_sim::NAME_TIF),
        ("name-black-is-zero.tif", &black_is_zero[..]),
    ] {
        let reference = libtiff(fixture, bytes);
        let got = ours(bytes);
        assert_eq!((got.width, got.height, got.channels), (reference.width, reference.height, 1));
        let mut black = 0;
        for (i, (g, px)) in got.data.iter().zip(reference.data.chunks(4)).enumerate() {
            assert_eq!(px[3], 255, "{fixture}: opaque");
            assert!(px[0] == px[1] && px[1] == px[2], "{fixture}: grey");
            assert_eq!(
                *g,
                px[0],
                "{fixture}: pixel {} (x {}, y {})",
                i,
                i % got.width as usize,
                i / got.width as usize
            );
            black += usize::from(*g == 0);
        }
        // Not a blank page: the fixture draws text.
        let white = got.data.len() - black;
        assert!(black > 100 && white > 100, "{fixture}: {black} black, {white} white pixels");
    }
}

#[test]
fn images_of_a_simulated_read_convert() {
    // The images as a read returns them (with the fields' zero fill) convert too.
    for card_type in ["1", "05"] {
        let read = common::read(card_type.parse().unwrap());
        let images = zairyu_evidence::png_images(&read);
        assert!(!images.is_empty());
        for i in images {
            let png = i.png.unwrap_or_else(|e| panic!("{card_type} {}: {e}", i.name));
            assert!(decode_png(&png).unwrap().width > 0);
        }
    }
}

mod common;
