//! Lock-free shared head orientation.

use std::sync::atomic::{AtomicU64, Ordering};

use sphear_sh::rotation::Mat3;

use crate::parse::HeadMessage;
use crate::quat::Quat;

/// Latest head orientation, shared between the OSC thread (writer) and the audio thread
/// (reader) through an `Arc`, without locks.
///
/// The orientation is stored as a unit quaternion (four `f64` bit-cast into `AtomicU64`)
/// under a sequence lock: a writer makes the sequence odd, writes, makes it even again; a
/// reader retries while the sequence is odd or changed during its read. Writers exclude each
/// other with a compare-and-swap on the sequence. Readers never block writers; the reader
/// loop only spins while a write of four words is in progress.
///
/// # References
/// C. Lameter, "Effective synchronization on Linux/NUMA systems" (seqlock), 2005;
/// H.-J. Boehm, "Can seqlocks get along with programming language memory models?", 2012.
#[derive(Debug)]
pub struct HeadState {
    seq: AtomicU64,
    q: [AtomicU64; 4],
    /// Packets that parsed and were stored (the listener counts packets, not messages).
    pub received: AtomicU64,
    /// Packets rejected by [`crate::parse_packet`].
    pub malformed: AtomicU64,
}

impl Default for HeadState {
    fn default() -> Self {
        Self::new()
    }
}

impl HeadState {
    /// Identity orientation (looking to the front), counters at zero.
    pub fn new() -> Self {
        let i = Quat::IDENTITY;
        HeadState {
            seq: AtomicU64::new(0),
            q: [i.w, i.x, i.y, i.z].map(|v| AtomicU64::new(v.to_bits())),
            received: AtomicU64::new(0),
            malformed: AtomicU64::new(0),
        }
    }

    /// Current orientation (consistent snapshot of the four components).
    pub fn load_quat(&self) -> Quat {
        loop {
            let s0 = self.seq.load(Ordering::Acquire);
            if s0 & 1 == 1 {
                std::hint::spin_loop();
                continue;
            }
            let v = [0, 1, 2, 3].map(|i| f64::from_bits(self.q[i].load(Ordering::Acquire)));
            std::sync::atomic::fence(Ordering::Acquire);
            if self.seq.load(Ordering::Relaxed) == s0 {
                return Quat {
                    w: v[0],
                    x: v[1],
                    y: v[2],
                    z: v[3],
                };
            }
        }
    }

    /// Replace the orientation (normalised first).
    pub fn store_quat(&self, q: Quat) {
        let q = q.normalized();
        // Acquire the write side: even → odd.
        let mut s = self.seq.load(Ordering::Relaxed);
        loop {
            if s & 1 == 1 {
                std::hint::spin_loop();
                s = self.seq.load(Ordering::Relaxed);
                continue;
            }
            match self
                .seq
                .compare_exchange_weak(s, s + 1, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) => break,
                Err(now) => s = now,
            }
        }
        std::sync::atomic::fence(Ordering::Release);
        for (slot, v) in self.q.iter().zip([q.w, q.x, q.y, q.z]) {
            slot.store(v.to_bits(), Ordering::Release);
        }
        self.seq.store(s + 2, Ordering::Release);
    }

    /// Apply one update. Single-angle messages keep the other two angles of the current
    /// orientation (decomposed with [`Quat::to_ypr_deg`]).
    pub fn store(&self, m: &HeadMessage) {
        let q = match *m {
            HeadMessage::Ypr {
                yaw_deg,
                pitch_deg,
                roll_deg,
            } => Quat::from_ypr_deg(yaw_deg, pitch_deg, roll_deg),
            HeadMessage::Quaternion { w, x, y, z } => Quat { w, x, y, z },
            HeadMessage::Yaw { yaw_deg } => {
                let [_, p, r] = self.load_ypr_deg();
                Quat::from_ypr_deg(yaw_deg, p, r)
            }
            HeadMessage::Pitch { pitch_deg } => {
                let [y, _, r] = self.load_ypr_deg();
                Quat::from_ypr_deg(y, pitch_deg, r)
            }
            HeadMessage::Roll { roll_deg } => {
                let [y, p, _] = self.load_ypr_deg();
                Quat::from_ypr_deg(y, p, roll_deg)
            }
        };
        self.store_quat(q);
    }

    /// Current orientation as sphear yaw, pitch, roll in degrees.
    pub fn load_ypr_deg(&self) -> [f64; 3] {
        self.load_quat().to_ypr_deg()
    }

    /// Current head rotation `H` (active). Compensate with `Hᵀ` on the sound field.
    pub fn load_rotation(&self) -> Mat3 {
        self.load_quat().to_rotation()
    }
}
