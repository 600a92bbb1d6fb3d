//! The loss curve as a PNG: plotters draws into an RGB buffer (no fonts, so no
//! system font dependency: the axes carry grid lines, the numbers live in
//! metrics.jsonl), and the PNG is encoded here with flate2.

use std::io::Write;
use std::path::Path;

use plotters::prelude::*;

use crate::error::{Error, Result};

const WIDTH: u32 = 800;
const HEIGHT: u32 = 500;

fn plot_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Plot {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Training loss (blue) and, when any, evaluation loss (red) against the step.
pub fn write_loss_curve(path: &Path, train: &[(usize, f32)], eval: &[(usize, f32)]) -> Result<()> {
    let finite = |p: &&(usize, f32)| p.1.is_finite();
    let points: Vec<(usize, f32)> = train.iter().chain(eval).filter(finite).copied().collect();
    if points.is_empty() {
        return Err(plot_err(path, "no finite loss to plot"));
    }
    let x_max = points.iter().map(|p| p.0).max().unwrap_or(1).max(1) as f64;
    let y_max = points.iter().map(|p| p.1).fold(f32::MIN, f32::max) as f64;
    let y_min = points.iter().map(|p| p.1).fold(f32::MAX, f32::min).min(0.0) as f64;
    let mut buf = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| plot_err(path, e))?;
        let mut chart = ChartBuilder::on(&root)
            .margin(20)
            .build_cartesian_2d(0f64..x_max, y_min..(y_max * 1.05).max(y_min + 1e-3))
            .map_err(|e| plot_err(path, e))?;
        chart
            .configure_mesh()
            .x_labels(10)
            .y_labels(10)
            .draw()
            .map_err(|e| plot_err(path, e))?;
        let line = |pts: &[(usize, f32)]| -> Vec<(f64, f64)> {
            pts.iter()
                .filter(finite)
                .map(|&(s, l)| (s as f64, l as f64))
                .collect()
        };
        chart
            .draw_series(LineSeries::new(line(train), BLUE.stroke_width(2)))
            .map_err(|e| plot_err(path, e))?;
        if !eval.is_empty() {
            chart
                .draw_series(LineSeries::new(line(eval), RED.stroke_width(2)))
                .map_err(|e| plot_err(path, e))?;
        }
        root.present().map_err(|e| plot_err(path, e))?;
    }
    let png = encode_png(&buf, WIDTH, HEIGHT).map_err(|e| plot_err(path, e))?;
    std::fs::write(path, png).map_err(|e| Error::io(path, e))
}

/// An 8-bit RGB PNG: signature, IHDR, one zlib IDAT (filter 0 rows), IEND.
fn encode_png(rgb: &[u8], width: u32, height: u32) -> std::io::Result<Vec<u8>> {
    let mut raw = Vec::with_capacity(rgb.len() + height as usize);
    for row in rgb.chunks((width * 3) as usize) {
        raw.push(0);
        raw.extend_from_slice(row);
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&raw)?;
    let idat = z.finish()?;
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, data) in [
        (b"IHDR", &ihdr[..]),
        (b"IDAT", &idat[..]),
        (b"IEND", &[][..]),
    ] {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let start = out.len();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let crc = crc32(&out[start..]);
        out.extend_from_slice(&crc.to_be_bytes());
    }
    Ok(out)
}

/// CRC-32 (IEEE), bitwise: a few kilobytes of PNG chunks need no table.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_of_known_input() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
    }

    #[test]
    fn writes_a_png() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("loss.png");
        let train: Vec<(usize, f32)> = (1..50).map(|s| (s, 5.0 / s as f32)).collect();
        write_loss_curve(&path, &train, &[(25, 0.4)]).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&bytes[12..16], b"IHDR");
        assert!(write_loss_curve(&path, &[(1, f32::NAN)], &[]).is_err());
    }
}
