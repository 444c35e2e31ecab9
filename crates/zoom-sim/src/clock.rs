//! Simulated wall clock shared by the server and the test driving it.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

#[derive(Debug, Clone, Copy)]
enum Mode {
    /// Real time plus an offset (moved by `set`/`advance`).
    System { offset: Duration },
    /// Frozen time, moved only by `set`/`advance`.
    Manual { at: DateTime<Utc> },
}

/// A clock that is either the real UTC clock or a manually driven one.
///
/// Cloning shares the same underlying time: advancing one clone advances all.
/// On a system clock, [`SimClock::set`] and [`SimClock::advance`] shift an offset
/// (time keeps ticking); on a manual clock time only moves when told to.
#[derive(Clone, Debug)]
pub struct SimClock {
    mode: Arc<Mutex<Mode>>,
}

impl SimClock {
    /// The real UTC clock (`Utc::now()`).
    pub fn system() -> SimClock {
        SimClock {
            mode: Arc::new(Mutex::new(Mode::System {
                offset: Duration::zero(),
            })),
        }
    }

    /// A manual clock frozen at `start` until [`SimClock::set`] or [`SimClock::advance`] is called.
    pub fn manual(start: DateTime<Utc>) -> SimClock {
        SimClock {
            mode: Arc::new(Mutex::new(Mode::Manual { at: start })),
        }
    }

    /// Whether this clock is manually driven (frozen between changes).
    pub fn is_manual(&self) -> bool {
        matches!(*self.lock(), Mode::Manual { .. })
    }

    /// Current simulated time.
    pub fn now(&self) -> DateTime<Utc> {
        match *self.lock() {
            Mode::System { offset } => Utc::now() + offset,
            Mode::Manual { at } => at,
        }
    }

    /// Sets the current time to `t`.
    pub fn set(&self, t: DateTime<Utc>) {
        let mut m = self.lock();
        *m = match *m {
            Mode::System { .. } => Mode::System {
                offset: t - Utc::now(),
            },
            Mode::Manual { .. } => Mode::Manual { at: t },
        };
    }

    /// Moves the current time forward by `d` (backwards if negative).
    pub fn advance(&self, d: Duration) {
        let mut m = self.lock();
        *m = match *m {
            Mode::System { offset } => Mode::System { offset: offset + d },
            Mode::Manual { at } => Mode::Manual { at: at + d },
        };
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Mode> {
        self.mode.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Default for SimClock {
    fn default() -> Self {
        SimClock::system()
    }
}
