//! ArcGIS offline maps in the window through egui_kittest (no engine): File → Open offline
//! map… sends `OpenOfflineMap` with the picked file; the maps the engine read (the real Collector
//! files, one copy with local changes the service's rules refuse) appear in the replica list
//! marked "ArcGIS offline map" with their own health; selecting one shows its detail, which says
//! the app that made it syncs it.

use crate::support::offline_maps::{copy_into, real_files, write_changes};
use crate::support::ui::{RigOptions, rig_with};
use egui_kittest::kittest::Queryable as _;
use std::path::PathBuf;
use syncwatch::engine::{Command, Event, OfflineCheck};
use syncwatch::geodatabase::mobile;
use syncwatch::ui::{FilePicker, PendingPick};

/// Opens always this file; saves nowhere.
struct OpenPicker(PathBuf);

impl FilePicker for OpenPicker {
    fn pick_save_csv(&mut self, _ctx: &egui::Context, _name: &str) -> PendingPick {
        PendingPick::ready(None)
    }
    fn pick_open_geodatabase(&mut self, _ctx: &egui::Context) -> PendingPick {
        PendingPick::ready(Some(self.0.clone()))
    }
}

#[test]
fn offline_maps_appear_in_the_replica_list_with_their_own_health() {
    let dir = tempfile::tempdir().unwrap();
    let (real, table) = real_files().remove(0);
    let edited = copy_into(&real, dir.path(), "edited.geodatabase");
    write_changes(&edited, table, 1, 0, 0, Some(9));
    let mut r = rig_with(RigOptions {
        picker: Some(Box::new(OpenPicker(real.clone()))),
        ..RigOptions::default()
    });
    r.click("File");
    r.click("Open offline map…");
    let commands = r.take_commands();
    assert!(
        commands.contains(&Command::OpenOfflineMap {
            path: real.clone(),
            token: None
        }),
        "{commands:?}"
    );
    let clean = mobile::read(&real).unwrap();
    let mut changed = mobile::read(&edited).unwrap();
    changed.replica.name = "Edited homesites".into();
    r.push([
        Event::OfflineMapRead { map: clean.clone() },
        Event::OfflineMapChecked {
            path: real.clone(),
            check: OfflineCheck::NotRegistered {
                message: "replica does not exist (3061)".into(),
            },
        },
        Event::OfflineMapRead {
            map: changed.clone(),
        },
    ]);
    assert_eq!(
        r.harness.query_all_by_label("ArcGIS offline map").count(),
        2
    );
    r.harness.get_by_label("✖ not registered on the service");
    r.harness.get_by_label("⚠ changes the service would refuse");
    r.harness
        .get_by_label("1 local changes waiting, 1 predicted refusals");
    assert_eq!(
        r.harness
            .query_all_by_label("Synced by Collector for ArcGIS")
            .count(),
        2
    );

    // the opened file is shown at once; its detail names who syncs it
    r.harness.get_by_label(&clean.made_by.sync_note());
    r.harness
        .get_by_label(&clean.replica.replica_id.to_string());
    r.harness.get_by_label("Homesites");

    r.click("Edited homesites");
    r.harness
        .get_by_label("Edited homesites — ArcGIS offline map");
    r.harness
        .get_by_label("Changes the service would refuse (1)");
    assert!(
        r.take_commands()
            .iter()
            .all(|c| !matches!(c, Command::SyncNow { .. })),
        "nothing asks to sync an offline map"
    );
}

#[test]
fn the_watch_folders_are_edited_and_saved() {
    let mut r = rig_with(RigOptions::default());
    assert!(
        r.startup_commands.contains(&Command::LoadOfflineMapFolders),
        "{:?}",
        r.startup_commands
    );
    r.push([Event::OfflineMapFolders {
        folders: vec![PathBuf::from("/home/tech/Documents/ArcGIS/OfflineMaps")],
    }]);
    r.click("File");
    r.click("Offline map folders…");
    r.harness
        .get_by_label("Folders searched for ArcGIS offline maps (.geodatabase), one per line:");
    let editor = r
        .harness
        .get_by_role(egui::accesskit::Role::MultilineTextInput);
    assert_eq!(
        editor.value().as_deref(),
        Some("/home/tech/Documents/ArcGIS/OfflineMaps")
    );
    editor.click();
    r.harness.run();
    r.harness.key_press(egui::Key::End);
    r.harness.key_press(egui::Key::Enter);
    r.harness
        .get_by_role(egui::accesskit::Role::MultilineTextInput)
        .type_text("/data/field-maps");
    r.harness.run();
    r.click("Save and scan");
    let commands = r.take_commands();
    assert!(
        commands.contains(&Command::SetOfflineMapFolders {
            folders: vec![
                PathBuf::from("/home/tech/Documents/ArcGIS/OfflineMaps"),
                PathBuf::from("/data/field-maps"),
            ]
        }),
        "{commands:?}"
    );
}
