//! The geometry fixes of the form, without a map: each vertex of the local geometry with its z
//! and m, typed in per vertex (1014 a missing z, 1002 a missing m), "Apply the layer's z default",
//! and "Keep the server's geometry" (1004, geometry updates not allowed). It edits the form's
//! geometry state and says whether it changed.

use super::{FixFormDialog, GeometryChoice};
use crate::ui::theme;
use egui::RichText;

/// Whether the form shows the geometry section: the layer has z or m, the refusal is about
/// geometry, or the local geometry differs from the server's.
pub(super) fn shows_geometry(dialog: &FixFormDialog) -> bool {
    let form = &dialog.form;
    if form.layer.is_table() || form.local.geometry.is_none() {
        return false;
    }
    let geometry_code = matches!(form.refused.code, Some(1002 | 1004 | 1014 | 1015));
    let moved = form
        .server
        .as_ref()
        .is_some_and(|s| s.geometry != form.local.geometry);
    form.layer.has_z || form.layer.has_m || geometry_code || moved
}

/// Draws the section; `true` when the geometry to send changed this frame.
pub(super) fn geometry_ui(ui: &mut egui::Ui, dialog: &mut FixFormDialog) -> bool {
    let dark = ui.visuals().dark_mode;
    let mut changed = false;
    let has_z = dialog.form.layer.has_z;
    let has_m = dialog.form.layer.has_m;
    ui.label(RichText::new("Geometry").strong());
    if dialog.geometry == GeometryChoice::Server {
        ui.label("The server's geometry is kept: the local geometry change is taken back.");
        if ui.button("Edit the local geometry instead").clicked() {
            dialog.geometry = GeometryChoice::Queued;
            changed = true;
        }
        return changed;
    }
    if has_z || has_m {
        egui::Grid::new("fix-form-vertices")
            .num_columns(4)
            .spacing([8.0, 4.0])
            .show(ui, |ui| {
                ui.label(RichText::new("Vertex").strong());
                ui.label(RichText::new("x, y").strong());
                if has_z {
                    ui.label(RichText::new("z").strong());
                }
                if has_m {
                    ui.label(RichText::new("m").strong());
                }
                ui.end_row();
                for (i, (vertex, texts)) in dialog
                    .vertices
                    .iter_mut()
                    .zip(dialog.vertex_texts.iter_mut())
                    .enumerate()
                {
                    ui.label((i + 1).to_string());
                    ui.label(format!("{:.6}, {:.6}", vertex.x, vertex.y));
                    if has_z
                        && coordinate_ui(ui, &format!("z {}", i + 1), &mut texts.0, &mut vertex.z)
                    {
                        changed = true;
                    }
                    if has_m
                        && coordinate_ui(ui, &format!("m {}", i + 1), &mut texts.1, &mut vertex.m)
                    {
                        changed = true;
                    }
                    ui.end_row();
                }
            });
        if let Some(z) = dialog.form.layer.z_default.filter(|_| has_z)
            && ui
                .button(format!("Apply the layer's z default ({z})"))
                .on_hover_text("Sets z on every vertex that has none")
                .clicked()
        {
            for (vertex, texts) in dialog
                .vertices
                .iter_mut()
                .zip(dialog.vertex_texts.iter_mut())
            {
                if vertex.z.is_none() {
                    vertex.z = Some(z);
                    texts.0 = z.to_string();
                }
            }
            changed = true;
        }
    } else {
        ui.weak(format!(
            "{} vertices; the layer has no z or m to enter.",
            dialog.vertices.len()
        ));
    }
    let server_geometry = dialog.form.server.as_ref().and_then(|s| s.geometry.clone());
    if server_geometry.is_some() && server_geometry != dialog.form.local.geometry {
        ui.colored_label(
            theme::amber(dark),
            "The local geometry differs from the server's.",
        );
        if ui
            .button("Keep the server's geometry")
            .on_hover_text("Takes the local geometry change back; the attribute fixes stay")
            .clicked()
        {
            dialog.geometry = GeometryChoice::Server;
            changed = true;
        }
    }
    if changed && dialog.geometry == GeometryChoice::Queued {
        dialog.geometry = GeometryChoice::Edited;
    }
    changed
}

/// One z or m value typed in, labelled `label` ("z 1"); `true` when it changed.
fn coordinate_ui(
    ui: &mut egui::Ui,
    label: &str,
    text: &mut String,
    value: &mut Option<f64>,
) -> bool {
    let mut changed = false;
    ui.horizontal(|ui| {
        let l = ui.weak(label);
        let r = ui
            .add(
                egui::TextEdit::singleline(text)
                    .desired_width(80.0)
                    .hint_text("missing"),
            )
            .labelled_by(l.id);
        if r.changed() {
            *value = text.trim().parse().ok();
            changed = true;
        }
    });
    changed
}
