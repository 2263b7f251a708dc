//! Tests of sphear-osc: parsing per sender convention (with the sign mapping checked against
//! the rotation matrices written out from the SAF / IEM sources), malformed input, the lock-free
//! state, the UDP listener on loopback, and the smoother.

use std::net::UdpSocket;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use rosc::{OscBundle, OscMessage, OscPacket, OscTime, OscType, encoder};
use sphear_osc::{HeadMessage, HeadState, OscError, OscListener, Quat, Smoother, parse_packet};
use sphear_sh::rotation::{Mat3, mat3_mul, mat3_transpose, rotation_from_ypr};

/// f32 arguments carry ~1e-7 relative error; angles in degrees up to 180.
const F32_ANGLE_TOL_DEG: f64 = 1e-4;
/// Double-precision matrix / angle comparisons.
const F64_TOL: f64 = 1e-9;
/// Longest a listener test waits for packets to arrive.
const LISTENER_WAIT: Duration = Duration::from_secs(5);

fn msg(addr: &str, args: Vec<OscType>) -> OscPacket {
    OscPacket::Message(OscMessage {
        addr: addr.to_string(),
        args,
    })
}

fn enc(p: &OscPacket) -> Vec<u8> {
    encoder::encode(p).expect("encode")
}

fn max_abs_diff(a: &Mat3, b: &Mat3) -> f64 {
    let mut m: f64 = 0.0;
    for i in 0..3 {
        for j in 0..3 {
            m = m.max((a[i][j] - b[i][j]).abs());
        }
    }
    m
}

fn ypr_of(m: &HeadMessage) -> [f64; 3] {
    match *m {
        HeadMessage::Ypr {
            yaw_deg,
            pitch_deg,
            roll_deg,
        } => [yaw_deg, pitch_deg, roll_deg],
        ref other => panic!("expected Ypr, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// Reference matrices transcribed from the senders' sources (independent of sphear's code).

/// SAF `yawPitchRoll2Rzyx(yaw, pitch, roll, 0)`: R = Rx · Ry · Rz with SAF's literal
/// (passive) matrices. The SPARTA rotator applies R to the scene, so the head orientation is Rᵀ.
fn saf_rzyx(yaw_deg: f64, pitch_deg: f64, roll_deg: f64) -> Mat3 {
    let (sy, cy) = yaw_deg.to_radians().sin_cos();
    let (sp, cp) = pitch_deg.to_radians().sin_cos();
    let (sr, cr) = roll_deg.to_radians().sin_cos();
    let rz = [[cy, sy, 0.0], [-sy, cy, 0.0], [0.0, 0.0, 1.0]];
    let ry = [[cp, 0.0, -sp], [0.0, 1.0, 0.0], [sp, 0.0, cp]];
    let rx = [[1.0, 0.0, 0.0], [0.0, cr, sr], [0.0, -sr, cr]];
    mat3_mul(&rx, &mat3_mul(&ry, &rz))
}

/// IEM SceneRotator `calcRotationMatrix`, default sequence roll → pitch → yaw (extrinsic).
fn iem_rot(yaw_deg: f64, pitch_deg: f64, roll_deg: f64) -> Mat3 {
    let (sa, ca) = yaw_deg.to_radians().sin_cos();
    let (sb, cb) = pitch_deg.to_radians().sin_cos();
    let (sy, cy) = roll_deg.to_radians().sin_cos();
    [
        [ca * cb, ca * sb * sy - sa * cy, ca * sb * cy + sa * sy],
        [sa * cb, sa * sb * sy + ca * cy, sa * sb * cy - ca * sy],
        [-sb, cb * sy, cb * cy],
    ]
}

/// IEM SceneRotator `updateQuaternions`, sequence roll → pitch → yaw.
fn iem_quat(yaw_deg: f64, pitch_deg: f64, roll_deg: f64) -> [f64; 4] {
    let (za, wa) = (0.5 * yaw_deg.to_radians()).sin_cos();
    let (yb, wb) = (0.5 * pitch_deg.to_radians()).sin_cos();
    let (xc, wc) = (0.5 * roll_deg.to_radians()).sin_cos();
    [
        wa * wc * wb + za * xc * yb,
        wa * xc * wb - za * wc * yb,
        wa * wc * yb + za * xc * wb,
        za * wc * wb - wa * xc * yb,
    ]
}

// ---------------------------------------------------------------------------------------
// Parsing and sign mapping.

#[test]
fn sparta_ypr_sign_mapping_matches_saf_matrices() {
    // SPARTA yaw +30 = head turned 30° left: sphear yaw +30. SPARTA pitch +20 = nose down
    // (right-handed about +y): sphear pitch −20. SPARTA roll +10 = left ear up: sphear +10.
    let out = parse_packet(&enc(&msg(
        "/ypr",
        vec![
            OscType::Float(30.0),
            OscType::Float(20.0),
            OscType::Float(10.0),
        ],
    )))
    .expect("parse");
    assert_eq!(out.len(), 1);
    let [y, p, r] = ypr_of(&out[0]);
    assert!((y - 30.0).abs() < F32_ANGLE_TOL_DEG);
    assert!((p + 20.0).abs() < F32_ANGLE_TOL_DEG);
    assert!((r - 10.0).abs() < F32_ANGLE_TOL_DEG);

    // Matrix check over a grid: head orientation = SAF matrixᵀ.
    for &(a, b, c) in &[
        (30.0, 20.0, 10.0),
        (-120.0, 45.0, -60.0),
        (170.0, -80.0, 33.0),
    ] {
        let bytes = enc(&msg(
            "/ypr",
            vec![OscType::Double(a), OscType::Double(b), OscType::Double(c)],
        ));
        let [y, p, r] = ypr_of(&parse_packet(&bytes).expect("parse")[0]);
        let h = rotation_from_ypr(y.to_radians(), p.to_radians(), r.to_radians());
        let err = max_abs_diff(&h, &mat3_transpose(&saf_rzyx(a, b, c)));
        assert!(err < F64_TOL, "({a},{b},{c}): {err}");
    }
}

#[test]
fn sparta_single_angles() {
    let one = |addr: &str, v: f32| {
        let out = parse_packet(&enc(&msg(addr, vec![OscType::Float(v)]))).expect("parse");
        assert_eq!(out.len(), 1);
        out[0]
    };
    assert_eq!(one("/yaw", 30.0), HeadMessage::Yaw { yaw_deg: 30.0 });
    assert_eq!(one("/pitch", 30.0), HeadMessage::Pitch { pitch_deg: -30.0 });
    assert_eq!(one("/roll", 30.0), HeadMessage::Roll { roll_deg: 30.0 });
    assert_eq!(
        one("/SceneRotator/pitch", 12.0),
        HeadMessage::Pitch { pitch_deg: -12.0 }
    );
}

#[test]
fn iem_ypr_and_quaternions_match_scenerotator_matrices() {
    for &(a, b, c) in &[
        (30.0, 20.0, 10.0),
        (-120.0, 45.0, -60.0),
        (170.0, -80.0, 33.0),
    ] {
        let reference = iem_rot(a, b, c);
        // /SceneRotator/ypr
        let bytes = enc(&msg(
            "/SceneRotator/ypr",
            vec![OscType::Double(a), OscType::Double(b), OscType::Double(c)],
        ));
        let [y, p, r] = ypr_of(&parse_packet(&bytes).expect("parse")[0]);
        let h = rotation_from_ypr(y.to_radians(), p.to_radians(), r.to_radians());
        assert!(max_abs_diff(&h, &reference) < F64_TOL);

        // /SceneRotator/quaternions in IEM's (w, x, y, z) order.
        let q = iem_quat(a, b, c);
        let bytes = enc(&msg(
            "/SceneRotator/quaternions",
            q.iter().map(|&v| OscType::Double(v)).collect(),
        ));
        let out = parse_packet(&bytes).expect("parse");
        let HeadMessage::Quaternion { w, x, y, z } = out[0] else {
            panic!("expected quaternion, got {:?}", out[0]);
        };
        let hq = Quat { w, x, y, z }.to_rotation();
        assert!(max_abs_diff(&hq, &reference) < F64_TOL);
    }
    // Documented example: IEM yaw +30 → sphear yaw +30; IEM pitch +20 → sphear −20.
    let out = parse_packet(&enc(&msg(
        "/SceneRotator/ypr",
        vec![OscType::Int(30), OscType::Int(20), OscType::Int(0)],
    )))
    .expect("parse");
    assert_eq!(
        out[0],
        HeadMessage::Ypr {
            yaw_deg: 30.0,
            pitch_deg: -20.0,
            roll_deg: 0.0
        }
    );
}

#[test]
fn int_float_double_long_arguments_are_equivalent() {
    let variants = [
        vec![OscType::Int(45), OscType::Int(-10), OscType::Int(5)],
        vec![OscType::Long(45), OscType::Long(-10), OscType::Long(5)],
        vec![
            OscType::Float(45.0),
            OscType::Float(-10.0),
            OscType::Float(5.0),
        ],
        vec![
            OscType::Double(45.0),
            OscType::Double(-10.0),
            OscType::Double(5.0),
        ],
        vec![
            OscType::Int(45),
            OscType::Float(-10.0),
            OscType::Double(5.0),
        ],
    ];
    for args in variants {
        let out = parse_packet(&enc(&msg("/ypr", args.clone()))).expect("parse");
        assert_eq!(
            out,
            vec![HeadMessage::Ypr {
                yaw_deg: 45.0,
                pitch_deg: 10.0,
                roll_deg: 5.0
            }],
            "{args:?}"
        );
    }
}

#[test]
fn bundles_nested_keep_order() {
    let inner = OscPacket::Bundle(OscBundle {
        timetag: OscTime {
            seconds: 0,
            fractional: 1,
        },
        content: vec![msg("/yaw", vec![OscType::Float(1.0)])],
    });
    let outer = OscPacket::Bundle(OscBundle {
        timetag: OscTime {
            seconds: 0,
            fractional: 1,
        },
        content: vec![
            msg("/roll", vec![OscType::Float(2.0)]),
            inner,
            msg(
                "/SceneRotator/quaternions",
                vec![
                    OscType::Int(1),
                    OscType::Int(0),
                    OscType::Int(0),
                    OscType::Int(0),
                ],
            ),
        ],
    });
    let out = parse_packet(&enc(&outer)).expect("parse");
    assert_eq!(
        out,
        vec![
            HeadMessage::Roll { roll_deg: 2.0 },
            HeadMessage::Yaw { yaw_deg: 1.0 },
            HeadMessage::Quaternion {
                w: 1.0,
                x: 0.0,
                y: 0.0,
                z: 0.0
            },
        ]
    );
}

// ---------------------------------------------------------------------------------------
// Malformed input.

#[test]
fn wrong_counts_types_addresses_are_errors() {
    type Check = fn(&OscError) -> bool;
    let cases: Vec<(OscPacket, Check)> = vec![
        (
            msg("/ypr", vec![OscType::Float(1.0), OscType::Float(2.0)]),
            |e| {
                matches!(
                    e,
                    OscError::ArgCount {
                        expected: 3,
                        got: 2,
                        ..
                    }
                )
            },
        ),
        (
            msg("/SceneRotator/quaternions", vec![OscType::Float(1.0); 3]),
            |e| {
                matches!(
                    e,
                    OscError::ArgCount {
                        expected: 4,
                        got: 3,
                        ..
                    }
                )
            },
        ),
        (msg("/yaw", vec![]), |e| {
            matches!(
                e,
                OscError::ArgCount {
                    expected: 1,
                    got: 0,
                    ..
                }
            )
        }),
        (
            msg(
                "/ypr",
                vec![
                    OscType::Float(1.0),
                    OscType::String("x".into()),
                    OscType::Float(2.0),
                ],
            ),
            |e| matches!(e, OscError::ArgType { index: 1, .. }),
        ),
        (
            msg(
                "/ypr",
                vec![
                    OscType::Float(1.0),
                    OscType::Float(f32::NAN),
                    OscType::Float(2.0),
                ],
            ),
            |e| matches!(e, OscError::ArgType { index: 1, .. }),
        ),
        (msg("/yaw", vec![OscType::Double(f64::INFINITY)]), |e| {
            matches!(e, OscError::ArgType { index: 0, .. })
        }),
        (msg("/foo/ypr", vec![OscType::Float(1.0); 3]), |e| {
            matches!(e, OscError::UnknownAddress(_))
        }),
        // One bad message rejects the whole bundle.
        (
            OscPacket::Bundle(OscBundle {
                timetag: OscTime {
                    seconds: 0,
                    fractional: 1,
                },
                content: vec![msg("/yaw", vec![OscType::Float(1.0)]), msg("/nope", vec![])],
            }),
            |e| matches!(e, OscError::UnknownAddress(_)),
        ),
    ];
    for (p, ok) in cases {
        let e = parse_packet(&enc(&p)).expect_err("must fail");
        assert!(ok(&e), "{p:?}: {e:?}");
    }
}

#[test]
fn truncated_packets_are_errors() {
    let full = enc(&msg(
        "/SceneRotator/quaternions",
        vec![
            OscType::Float(1.0),
            OscType::Float(0.0),
            OscType::Float(0.0),
            OscType::Float(0.0),
        ],
    ));
    assert!(parse_packet(&full).is_ok());
    for n in 0..full.len() {
        assert!(
            parse_packet(&full[..n]).is_err(),
            "prefix of {n} bytes accepted"
        );
    }
    let mut extra = full.clone();
    extra.extend_from_slice(&[0, 0, 0, 0]);
    assert!(parse_packet(&extra).is_err(), "trailing bytes accepted");
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse_packet(&bytes);
    }

    #[test]
    fn mutated_valid_packets_never_panic(
        idx in 0usize..64, val in any::<u8>(), cut in 0usize..64
    ) {
        let mut b = enc(&msg("/ypr", vec![OscType::Float(1.0), OscType::Int(2), OscType::Double(3.0)]));
        let i = idx % b.len();
        b[i] = val;
        b.truncate(b.len() - (cut % b.len()));
        let _ = parse_packet(&b);
    }

    #[test]
    fn quat_ypr_roundtrip(y in -179.0f64..179.0, p in -89.0f64..89.0, r in -179.0f64..179.0) {
        let q = Quat::from_ypr_deg(y, p, r);
        let h = rotation_from_ypr(y.to_radians(), p.to_radians(), r.to_radians());
        prop_assert!(max_abs_diff(&q.to_rotation(), &h) < F64_TOL);
        let [y2, p2, r2] = q.to_ypr_deg();
        let h2 = rotation_from_ypr(y2.to_radians(), p2.to_radians(), r2.to_radians());
        prop_assert!(max_abs_diff(&h2, &h) < 1e-7);
        prop_assert!((y2 - y).abs() < 1e-6 && (p2 - p).abs() < 1e-6 && (r2 - r).abs() < 1e-6);
    }
}

// ---------------------------------------------------------------------------------------
// State.

#[test]
fn state_single_angle_updates_keep_the_others() {
    let s = HeadState::new();
    s.store(&HeadMessage::Ypr {
        yaw_deg: 40.0,
        pitch_deg: 15.0,
        roll_deg: -5.0,
    });
    s.store(&HeadMessage::Yaw { yaw_deg: -100.0 });
    let [y, p, r] = s.load_ypr_deg();
    assert!((y + 100.0).abs() < 1e-9 && (p - 15.0).abs() < 1e-9 && (r + 5.0).abs() < 1e-9);
    s.store(&HeadMessage::Pitch { pitch_deg: -30.0 });
    s.store(&HeadMessage::Roll { roll_deg: 20.0 });
    let [y, p, r] = s.load_ypr_deg();
    assert!((y + 100.0).abs() < 1e-9 && (p + 30.0).abs() < 1e-9 && (r - 20.0).abs() < 1e-9);
    let h = s.load_rotation();
    let reference = rotation_from_ypr(
        (-100f64).to_radians(),
        (-30f64).to_radians(),
        20f64.to_radians(),
    );
    assert!(max_abs_diff(&h, &reference) < F64_TOL);
}

#[test]
fn state_reads_are_never_torn() {
    // A writer alternates between two orientations; every read must be one of them exactly.
    let s = Arc::new(HeadState::new());
    let a = Quat::from_ypr_deg(10.0, 20.0, 30.0);
    let b = Quat::from_ypr_deg(-150.0, -60.0, 90.0);
    let w = {
        let s = Arc::clone(&s);
        std::thread::spawn(move || {
            for i in 0..200_000 {
                s.store_quat(if i % 2 == 0 { a } else { b });
            }
        })
    };
    let (an, bn) = (a.normalized(), b.normalized());
    for _ in 0..200_000 {
        let q = s.load_quat();
        assert!(q == an || q == bn || q == Quat::IDENTITY, "torn read {q:?}");
    }
    w.join().expect("writer");
}

// ---------------------------------------------------------------------------------------
// Listener.

#[test]
fn listener_counts_and_stores_on_loopback() {
    let state = Arc::new(HeadState::new());
    let mut listener = OscListener::spawn("127.0.0.1:0", Arc::clone(&state)).expect("spawn");
    let to = listener.local_addr();
    let tx = UdpSocket::bind("127.0.0.1:0").expect("bind sender");

    const N_VALID: u64 = 20;
    const N_BAD: u64 = 7;
    for i in 0..N_VALID {
        let yaw = i as f32 * 5.0;
        tx.send_to(
            &enc(&msg(
                "/ypr",
                vec![
                    OscType::Float(yaw),
                    OscType::Float(-10.0),
                    OscType::Float(0.0),
                ],
            )),
            to,
        )
        .expect("send");
        if i < N_BAD {
            let bad: &[u8] = match i % 3 {
                0 => b"garbage!",
                1 => &[0x2f, 0x79, 0x70],
                _ => b"/unknown\0\0\0\0,\0\0\0",
            };
            tx.send_to(bad, to).expect("send");
        }
        // Loopback UDP is reliable unless the receive buffer overflows; pace lightly.
        std::thread::sleep(Duration::from_millis(2));
    }
    let t0 = Instant::now();
    while (state.received.load(Ordering::Acquire) < N_VALID
        || state.malformed.load(Ordering::Acquire) < N_BAD)
        && t0.elapsed() < LISTENER_WAIT
    {
        std::thread::sleep(Duration::from_millis(5));
    }
    listener.stop();
    assert_eq!(state.received.load(Ordering::Acquire), N_VALID);
    assert_eq!(state.malformed.load(Ordering::Acquire), N_BAD);
    let [y, p, r] = state.load_ypr_deg();
    let last_yaw = (N_VALID - 1) as f64 * 5.0;
    assert!((y - last_yaw).abs() < F32_ANGLE_TOL_DEG, "{y}");
    assert!((p - 10.0).abs() < F32_ANGLE_TOL_DEG, "{p}");
    assert!(r.abs() < F32_ANGLE_TOL_DEG, "{r}");
}

#[test]
fn listener_drop_stops_and_frees_port() {
    let state = Arc::new(HeadState::new());
    let l = OscListener::spawn("127.0.0.1:0", state).expect("spawn");
    let addr = l.local_addr();
    drop(l);
    // The thread has joined and the socket is closed: the port can be bound again.
    UdpSocket::bind(addr).expect("port released after drop");
    assert!(OscListener::spawn("not an address", Arc::new(HeadState::new())).is_err());
}

// ---------------------------------------------------------------------------------------
// Smoother.

#[test]
fn smoother_converges_exponentially() {
    let tau_ms = 50.0;
    let mut s = Smoother::new(tau_ms);
    let target = Quat::from_ypr_deg(60.0, 0.0, 0.0);
    let dt_s = 1e-3;
    let mut t_s = 0.0;
    for _ in 0..50 {
        s.next(target, dt_s);
        t_s += dt_s;
    }
    // Slerp with α = 1 − e^{−dt/τ} shrinks the remaining angle by e^{−dt/τ} per step.
    let remaining_deg = s.current().angle_to_rad(target).to_degrees();
    let expected_deg = 60.0 * (-t_s / (tau_ms * 1e-3)).exp();
    assert!(
        (remaining_deg - expected_deg).abs() < 1e-9,
        "{remaining_deg} vs {expected_deg}"
    );
    for _ in 0..2000 {
        s.next(target, dt_s);
    }
    assert!(s.current().angle_to_rad(target) < 1e-9);
    // Disabled smoothing jumps.
    let mut s0 = Smoother::new(0.0);
    assert!(s0.next(target, dt_s).angle_to_rad(target) < F64_TOL);
}

#[test]
fn smoother_takes_short_way_across_180() {
    let mut s = Smoother::new(100.0);
    s.reset(Quat::from_ypr_deg(170.0, 0.0, 0.0));
    let target = Quat::from_ypr_deg(-170.0, 0.0, 0.0);
    let mut prev = 170.0;
    for _ in 0..1000 {
        let [y, p, r] = s.next(target, 1e-3).to_ypr_deg();
        assert!(p.abs() < 1e-9 && r.abs() < 1e-9);
        // Yaw moves monotonically up through 180 (wrapping to −180), never through 0.
        assert!(y.abs() >= 170.0 - 1e-9, "went the long way: yaw {y}");
        let unwrapped = if y < 0.0 { y + 360.0 } else { y };
        assert!(unwrapped >= prev - 1e-9);
        prev = unwrapped;
    }
    assert!((prev - 190.0).abs() < 1e-3, "{prev}");
}
