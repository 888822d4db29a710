//! The second generation's address image (DF1/EF04, `DF D1`, at most 2,500 bytes): the
//! record rendered into a bi-level bitmap and encoded as a CCITT Group 4 (T.6, "MMR")
//! TIFF, the form the Ministry's cards use for their images.
//!
//! * **Font**: a real TrueType/OpenType font found at run time ([`FontSetting`]): a
//!   path, a family name, or (the default) a search of the usual Debian paths for
//!   IPAex Gothic (`fonts-ipaexfont-gothic`) and Noto Sans CJK (`fonts-noto-cjk`).
//!   Rasterised with `ab_glyph`; a pixel is black when the glyph covers at least half
//!   of it. A character the font has no glyph for is refused
//!   ([`RenderError::MissingGlyph`]) rather than drawn as an empty box.
//! * **Layout**: the first line is the date of the record as `YYYY年M月D日`, then the
//!   address, wrapped at the character that would cross the right margin (Japanese has
//!   no word spaces). The image is [`RenderSettings::width`] pixels wide, as tall as
//!   the lines need, at 200 dpi; the renderer starts at the largest size and steps down
//!   until the TIFF fits 2,500 bytes and the height [`RenderSettings::max_height`],
//!   and refuses the text ([`RenderError::TooLarge`]) when even the smallest size
//!   does not.
//! * **Codec and container**: the G4 encoder of the `fax` crate, and the same crate's
//!   TIFF writer for one G4 strip (`fax::tiff::wrap`: little-endian, one IFD with
//!   width, length, `Compression = 4`, `PhotometricInterpretation = 0` (WhiteIsZero),
//!   strip offset and byte count, resolution). No codec is written here.

use std::path::{Path, PathBuf};

use ab_glyph::{Font, FontVec, PxScale, ScaleFont, point};
use zairyu::write::record::{NewAddress, NewContent, RecordError};

/// The most bytes the image may have (the `DF D1` value).
pub const MAX_IMAGE_BYTES: usize = 2500;

/// The environment variable [`FontSetting::from_env`] reads: a path (if it contains a
/// `/`) or a family name.
pub const FONT_ENV: &str = "ZAIRYU_ADDRESS_FONT";

/// Font files searched by default, in order (Debian's paths; the TTC index in the
/// second field: Noto Sans CJK's collection has the Japanese face first).
pub const DEFAULT_FONTS: &[(&str, u32)] = &[
    ("/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf", 0),
    ("/usr/share/fonts/truetype/ipaexfont-gothic/ipaexg.ttf", 0),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 0),
    ("/usr/share/fonts/opentype/noto-cjk/NotoSansCJK-Regular.ttc", 0),
    ("/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf", 0),
    ("/usr/share/fonts/truetype/fonts-japanese-gothic.ttf", 0),
];

/// Directories searched for a font by family name.
const FONT_DIRS: &[&str] = &["/usr/share/fonts", "/usr/local/share/fonts"];

/// Which font to render with.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum FontSetting {
    /// The first of [`DEFAULT_FONTS`] that exists.
    #[default]
    Search,
    /// This font file (TrueType, OpenType, or the first face of a collection).
    Path(PathBuf),
    /// A family name: `IPAexGothic`, `Noto Sans CJK JP`, or any name that a font
    /// file's name under `/usr/share/fonts` contains (spaces, `-` and `_` ignored,
    /// case-insensitive).
    Family(String),
}

impl FontSetting {
    /// From [`FONT_ENV`]: unset or empty → [`FontSetting::Search`]; a value with a
    /// `/` → a path; otherwise a family.
    pub fn from_env() -> Self {
        match std::env::var(FONT_ENV) {
            Ok(v) if v.contains('/') => FontSetting::Path(v.into()),
            Ok(v) if !v.trim().is_empty() => FontSetting::Family(v),
            _ => FontSetting::Search,
        }
    }
}

/// How to render.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderSettings {
    /// The font.
    pub font: FontSetting,
    /// Image width in pixels (at 200 dpi, 640 pixels are 81 mm).
    pub width: u32,
    /// Blank border on every side, pixels.
    pub margin: u32,
    /// The most image height, pixels.
    pub max_height: u32,
    /// The first (largest) text size tried, pixels per em.
    pub max_px: u32,
    /// The smallest text size tried.
    pub min_px: u32,
}

impl Default for RenderSettings {
    fn default() -> Self {
        RenderSettings { font: FontSetting::Search, width: 640, margin: 8, max_height: 320, max_px: 32, min_px: 14 }
    }
}

/// Why an address cannot be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// No font found: none of the default paths, or no file of the family.
    #[error(
        "no font for the address image found (tried: {tried}); install fonts-ipaexfont-gothic or fonts-noto-cjk, or set {FONT_ENV}"
    )]
    FontNotFound {
        /// What was tried.
        tried: String,
    },
    /// The font file cannot be read or parsed.
    #[error("font {path} is unusable: {reason}")]
    FontUnreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The font has no glyph for a character of the text.
    #[error("the font has no glyph for {ch:?} (U+{:04X})", *ch as u32)]
    MissingGlyph {
        /// The character.
        ch: char,
    },
    /// Even at the smallest size the text does not fit the image (2,500 bytes, or the
    /// most height).
    #[error("the address does not fit the 2500-byte image (smallest size gives {bytes} bytes, {height} pixels high)")]
    TooLarge {
        /// The TIFF size at the smallest text size.
        bytes: usize,
        /// The image height at the smallest text size.
        height: u32,
    },
    /// The settings are impossible (a zero width, margins wider than the image).
    #[error("render settings: {0}")]
    Settings(&'static str),
    /// The record fails the checks of AWP §4.2.
    #[error("record: {0}")]
    Record(#[from] RecordError),
}

impl RenderError {
    /// A stable name for the audit record and remote links.
    pub fn code(&self) -> &'static str {
        match self {
            RenderError::FontNotFound { .. } => "font_not_found",
            RenderError::FontUnreadable { .. } => "font_unreadable",
            RenderError::MissingGlyph { .. } => "glyph_missing",
            RenderError::TooLarge { .. } => "address_image_too_large",
            RenderError::Settings(_) => "render_settings_invalid",
            RenderError::Record(_) => "record_invalid",
        }
    }
}

/// A bi-level image, row by row; `true` is black.
#[derive(Clone, PartialEq, Eq)]
pub struct Bitmap {
    width: u32,
    height: u32,
    pixels: Vec<bool>,
}

impl core::fmt::Debug for Bitmap {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Bitmap({}x{}, {} black)", self.width, self.height, self.black_pixels())
    }
}

impl Bitmap {
    /// An all-white bitmap.
    pub fn new(width: u32, height: u32) -> Self {
        Bitmap { width, height, pixels: vec![false; width as usize * height as usize] }
    }

    /// From rows of pixels (all of one length); `None` otherwise.
    pub fn from_rows(rows: &[Vec<bool>]) -> Option<Self> {
        let width = rows.first().map_or(0, Vec::len);
        if rows.iter().any(|r| r.len() != width) {
            return None;
        }
        Some(Bitmap {
            width: u32::try_from(width).ok()?,
            height: u32::try_from(rows.len()).ok()?,
            pixels: rows.concat(),
        })
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Whether the pixel is black (false outside the image).
    pub fn get(&self, x: u32, y: u32) -> bool {
        x < self.width && y < self.height && self.pixels[(y * self.width + x) as usize]
    }

    fn set(&mut self, x: i32, y: i32) {
        if let (Ok(x), Ok(y)) = (u32::try_from(x), u32::try_from(y))
            && x < self.width
            && y < self.height
        {
            self.pixels[(y * self.width + x) as usize] = true;
        }
    }

    /// One row.
    pub fn row(&self, y: u32) -> &[bool] {
        let w = self.width as usize;
        &self.pixels[y as usize * w..(y as usize + 1) * w]
    }

    /// Black pixels in all.
    pub fn black_pixels(&self) -> usize {
        self.pixels.iter().filter(|&&b| b).count()
    }

    /// The bitmap as CCITT Group 4 (ITU-T T.6) data, ending in EOFB, with the `fax`
    /// crate's encoder.
    pub fn encode_g4(&self) -> Vec<u8> {
        use fax::Color;
        let mut enc = fax::encoder::Encoder::new(fax::VecWriter::new());
        for y in 0..self.height {
            let pels = self.row(y).iter().map(|&b| if b { Color::Black } else { Color::White });
            match enc.encode_line(pels, self.width) {
                Ok(()) => {}
                Err(never) => match never {},
            }
        }
        match enc.finish() {
            Ok(w) => w.finish(),
            Err(never) => match never {},
        }
    }

    /// The bitmap as a TIFF with one G4 strip.
    pub fn to_tiff(&self) -> Vec<u8> {
        fax::tiff::wrap(&self.encode_g4(), self.width, self.height)
    }
}

/// A rendered address image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedImage {
    /// The TIFF (at most [`MAX_IMAGE_BYTES`]).
    pub tiff: Vec<u8>,
    /// The bitmap it encodes.
    pub bitmap: Bitmap,
    /// The text size used, pixels per em.
    pub px: u32,
}

/// Renders address images with one font.
pub struct AddressRenderer {
    font: FontVec,
    font_path: PathBuf,
    settings: RenderSettings,
}

impl core::fmt::Debug for AddressRenderer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AddressRenderer").field("font", &self.font_path).field("settings", &self.settings).finish()
    }
}

fn normalise(s: &str) -> String {
    s.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

fn find_by_name(dir: &Path, want: &str, depth: u32, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = rd.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            if depth < 6 {
                find_by_name(&p, want, depth + 1, out);
            }
        } else if p.extension().is_some_and(|e| ["ttf", "otf", "ttc", "otc"].iter().any(|x| e.eq_ignore_ascii_case(x)))
            && p.file_stem().is_some_and(|s| normalise(&s.to_string_lossy()).contains(want))
        {
            out.push(p);
        }
    }
}

/// Resolves a font setting to a file and a face index.
pub fn resolve_font(setting: &FontSetting) -> Result<(PathBuf, u32), RenderError> {
    let first_existing =
        |c: &[(&str, u32)]| c.iter().find(|(p, _)| Path::new(p).is_file()).map(|&(p, i)| (p.into(), i));
    let list = |c: &[(&str, u32)]| c.iter().map(|(p, _)| *p).collect::<Vec<_>>().join(", ");
    match setting {
        FontSetting::Search => {
            first_existing(DEFAULT_FONTS).ok_or_else(|| RenderError::FontNotFound { tried: list(DEFAULT_FONTS) })
        }
        FontSetting::Path(p) => {
            if p.is_file() {
                Ok((p.clone(), 0))
            } else {
                Err(RenderError::FontNotFound { tried: p.display().to_string() })
            }
        }
        FontSetting::Family(name) => {
            let want = normalise(name);
            let known: &[(&str, u32)] = match want.as_str() {
                "ipaexgothic" | "ipaexg" => &DEFAULT_FONTS[..2],
                "notosanscjkjp" | "notosanscjk" => &DEFAULT_FONTS[2..4],
                _ => &[],
            };
            if let Some(found) = first_existing(known) {
                return Ok(found);
            }
            let mut found = Vec::new();
            if !want.is_empty() {
                for d in FONT_DIRS {
                    find_by_name(Path::new(d), &want, 0, &mut found);
                }
            }
            found.into_iter().next().map(|p| (p, 0)).ok_or_else(|| RenderError::FontNotFound {
                tried: format!("family {name:?} under {}", FONT_DIRS.join(", ")),
            })
        }
    }
}

/// The date line: `20260430` → `2026年4月30日`.
fn date_line(date: &str) -> String {
    let n = |r: core::ops::Range<usize>| date.get(r).and_then(|s| s.parse::<u32>().ok()).unwrap_or(0);
    format!("{}年{}月{}日", n(0..4), n(4..6), n(6..8))
}

impl AddressRenderer {
    /// Loads the font of `settings`.
    pub fn new(settings: RenderSettings) -> Result<Self, RenderError> {
        if settings.width == 0
            || settings.width <= 2 * settings.margin
            || settings.min_px == 0
            || settings.min_px > settings.max_px
            || settings.max_height == 0
        {
            return Err(RenderError::Settings("width, margin, sizes or height out of range"));
        }
        let (path, index) = resolve_font(&settings.font)?;
        let unreadable = |reason: String| RenderError::FontUnreadable { path: path.clone(), reason };
        let data = std::fs::read(&path).map_err(|e| unreadable(e.to_string()))?;
        let font = FontVec::try_from_vec_and_index(data, index).map_err(|e| unreadable(e.to_string()))?;
        log::debug!("address image font: {}", path.display());
        Ok(AddressRenderer { font, font_path: path, settings })
    }

    /// The font file in use.
    pub fn font_path(&self) -> &Path {
        &self.font_path
    }

    /// Lays out and draws `lines` at `px`; `None` if it is taller than allowed.
    fn draw(&self, lines: &[String], px: u32) -> Result<Option<Bitmap>, RenderError> {
        let s = &self.settings;
        let scaled = self.font.as_scaled(PxScale::from(px as f32));
        let inner = (s.width - 2 * s.margin) as f32;
        // Wrap each paragraph at the character that would cross the margin.
        let mut wrapped: Vec<Vec<(ab_glyph::GlyphId, f32)>> = Vec::new();
        for text in lines {
            let mut line = Vec::new();
            let mut x = 0.0f32;
            for ch in text.chars() {
                let id = self.font.glyph_id(ch);
                if id.0 == 0 {
                    return Err(RenderError::MissingGlyph { ch });
                }
                let adv = scaled.h_advance(id);
                if x + adv > inner && !line.is_empty() {
                    wrapped.push(core::mem::take(&mut line));
                    x = 0.0;
                }
                line.push((id, x));
                x += adv;
            }
            wrapped.push(line);
        }
        let line_h = (scaled.height() + scaled.line_gap()).ceil().max(1.0) as u32;
        let height = 2 * s.margin + line_h * wrapped.len() as u32;
        if height > s.max_height {
            return Ok(None);
        }
        let mut bmp = Bitmap::new(s.width, height);
        for (i, line) in wrapped.iter().enumerate() {
            let baseline = s.margin as f32 + line_h as f32 * i as f32 + scaled.ascent();
            for &(id, x) in line {
                let glyph = id.with_scale_and_position(px as f32, point(s.margin as f32 + x, baseline));
                if let Some(outline) = self.font.outline_glyph(glyph) {
                    let b = outline.px_bounds();
                    let (x0, y0) = (b.min.x as i32, b.min.y as i32);
                    outline.draw(|gx, gy, c| {
                        if c >= 0.5 {
                            bmp.set(x0 + gx as i32, y0 + gy as i32);
                        }
                    });
                }
            }
        }
        Ok(Some(bmp))
    }

    /// Renders lines of text into a G4 TIFF of at most 2,500 bytes, at the largest
    /// size that fits.
    pub fn render_lines(&self, lines: &[String]) -> Result<RenderedImage, RenderError> {
        let mut smallest = None;
        for px in (self.settings.min_px..=self.settings.max_px).rev().step_by(2) {
            let Some(bitmap) = self.draw(lines, px)? else { continue };
            let tiff = bitmap.to_tiff();
            if tiff.len() <= MAX_IMAGE_BYTES {
                return Ok(RenderedImage { tiff, bitmap, px });
            }
            smallest = Some((tiff.len(), bitmap.height()));
        }
        let (bytes, height) = match smallest {
            Some(s) => s,
            // Too tall at every size: report the smallest size's height.
            None => (0, self.draw(lines, self.settings.min_px)?.map_or(u32::MAX, |b| b.height())),
        };
        Err(RenderError::TooLarge { bytes, height })
    }

    /// Renders a record (checked first): its date line, then its address.
    pub fn render(&self, record: &NewAddress) -> Result<RenderedImage, RenderError> {
        record.check()?;
        self.render_lines(&[date_line(&record.date), record.address.clone()])
    }

    /// The DF1/EF04 content of a record: `DF D1 82 09 C4 ‖ TIFF ‖ 00…`.
    pub fn content(&self, record: &NewAddress) -> Result<NewContent, RenderError> {
        let img = self.render(record)?;
        Ok(NewContent::df1_ef04(&img.tiff)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_lines() {
        assert_eq!(date_line("20260430"), "2026年4月30日");
        assert_eq!(date_line("20261201"), "2026年12月1日");
    }

    #[test]
    fn bitmaps_encode_to_g4_that_decodes_back() {
        // A hand-drawn pattern with runs at the edges, single pixels, and a long line.
        let w = 67u32;
        let rows: Vec<Vec<bool>> = (0..23u32)
            .map(|y| {
                (0..w).map(|x| (x * 7 + y * 3) % 11 < 3 || x == 0 || y == 11 || (x == w - 1 && y % 2 == 0)).collect()
            })
            .collect();
        let b = Bitmap::from_rows(&rows).unwrap();
        let g4 = b.encode_g4();
        let mut out = Vec::new();
        fax::decoder::decode_g4(g4.iter().copied(), w, Some(b.height()), |t| {
            out.push(fax::decoder::pels(t, w).map(|c| c == fax::Color::Black).collect::<Vec<_>>())
        })
        .unwrap();
        assert_eq!(Bitmap::from_rows(&out).unwrap(), b);
        assert!(Bitmap::from_rows(&[vec![true], vec![]]).is_none());
    }

    #[test]
    fn settings_and_missing_fonts_are_typed_errors() {
        let s = RenderSettings { width: 10, margin: 5, ..RenderSettings::default() };
        assert_eq!(AddressRenderer::new(s).unwrap_err().code(), "render_settings_invalid");
        let s = RenderSettings { font: FontSetting::Path("/nonexistent/font.ttf".into()), ..Default::default() };
        let e = AddressRenderer::new(s).unwrap_err();
        assert_eq!(e.code(), "font_not_found");
        assert!(e.to_string().contains("fonts-ipaexfont-gothic"), "{e}");
        let s = RenderSettings { font: FontSetting::Family("No Such Family 42".into()), ..Default::default() };
        assert_eq!(AddressRenderer::new(s).unwrap_err().code(), "font_not_found");
        // A file that is not a font.
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("junk.ttf");
        std::fs::write(&p, b"not a font").unwrap();
        let s = RenderSettings { font: FontSetting::Path(p), ..Default::default() };
        assert_eq!(AddressRenderer::new(s).unwrap_err().code(), "font_unreadable");
    }
}
