//! Image sizes and thumbnails, made once when an upload finishes.
//!
//! Only the image formats the page shows inline are decoded. The size is
//! read from the header first, and an image over [`MAX_PIXELS`] is refused
//! before a single pixel is decoded: a "decompression bomb" (50,000 × 50,000
//! pixels in a few KB of PNG) would otherwise take gigabytes. A thumbnail is
//! re-encoded from the pixels, so it carries no EXIF (no location).
//! Blocking work: callers run it off the async runtime.

use std::io::{BufReader, Cursor};
use std::path::Path;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

/// Largest image decoded, in pixels (a 100-megapixel photo is 10,000 ×
/// 10,000).
pub const MAX_PIXELS: u64 = 100_000_000;
/// Longest side of an image, in pixels.
const MAX_SIDE: u32 = 30_000;
/// Most memory a decoder may take.
const MAX_DECODE_BYTES: u64 = 1024 * 1024 * 1024;
/// Thumbnails fit in this square: sharp at 320 px on a 2× screen.
const THUMB_SIDE: u32 = 640;
const JPEG_QUALITY: u8 = 82;

/// An image's size as shown (EXIF orientation applied) and its thumbnail.
pub struct Probed {
    pub width: u32,
    pub height: u32,
    /// The thumbnail, encoded: JPEG, or PNG where it keeps transparency.
    pub thumb: Vec<u8>,
}

/// Why an image was refused.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("the image is {width} × {height} pixels; the limit is {} megapixels", MAX_PIXELS / 1_000_000)]
    TooLarge { width: u32, height: u32 },
    #[error("the image cannot be read: {0}")]
    Unreadable(String),
}

/// The image format behind a sniffed type, for the types we decode.
pub fn format_of(mime: &str) -> Option<ImageFormat> {
    match mime {
        "image/jpeg" => Some(ImageFormat::Jpeg),
        "image/png" => Some(ImageFormat::Png),
        "image/gif" => Some(ImageFormat::Gif),
        "image/webp" => Some(ImageFormat::WebP),
        _ => None,
    }
}

/// Reads the image at `path` and makes its thumbnail.
pub fn probe(path: &Path, format: ImageFormat) -> Result<Probed, Refused> {
    let unreadable = |err: &dyn std::fmt::Display| Refused::Unreadable(err.to_string());
    let open = |limits: Limits| -> Result<ImageReader<BufReader<std::fs::File>>, Refused> {
        let mut reader = ImageReader::open(path).map_err(|e| unreadable(&e))?;
        reader.set_format(format);
        reader.limits(limits);
        Ok(reader)
    };
    // The header alone, to say how large it is in our own words; the
    // decoder's limits then stand guard while decoding.
    let (width, height) = open(Limits::no_limits())?
        .into_dimensions()
        .map_err(|e| unreadable(&e))?;
    if u64::from(width) * u64::from(height) > MAX_PIXELS || width.max(height) > MAX_SIDE {
        return Err(Refused::TooLarge { width, height });
    }
    let mut decoder = open(limits())?.into_decoder().map_err(|e| unreadable(&e))?;
    let orientation = decoder.orientation().map_err(|e| unreadable(&e))?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(|e| unreadable(&e))?;
    image.apply_orientation(orientation);
    let (width, height) = (image.width(), image.height());
    let thumb = image.thumbnail(THUMB_SIDE, THUMB_SIDE);
    let thumb = encode(thumb).map_err(|e| unreadable(&e))?;
    Ok(Probed {
        width,
        height,
        thumb,
    })
}

/// JPEG for opaque images, PNG where there is transparency to keep.
fn encode(thumb: DynamicImage) -> image::ImageResult<Vec<u8>> {
    let mut out = Cursor::new(Vec::new());
    if thumb.color().has_alpha() {
        thumb.write_to(&mut out, ImageFormat::Png)?;
    } else {
        let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY);
        thumb.to_rgb8().write_with_encoder(encoder)?;
    }
    Ok(out.into_inner())
}

fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    limits
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let image = image::RgbImage::from_pixel(width, height, image::Rgb([200, 30, 30]));
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn a_photo_gets_its_size_and_a_small_thumbnail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("photo.png");
        std::fs::write(&path, png(1600, 900)).unwrap();
        let probed = probe(&path, ImageFormat::Png).unwrap();
        assert_eq!((probed.width, probed.height), (1600, 900));
        assert_eq!(
            image::guess_format(&probed.thumb).unwrap(),
            ImageFormat::Jpeg
        );
        let thumb = image::load_from_memory(&probed.thumb).unwrap();
        assert_eq!((thumb.width(), thumb.height()), (640, 360));
    }

    /// A PNG header that claims 50,000 × 50,000 pixels, in a few bytes: the
    /// size is read, and nothing is decoded.
    #[test]
    fn a_decompression_bomb_is_refused_from_its_header() {
        let mut bytes = png(1, 1);
        // IHDR's width and height follow the 8-byte signature, the chunk
        // length and "IHDR"; its CRC covers the type and the data.
        bytes[16..20].copy_from_slice(&50_000u32.to_be_bytes());
        bytes[20..24].copy_from_slice(&50_000u32.to_be_bytes());
        let crc = crc32(&bytes[12..29]);
        bytes[29..33].copy_from_slice(&crc.to_be_bytes());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bomb.png");
        std::fs::write(&path, &bytes).unwrap();
        match probe(&path, ImageFormat::Png) {
            Err(Refused::TooLarge { width, height }) => {
                assert_eq!((width, height), (50_000, 50_000))
            }
            Err(other) => panic!("refused for the wrong reason: {other}"),
            Ok(_) => panic!("a bomb was decoded"),
        }
    }

    /// The CRC-32 PNG chunks carry.
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &byte in bytes {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
}
