//! OSC packet parsing for the head-tracking addresses of SPARTA and the IEM SceneRotator.

use rosc::{OscMessage, OscPacket, OscType};

use crate::error::{OscError, Result};

/// One head-orientation update, already converted to **sphear's convention** (yaw positive =
/// head turns left, pitch positive = nose up, roll positive = left ear up; degrees; the
/// quaternion is the Hamilton quaternion of the active head rotation in the x-front, y-left,
/// z-up frame). See the crate documentation for the mapping from each sender's convention.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum HeadMessage {
    /// Full yaw/pitch/roll, degrees.
    Ypr {
        /// Yaw, degrees, positive = left.
        yaw_deg: f64,
        /// Pitch, degrees, positive = nose up.
        pitch_deg: f64,
        /// Roll, degrees, positive = left ear up.
        roll_deg: f64,
    },
    /// Yaw only (the other two angles keep their values), degrees, positive = left.
    Yaw {
        /// Yaw, degrees.
        yaw_deg: f64,
    },
    /// Pitch only, degrees, positive = nose up.
    Pitch {
        /// Pitch, degrees.
        pitch_deg: f64,
    },
    /// Roll only, degrees, positive = left ear up.
    Roll {
        /// Roll, degrees.
        roll_deg: f64,
    },
    /// Unit quaternion `w + x i + y j + z k` (not necessarily normalised on the wire).
    Quaternion {
        /// Scalar part.
        w: f64,
        /// i component (about +x, front).
        x: f64,
        /// j component (about +y, left).
        y: f64,
        /// k component (about +z, up).
        z: f64,
    },
}

/// Parse one UDP datagram holding an OSC message or bundle (nested bundles allowed) into the
/// head-orientation updates it carries, in packet order.
///
/// Understood addresses (case-sensitive, as the senders spell them):
///
/// | address | args | mapping to sphear |
/// |---|---|---|
/// | `/ypr` (SPARTA) | yaw, pitch, roll (deg) | `(yaw, −pitch, roll)` |
/// | `/yaw`, `/pitch`, `/roll` (SPARTA) | 1 (deg) | yaw, −pitch, roll |
/// | `/SceneRotator/ypr` (IEM) | yaw, pitch, roll (deg) | `(yaw, −pitch, roll)` |
/// | `/SceneRotator/yaw`, `/pitch`, `/roll` (IEM) | 1 (deg) | yaw, −pitch, roll |
/// | `/SceneRotator/quaternions` (IEM) | w, x, y, z | unchanged |
///
/// Arguments may be int32, int64, float32 or float64 and must be finite. A packet in which any
/// message is unknown or malformed is rejected as a whole.
///
/// # Errors
/// [`OscError::Decode`] / [`OscError::TrailingBytes`] for bytes that are not one OSC packet,
/// [`OscError::UnknownAddress`], [`OscError::ArgCount`], [`OscError::ArgType`].
pub fn parse_packet(bytes: &[u8]) -> Result<Vec<HeadMessage>> {
    let (rest, packet) =
        rosc::decoder::decode_udp(bytes).map_err(|e| OscError::Decode(format!("{e:?}")))?;
    if !rest.is_empty() {
        return Err(OscError::TrailingBytes(rest.len()));
    }
    let mut out = Vec::new();
    collect(&packet, &mut out)?;
    Ok(out)
}

fn collect(packet: &OscPacket, out: &mut Vec<HeadMessage>) -> Result<()> {
    match packet {
        OscPacket::Message(m) => out.push(parse_message(m)?),
        OscPacket::Bundle(b) => {
            for p in &b.content {
                collect(p, out)?;
            }
        }
    }
    Ok(())
}

fn numbers<const N: usize>(m: &OscMessage) -> Result<[f64; N]> {
    if m.args.len() != N {
        return Err(OscError::ArgCount {
            addr: m.addr.clone(),
            expected: N,
            got: m.args.len(),
        });
    }
    let mut v = [0.0; N];
    for (i, (slot, arg)) in v.iter_mut().zip(&m.args).enumerate() {
        let x = match arg {
            OscType::Float(f) => f64::from(*f),
            OscType::Double(d) => *d,
            OscType::Int(k) => f64::from(*k),
            // i64 → f64 rounds beyond 2^53, irrelevant for angles.
            OscType::Long(k) => *k as f64,
            _ => f64::NAN,
        };
        if !x.is_finite() {
            return Err(OscError::ArgType {
                addr: m.addr.clone(),
                index: i,
            });
        }
        *slot = x;
    }
    Ok(v)
}

fn parse_message(m: &OscMessage) -> Result<HeadMessage> {
    let ypr = |[y, p, r]: [f64; 3]| HeadMessage::Ypr {
        yaw_deg: y,
        pitch_deg: -p,
        roll_deg: r,
    };
    Ok(match m.addr.as_str() {
        "/ypr" | "/SceneRotator/ypr" => ypr(numbers::<3>(m)?),
        "/yaw" | "/SceneRotator/yaw" => HeadMessage::Yaw {
            yaw_deg: numbers::<1>(m)?[0],
        },
        "/pitch" | "/SceneRotator/pitch" => HeadMessage::Pitch {
            pitch_deg: -numbers::<1>(m)?[0],
        },
        "/roll" | "/SceneRotator/roll" => HeadMessage::Roll {
            roll_deg: numbers::<1>(m)?[0],
        },
        "/SceneRotator/quaternions" => {
            let [w, x, y, z] = numbers::<4>(m)?;
            HeadMessage::Quaternion { w, x, y, z }
        }
        other => return Err(OscError::UnknownAddress(other.to_string())),
    })
}
