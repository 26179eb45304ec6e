//! Counted slots, in all and per client address: [`Slots::take`] gives a [`Slot`] while both
//! counts are under their bounds, and dropping the slot gives it back. Used for connections
//! (the listener) and requests in flight (the HTTP admission). Knows nothing of HTTP.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Slots bounded in all and per client address.
#[derive(Debug, Clone)]
pub(crate) struct Slots {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    total_bound: usize,
    per_client_bound: usize,
    counts: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    per_client: HashMap<IpAddr, usize>,
}

/// One slot held; dropping it gives it back.
#[derive(Debug)]
pub(crate) struct Slot {
    inner: Arc<Inner>,
    client: IpAddr,
}

/// Which bound refused a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Full {
    Total,
    Client,
}

impl Slots {
    pub(crate) fn new(total_bound: usize, per_client_bound: usize) -> Slots {
        Slots {
            inner: Arc::new(Inner {
                total_bound,
                per_client_bound,
                counts: Mutex::new(Counts::default()),
            }),
        }
    }

    /// A slot for `client`, unless the total or that client's count is at its bound.
    pub(crate) fn take(&self, client: IpAddr) -> Result<Slot, Full> {
        let mut counts = self.inner.lock();
        if counts.total >= self.inner.total_bound {
            return Err(Full::Total);
        }
        let held = counts.per_client.entry(client).or_insert(0);
        if *held >= self.inner.per_client_bound {
            return Err(Full::Client);
        }
        *held += 1;
        counts.total += 1;
        Ok(Slot {
            inner: self.inner.clone(),
            client,
        })
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        // Plain counters: still consistent if a holder panicked.
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.inner.lock();
        counts.total = counts.total.saturating_sub(1);
        if let Some(held) = counts.per_client.get_mut(&self.client) {
            *held = held.saturating_sub(1);
            if *held == 0 {
                counts.per_client.remove(&self.client);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_bounded_in_all_and_per_client_and_given_back() {
        let slots = Slots::new(3, 2);
        let a: IpAddr = [127, 0, 0, 2].into();
        let b: IpAddr = [127, 0, 0, 3].into();
        let a1 = slots.take(a).expect("first");
        let _a2 = slots.take(a).expect("second");
        assert_eq!(slots.take(a).unwrap_err(), Full::Client);
        let _b1 = slots.take(b).expect("other client");
        assert_eq!(slots.take(b).unwrap_err(), Full::Total);
        drop(a1);
        assert!(slots.take(b).is_ok());
    }
}
