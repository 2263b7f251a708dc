//! `sphear bench` lists every measurement and writes them as JSON (no timing assertions: speed
//! targets are never checked by timed tests).

use std::process::Command;

#[test]
fn bench_lists_the_measurements() {
    let dir = tempfile::tempdir().expect("tmp");
    let json = dir.path().join("bench.json");
    let o = Command::new(env!("CARGO_BIN_EXE_sphear"))
        .args([
            "bench",
            "--seconds",
            "2",
            "--json",
            json.to_str().expect("utf8"),
        ])
        .output()
        .expect("run sphear");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "stdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for name in [
        "encode_file",
        "encode_memory",
        "render_file",
        "render_memory",
    ] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name} missing:\n{stdout}"));
        // name, seconds, × real time, description: both numbers parse and are positive.
        let nums: Vec<f64> = line
            .split_whitespace()
            .skip(1)
            .take(2)
            .map(|v| v.parse().expect("number"))
            .collect();
        assert!(nums.iter().all(|&v| v > 0.0), "{line}");
    }
    assert!(stdout.contains("1 thread"), "{stdout}");
    assert!(stdout.contains("decoder design"), "{stdout}");
    assert!(
        !stdout.contains("scipy_reference"),
        "no reference without --python-reference"
    );

    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("json written"))
            .expect("valid JSON");
    assert_eq!(v["audio_seconds"].as_f64(), Some(2.0));
    assert_eq!(v["channels_in"].as_u64(), Some(32));
    assert_eq!(v["threads"].as_u64(), Some(1));
    let names: Vec<&str> = v["measurements"]
        .as_array()
        .expect("array")
        .iter()
        .map(|m| m["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        [
            "encode_file",
            "encode_memory",
            "render_file",
            "render_memory"
        ]
    );
    for m in v["measurements"].as_array().expect("array") {
        assert!(m["x_real_time"].as_f64().expect("number") > 0.0, "{m}");
    }
    assert!(v["reference"].is_null());
}

#[test]
fn bench_rejects_bad_seconds() {
    let o = Command::new(env!("CARGO_BIN_EXE_sphear"))
        .args(["bench", "--seconds", "0"])
        .output()
        .expect("run");
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
