//! Driving the New replica wizard in the window: from the menu item through the service page
//! (layers ticked by name: checkboxes by role and label, since a layer's name appears twice) to
//! "Create replica", on the real engine (`wait_until`).

use super::stack::{click, type_into};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use syncwatch::ui::SyncwatchApp;
use syncwatch::ui::dialogs::wizard::WizardStep;

/// Whether the wizard is open at `step`.
pub fn on_step(app: &SyncwatchApp, step: WizardStep) -> bool {
    app.wizard.as_ref().is_some_and(|w| w.step == step)
}

/// Ticks the layer's checkbox on the service page.
pub fn tick_layer(h: &mut Harness<'static, SyncwatchApp>, layer: &str) {
    h.get_by_role_and_label(egui::accesskit::Role::CheckBox, layer)
        .click();
    h.run_steps(3);
}

/// Frames for the wizard's modal to settle: it centres itself again a frame after its page
/// changes size, so a click computed before that would land outside it (and close it).
pub const SETTLE_FRAMES: usize = 6;

/// "Next" to the following page, then lets the modal settle.
pub fn next_page(h: &mut Harness<'static, SyncwatchApp>) {
    click(h, "Next");
    h.run_steps(SETTLE_FRAMES);
}

/// "Next" on the URL page (the URL as it is), then waits for the service page.
pub fn read_service(h: &mut Harness<'static, SyncwatchApp>) {
    h.run_steps(SETTLE_FRAMES);
    click(h, "Next");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !on_step(h.state(), WizardStep::Service) {
        let w = h.state().wizard.as_ref();
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for the service page: error {:?}, busy {:?}",
            w.and_then(|w| w.error.clone()),
            w.map(|w| w.busy)
        );
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    h.run_steps(3);
}

/// From the URL page: the service read, `layers` ticked, the whole service, the name typed
/// (replacing the suggestion), "Create replica".
pub fn finish_wizard(h: &mut Harness<'static, SyncwatchApp>, layers: &[&str], name: &str) {
    read_service(h);
    for layer in layers {
        tick_layer(h, layer);
    }
    next_page(h);
    assert!(
        on_step(h.state(), WizardStep::Area),
        "on the work-area page"
    );
    next_page(h);
    assert!(on_step(h.state(), WizardStep::Name), "on the name page");
    if let Some(w) = h.state_mut().wizard.as_mut() {
        w.name.clear();
    }
    type_into(h, "Replica name", name);
    click(h, "Create replica");
}

/// File → New replica… and the whole wizard (see [`finish_wizard`]).
pub fn new_replica(h: &mut Harness<'static, SyncwatchApp>, layers: &[&str], name: &str) {
    click(h, "New replica…");
    finish_wizard(h, layers, name);
}
