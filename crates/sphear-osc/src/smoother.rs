//! One-pole orientation smoothing on the rotation group.

use crate::quat::Quat;

/// One-pole smoother of the head orientation: each step slerps the state towards the target
/// by `α = 1 − exp(−dt / τ)`, always along the shorter arc (so a yaw step from +170° to
/// −170° moves 20° through ±180°, not 340° through 0°). For a fixed target the angular
/// distance decays as `exp(−t / τ)`, independent of the step size.
#[derive(Debug, Clone, Copy)]
pub struct Smoother {
    tau_s: f64,
    state: Quat,
}

impl Smoother {
    /// Smoother with time constant `time_constant_ms` (≤ 0 or non-finite: no smoothing),
    /// starting at the identity.
    pub fn new(time_constant_ms: f64) -> Self {
        let mut s = Smoother {
            tau_s: 0.0,
            state: Quat::IDENTITY,
        };
        s.set_time_constant_ms(time_constant_ms);
        s
    }

    /// Change the time constant (ms); ≤ 0 or non-finite disables smoothing.
    pub fn set_time_constant_ms(&mut self, time_constant_ms: f64) {
        self.tau_s = if time_constant_ms.is_finite() && time_constant_ms > 0.0 {
            time_constant_ms * 1e-3
        } else {
            0.0
        };
    }

    /// Jump to `q` (e.g. on the first tracker message).
    pub fn reset(&mut self, q: Quat) {
        self.state = q.normalized();
    }

    /// Current smoothed orientation.
    pub fn current(&self) -> Quat {
        self.state
    }

    /// Advance by `dt_s` seconds towards `target` and return the new orientation.
    /// A negative or non-finite `dt_s` leaves the state unchanged.
    pub fn next(&mut self, target: Quat, dt_s: f64) -> Quat {
        if !(dt_s.is_finite() && dt_s >= 0.0) {
            return self.state;
        }
        let alpha = if self.tau_s == 0.0 {
            1.0
        } else {
            1.0 - (-dt_s / self.tau_s).exp()
        };
        self.state = self.state.slerp(target, alpha);
        self.state
    }
}
