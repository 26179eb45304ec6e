//! [`CommandSink`]: the window's end of the command queue. It only queues (`try_send`), so the UI
//! thread never waits; a full queue comes back as [`SendError::Busy`] and the window shows "busy".

use crate::engine::{Command, CommandId, EngineHandle, SendError};
use tokio::sync::mpsc;

/// Where the window's commands go: the running engine's handle, or a bare channel (tests, the
/// fixture backend and benchmarks read the other end).
#[derive(Debug, Clone)]
pub enum CommandSink {
    Channel(mpsc::Sender<Command>),
    Engine(EngineHandle),
}

impl CommandSink {
    pub fn new(tx: mpsc::Sender<Command>) -> Self {
        CommandSink::Channel(tx)
    }

    /// A sink and its receiving end (tests, or to hand the receiver to a stand-in backend).
    pub fn channel(capacity: usize) -> (Self, mpsc::Receiver<Command>) {
        let (tx, rx) = mpsc::channel(capacity);
        (Self::new(tx), rx)
    }

    /// Sends through the running engine's handle.
    pub fn engine(handle: EngineHandle) -> Self {
        CommandSink::Engine(handle)
    }

    /// Queues `command` without waiting; the engine's [`SendError`] says why it was not queued.
    pub fn send(&self, command: Command) -> Result<(), SendError> {
        match self {
            CommandSink::Channel(tx) => tx.try_send(command).map_err(|e| match e {
                mpsc::error::TrySendError::Full(c) => SendError::Busy(c),
                mpsc::error::TrySendError::Closed(c) => SendError::Stopped(c),
            }),
            CommandSink::Engine(handle) => handle.try_send(command),
        }
    }

    /// [`CommandSink::send`] for a command the window follows (a sign-in): the engine's id for
    /// it, echoed in its events; `None` from a bare channel, which names no command.
    pub fn submit(&self, command: Command) -> Result<Option<CommandId>, SendError> {
        match self {
            CommandSink::Channel(_) => self.send(command).map(|()| None),
            CommandSink::Engine(handle) => handle.try_submit(command).map(|t| Some(t.command())),
        }
    }
}
