//! Pixels of the window without a GPU: the last frame's shapes tessellated by egui itself and
//! filled triangle by triangle on the CPU (vertex colours, premultiplied "over" blending, clip
//! rectangles). Textured triangles (text glyphs) are left out, and discs are tessellated as
//! geometry (not egui's pre-rasterised texture discs), so a pixel check sees the painted shapes.
//! It runs in the plain `cargo test`; the `snapshot` feature's wgpu renders are for screenshots.

use egui::epaint::{Primitive, WHITE_UV};
use egui::{Color32, Pos2, Rect};
use egui_kittest::Harness;

/// An RGBA image of one region of the window, one pixel per point.
pub struct Raster {
    pub region: Rect,
    width: usize,
    height: usize,
    pixels: Vec<[f32; 4]>,
}

impl Raster {
    /// The colour at window position `at` (premultiplied, opaque where the window paints).
    pub fn at(&self, at: Pos2) -> Color32 {
        let x = (at.x - self.region.min.x).floor();
        let y = (at.y - self.region.min.y).floor();
        if x < 0.0 || y < 0.0 || x as usize >= self.width || y as usize >= self.height {
            return Color32::TRANSPARENT;
        }
        let [r, g, b, a] = self.pixels[y as usize * self.width + x as usize];
        let q = |v: f32| (v * 255.0).round().clamp(0.0, 255.0) as u8;
        Color32::from_rgba_premultiplied(q(r), q(g), q(b), q(a))
    }

    /// Writes the raster as a PNG (to look at when a pixel check fails).
    pub fn save_png(&self, path: &std::path::Path) {
        let mut bytes = Vec::with_capacity(self.width * self.height * 4);
        for y in 0..self.height {
            for x in 0..self.width {
                let p = Pos2::new(
                    self.region.min.x + x as f32 + 0.5,
                    self.region.min.y + y as f32 + 0.5,
                );
                bytes.extend(self.at(p).to_array());
            }
        }
        let (w, h) = (self.width as u32, self.height as u32);
        image::save_buffer(path, &bytes, w, h, image::ColorType::Rgba8).expect("write the PNG");
    }

    /// How many pixels in `area` are near `colour` (each channel within `tolerance`).
    pub fn count_near(&self, area: Rect, colour: Color32, tolerance: u8) -> usize {
        let area = area.intersect(self.region);
        let mut n = 0;
        let mut y = area.min.y.floor() + 0.5;
        while y < area.max.y {
            let mut x = area.min.x.floor() + 0.5;
            while x < area.max.x {
                if near(self.at(Pos2::new(x, y)), colour, tolerance) {
                    n += 1;
                }
                x += 1.0;
            }
            y += 1.0;
        }
        n
    }
}

/// True when every channel of `a` is within `tolerance` of `b`'s.
pub fn near(a: Color32, b: Color32, tolerance: u8) -> bool {
    a.to_array()
        .iter()
        .zip(b.to_array())
        .all(|(x, y)| x.abs_diff(y) <= tolerance)
}

fn edge(a: Pos2, b: Pos2, p: Pos2) -> f32 {
    (b.x - a.x) * (p.y - a.y) - (b.y - a.y) * (p.x - a.x)
}

/// Rasterises `region` of the harness's last frame.
pub fn raster<S>(h: &Harness<'_, S>, region: Rect) -> Raster {
    let ctx = &h.ctx;
    let width = region.width().ceil().max(1.0) as usize;
    let height = region.height().ceil().max(1.0) as usize;
    let mut pixels = vec![[0.0_f32; 4]; width * height];
    let shapes = h.output().shapes.clone();
    let before = ctx.tessellation_options(|o| o.prerasterized_discs);
    ctx.tessellation_options_mut(|o| o.prerasterized_discs = false);
    let primitives = ctx.tessellate(shapes, 1.0);
    ctx.tessellation_options_mut(|o| o.prerasterized_discs = before);
    for clipped in primitives {
        let Primitive::Mesh(mesh) = clipped.primitive else {
            continue;
        };
        let clip = clipped.clip_rect.intersect(region);
        if !clip.is_positive() {
            continue;
        }
        for tri in mesh.indices.chunks_exact(3) {
            let v = [
                &mesh.vertices[tri[0] as usize],
                &mesh.vertices[tri[1] as usize],
                &mesh.vertices[tri[2] as usize],
            ];
            if v.iter().any(|v| v.uv != WHITE_UV) {
                continue;
            }
            let (a, b, c) = (v[0].pos, v[1].pos, v[2].pos);
            let area = edge(a, b, c);
            if area.abs() < 1e-6 {
                continue;
            }
            let bounds = Rect::from_points(&[a, b, c]).intersect(clip);
            if !bounds.is_positive() {
                continue;
            }
            let x0 = (bounds.min.x - region.min.x).floor().max(0.0) as usize;
            let x1 = ((bounds.max.x - region.min.x).ceil() as usize).min(width);
            let y0 = (bounds.min.y - region.min.y).floor().max(0.0) as usize;
            let y1 = ((bounds.max.y - region.min.y).ceil() as usize).min(height);
            for py in y0..y1 {
                for px in x0..x1 {
                    let p = Pos2::new(
                        region.min.x + px as f32 + 0.5,
                        region.min.y + py as f32 + 0.5,
                    );
                    if !clip.contains(p) {
                        continue;
                    }
                    let (w0, w1, w2) = (
                        edge(b, c, p) / area,
                        edge(c, a, p) / area,
                        edge(a, b, p) / area,
                    );
                    if w0 < 0.0 || w1 < 0.0 || w2 < 0.0 {
                        continue;
                    }
                    let mut src = [0.0_f32; 4];
                    for (i, s) in src.iter_mut().enumerate() {
                        *s = (w0 * f32::from(v[0].color.to_array()[i])
                            + w1 * f32::from(v[1].color.to_array()[i])
                            + w2 * f32::from(v[2].color.to_array()[i]))
                            / 255.0;
                    }
                    let dst = &mut pixels[py * width + px];
                    let keep = 1.0 - src[3];
                    for i in 0..4 {
                        dst[i] = src[i] + dst[i] * keep;
                    }
                }
            }
        }
    }
    Raster {
        region,
        width,
        height,
        pixels,
    }
}
