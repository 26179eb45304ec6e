//! What the window's Demo menu may ask of the start-up side: [`DemoControls`] is defined here and
//! implemented where the demo service runs (`cli::gui`), so the window never talks to the demo
//! service itself. The answer comes later through [`PendingDemoCall`]; the window never waits.

/// The demo service's controls, given to the window when the demo runs. The implementation
/// reports to the log itself (through the window's event channel); on `Ok` the window then sends
/// `Command::SyncAll` so the resets happen now.
pub trait DemoControls: std::fmt::Debug + Send + Sync {
    /// Starts terminating and re-enabling sync on the demo service (it forgets every replica).
    /// The implementation wakes the window when the answer is there.
    fn terminate_and_reenable_sync(&self) -> PendingDemoCall;
}

/// A demo request's answer that may not have arrived yet: `Ok` or the failure to show.
#[derive(Debug)]
pub struct PendingDemoCall {
    answer: std::sync::mpsc::Receiver<Result<(), String>>,
}

impl PendingDemoCall {
    /// A call and the sender its answer comes through.
    pub fn channel() -> (std::sync::mpsc::Sender<Result<(), String>>, PendingDemoCall) {
        let (tx, answer) = std::sync::mpsc::channel();
        (tx, PendingDemoCall { answer })
    }

    /// An answer that is already known.
    pub fn ready(answer: Result<(), String>) -> PendingDemoCall {
        let (tx, call) = Self::channel();
        let _ = tx.send(answer);
        call
    }

    /// `None` while the call runs; then once its answer (a dropped sender reads as a failure).
    pub fn poll(&self) -> Option<Result<(), String>> {
        match self.answer.try_recv() {
            Ok(answer) => Some(answer),
            Err(std::sync::mpsc::TryRecvError::Empty) => None,
            Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                Some(Err("the demo service did not answer".to_owned()))
            }
        }
    }
}

/// Answers every request at once with the same result (tests, the fixture window).
#[derive(Debug, Clone)]
pub struct FixedDemoControls(pub Result<(), String>);

impl DemoControls for FixedDemoControls {
    fn terminate_and_reenable_sync(&self) -> PendingDemoCall {
        PendingDemoCall::ready(self.0.clone())
    }
}
