//! syncwatch's integration tests, one binary (one link step), grouped like the feature list.
//! Every test talks to real parts: the reference service over HTTP on 127.0.0.1, SQLite files in
//! temp dirs, the real `syncwatch` binary, the real window through egui_kittest. The shared
//! harness is `support` (service fixture, engine harness, CLI runner, window rigs, fault relay,
//! demo data); no test file builds its own. What each group covers: `tests/README.md`.

mod support;

mod architecture;

/// The reference feature service, over HTTP.
mod server {
    mod admin;
    mod api;
    mod attachments;
    mod checks;
    mod large_replica;
    mod listener;
    mod oauth;
    mod ownership;
    mod query;
    mod sign_in;
    mod work_area;
}

/// The file formats read from other apps' files.
mod geodatabase {
    mod mobile;
}

/// The engine and the service client against the reference service.
mod engine {
    mod browse;
    mod bulk_edits;
    mod conflicts;
    mod feature_map;
    mod large_create;
    mod large_sync;
    mod offline_maps;
    mod predictions;
    mod reset;
    mod restore;
    mod service_client;
    mod service_replicas;
    mod sign_in;
    mod sqlite_results;
    mod sync;
    mod trusted_certificates;
}

/// The service client's sign-in against the reference service's token endpoints, and its
/// downloads.
mod service {
    mod sign_in;
    mod transfers;
}

/// The real `syncwatch` binary.
mod cli {
    mod attachments;
    mod bad_addresses;
    mod check;
    mod codes;
    mod commands;
    mod conflicts;
    mod damaged_files;
    mod edit_batch;
    mod inspect;
    mod reset;
    mod restore;
    mod secrets;
    mod serve;
    mod serve_users;
    mod service_browser;
    mod service_replicas;
    mod sign_in;
    mod terminal_output;
}

/// The desktop's notifications (notify-rust) on a private session bus.
mod desktop {
    mod notifier;
}

/// The window, through egui_kittest.
mod ui {
    mod app;
    mod attachments;
    mod conflicts;
    mod demo;
    mod engine;
    mod fix_form;
    mod geometry_map;
    mod log_restart;
    mod notifications;
    mod offline_maps;
    mod predicted;
    mod restore;
    mod screenshots;
    mod service_replicas;
    mod sign_in;
    mod sign_in_engine;
    mod wizard;
}

/// Faults, crashes, load, hostile input, security.
mod reliability {
    mod crash_kill;
    mod create_attempts;
    mod fault_matrix;
    mod hostile_values;
    mod load;
    mod poison_features;
    mod protocol_fuzz;
    mod reset_crash;
    mod security;
}
