//! A small PNG writer for heatmaps, with no dependency: 8-bit RGB, unfiltered rows, and a zlib
//! stream of "stored" (uncompressed) deflate blocks, which every PNG reader accepts. Also a
//! reader for exactly that format, with which the tests check what the examples wrote.

use std::path::Path;

use ndarray::ArrayView2;

const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];

/// The largest stored deflate block.
const STORED_MAX: usize = 65_535;

/// CRC-32 as PNG chunks carry it (ISO 3309, reflected 0xEDB88320), a bit at a time: images here
/// are at most a few megabytes.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

/// Adler-32, the checksum that ends a zlib stream.
pub fn adler32(bytes: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in bytes {
        a = (a + u32::from(x)) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}

fn chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    png.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = png.len();
    png.extend_from_slice(kind);
    png.extend_from_slice(data);
    let crc = crc32(&png[start..]);
    png.extend_from_slice(&crc.to_be_bytes());
}

/// A zlib stream holding `data` in stored deflate blocks.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    // CMF 0x78: deflate with a 32 KiB window; FLG 0x01: no dictionary, 0x7801 divisible by 31.
    let mut z = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = if data.is_empty() {
        vec![&[]]
    } else {
        data.chunks(STORED_MAX).collect()
    };
    for (i, block) in blocks.iter().enumerate() {
        // BFINAL in bit 0, BTYPE 00 (stored) in bits 1–2; the rest of the byte is padding.
        z.push(u8::from(i + 1 == blocks.len()));
        let len = block.len() as u16;
        z.extend_from_slice(&len.to_le_bytes());
        z.extend_from_slice(&(!len).to_le_bytes());
        z.extend_from_slice(block);
    }
    z.extend_from_slice(&adler32(data).to_be_bytes());
    z
}

/// The PNG file of a `width` × `height` 8-bit RGB image (`rgb`: rows top to bottom, 3 bytes a
/// pixel).
pub fn encode_rgb(width: u32, height: u32, rgb: &[u8]) -> Vec<u8> {
    let row = width as usize * 3;
    assert!(row > 0 && rgb.len() == row * height as usize, "image size");
    let mut raw = Vec::with_capacity(rgb.len() + height as usize);
    for line in rgb.chunks(row) {
        raw.push(0); // filter type 0: the row as it is
        raw.extend_from_slice(line);
    }
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    // Bit depth 8, colour type 2 (RGB), deflate, adaptive filtering, no interlace.
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut png = SIGNATURE.to_vec();
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(&mut png, b"IDAT", &zlib_stored(&raw));
    chunk(&mut png, b"IEND", &[]);
    png
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// Reads a PNG as [`encode_rgb`] writes it, checking the signature, every chunk's CRC, the
/// header, the zlib stream (stored blocks only) and its Adler-32, and the row filters; returns
/// width, height and the RGB bytes.
pub fn decode_rgb(png: &[u8]) -> Result<(u32, u32, Vec<u8>), String> {
    let mut rest = png.strip_prefix(&SIGNATURE).ok_or("no PNG signature")?;
    let mut chunks = Vec::new();
    while !rest.is_empty() {
        let len = rest.get(..4).map(be32).ok_or("truncated chunk")? as usize;
        let body = rest.get(4..8 + len).ok_or("truncated chunk")?;
        let crc = rest
            .get(8 + len..12 + len)
            .map(be32)
            .ok_or("truncated chunk")?;
        let (kind, data) = body.split_at(4);
        let name = String::from_utf8_lossy(kind).into_owned();
        if crc32(body) != crc {
            return Err(format!("bad CRC in the {name} chunk"));
        }
        chunks.push((name, data));
        rest = &rest[12 + len..];
    }
    let (first, last) = match (chunks.first(), chunks.last()) {
        (Some(f), Some(l)) => (f, l),
        _ => return Err("no chunks".into()),
    };
    if first.0 != "IHDR" || first.1.len() != 13 || last.0 != "IEND" {
        return Err("IHDR must come first and IEND last".into());
    }
    let (width, height) = (be32(&first.1[..4]), be32(&first.1[4..8]));
    if first.1[8..] != [8, 2, 0, 0, 0] {
        return Err(format!("not 8-bit RGB: header {:?}", &first.1[8..]));
    }
    let z: Vec<u8> = chunks
        .iter()
        .filter(|(name, _)| name == "IDAT")
        .flat_map(|(_, data)| data.iter().copied())
        .collect();
    let raw = inflate_stored(&z)?;
    let row = width as usize * 3 + 1;
    if raw.len() != row * height as usize {
        return Err(format!(
            "{} bytes of rows, want {}",
            raw.len(),
            row * height as usize
        ));
    }
    if raw.chunks(row).any(|line| line[0] != 0) {
        return Err("a row filter other than 0".into());
    }
    let rgb = raw.chunks(row).flat_map(|line| line[1..].iter().copied());
    Ok((width, height, rgb.collect()))
}

/// The data of a zlib stream made of stored deflate blocks, its Adler-32 checked.
fn inflate_stored(z: &[u8]) -> Result<Vec<u8>, String> {
    let (cmf, flg) = (
        z.first().ok_or("empty zlib stream")?,
        z.get(1).ok_or("short zlib")?,
    );
    if cmf & 0x0f != 8 || (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 != 0 || flg & 0x20 != 0 {
        return Err("bad zlib header".into());
    }
    let (mut at, mut out) = (2, Vec::new());
    loop {
        let head = z.get(at..at + 5).ok_or("truncated deflate block")?;
        if head[0] >> 1 != 0 {
            return Err("a compressed deflate block (only stored blocks are read)".into());
        }
        let len = u16::from_le_bytes([head[1], head[2]]);
        if !len != u16::from_le_bytes([head[3], head[4]]) {
            return Err("stored block LEN and NLEN disagree".into());
        }
        let block = z
            .get(at + 5..at + 5 + len as usize)
            .ok_or("truncated block")?;
        out.extend_from_slice(block);
        at += 5 + len as usize;
        if head[0] & 1 == 1 {
            break;
        }
    }
    let adler = z.get(at..at + 4).map(be32).ok_or("no Adler-32")?;
    if adler != adler32(&out) || at + 4 != z.len() {
        return Err("bad Adler-32 or bytes after the zlib stream".into());
    }
    Ok(out)
}

/// Viridis at five points, from dark blue (low) to yellow (high).
const COLORMAP: [[f64; 3]; 5] = [
    [68.0, 1.0, 84.0],
    [59.0, 82.0, 139.0],
    [33.0, 145.0, 140.0],
    [94.0, 201.0, 98.0],
    [253.0, 231.0, 37.0],
];

/// The colour of `t` in [0, 1], linear between the colormap's points.
fn color(t: f64) -> [u8; 3] {
    let x = t.clamp(0.0, 1.0) * (COLORMAP.len() - 1) as f64;
    let i = (x as usize).min(COLORMAP.len() - 2);
    let f = x - i as f64;
    let (a, b) = (COLORMAP[i], COLORMAP[i + 1]);
    [0, 1, 2].map(|c| (a[c] + f * (b[c] - a[c])).round() as u8)
}

/// Writes `field` as a heatmap: row 0 at the top, its minimum dark blue and its maximum yellow,
/// each cell a square of pixels so that a small grid is still about 512 pixels wide.
pub fn write_heatmap(path: &Path, field: ArrayView2<f64>) -> std::io::Result<()> {
    let (h, w) = field.dim();
    if h == 0 || w == 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "an empty field",
        ));
    }
    let scale = (512 / h.max(w)).max(1);
    let finite = field.iter().copied().filter(|v| v.is_finite());
    let lo = finite.clone().fold(f64::INFINITY, f64::min);
    let hi = finite.fold(f64::NEG_INFINITY, f64::max);
    let span = if hi > lo { hi - lo } else { 1.0 };
    let mut rgb = Vec::with_capacity(h * w * scale * scale * 3);
    for row in field.rows() {
        let line: Vec<u8> = row
            .iter()
            .flat_map(|&v| std::iter::repeat_n(color((v - lo) / span), scale))
            .flatten()
            .collect();
        for _ in 0..scale {
            rgb.extend_from_slice(&line);
        }
    }
    let (width, height) = ((w * scale) as u32, (h * scale) as u32);
    std::fs::write(path, encode_rgb(width, height, &rgb))
}
