//! Source audio for scenes: audio files (WAV, FLAC, Ogg Vorbis via symphonia) decoded, mixed to
//! mono and resampled, or the built-in generators of [`sphear_core::signals`].

use std::fs::File;
use std::path::{Path, PathBuf};

use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;

use crate::{Result, SimError};

/// File extensions treated as audio when scanning a folder.
pub const AUDIO_EXTENSIONS: [&str; 4] = ["wav", "flac", "ogg", "oga"];

/// All audio files under `dir` (recursive), sorted for determinism.
///
/// # Errors
/// The folder cannot be read or holds no audio file.
pub fn list_audio_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let rd = std::fs::read_dir(&d).map_err(|e| SimError::File {
            path: d.display().to_string(),
            reason: e.to_string(),
        })?;
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p
                .extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| AUDIO_EXTENSIONS.contains(&x.to_ascii_lowercase().as_str()))
            {
                out.push(p);
            }
        }
    }
    out.sort();
    if out.is_empty() {
        return Err(SimError::File {
            path: dir.display().to_string(),
            reason: format!("no audio files ({}) found", AUDIO_EXTENSIONS.join(", ")),
        });
    }
    Ok(out)
}

/// Decode an audio file to mono (channel average) at its own rate: `(samples, rate_hz)`.
///
/// # Errors
/// Unreadable or undecodable file, no audio track, NaN/Inf samples.
pub fn decode_mono(path: &Path) -> Result<(Vec<f32>, u32)> {
    let err = |reason: String| SimError::File {
        path: path.display().to_string(),
        reason,
    };
    let file = File::open(path).map_err(|e| err(e.to_string()))?;
    let mss = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(ext);
    }
    let mut format = symphonia::default::get_probe()
        .probe(
            &hint,
            mss,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .map_err(|e| err(format!("unsupported or corrupt audio: {e}")))?;
    let track = format
        .default_track(TrackType::Audio)
        .ok_or_else(|| err("no audio track".into()))?;
    let params = track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .ok_or_else(|| err("no audio codec parameters".into()))?
        .clone();
    let track_id = track.id;
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(&params, &AudioDecoderOptions::default())
        .map_err(|e| err(format!("no decoder: {e}")))?;
    let mut mono = Vec::new();
    let mut rate = params.sample_rate.unwrap_or(0);
    let mut inter: Vec<f32> = Vec::new();
    loop {
        let packet = match format.next_packet() {
            Ok(Some(p)) => p,
            Ok(None) => break,
            Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(err(format!("read error: {e}"))),
        };
        if packet.track_id != track_id {
            continue;
        }
        match decoder.decode(&packet) {
            Ok(buf) => {
                let ch = buf.num_planes().max(1);
                rate = buf.spec().rate();
                inter.resize(buf.frames() * ch, 0.0);
                buf.copy_to_slice_interleaved(&mut inter);
                for frame in inter.chunks(ch) {
                    mono.push(frame.iter().sum::<f32>() / ch as f32);
                }
            }
            Err(SymError::DecodeError(_)) => continue,
            Err(e) => return Err(err(format!("decode error: {e}"))),
        }
    }
    if rate == 0 {
        return Err(err("unknown sample rate".into()));
    }
    if mono.iter().any(|v| !v.is_finite()) {
        return Err(err("non-finite samples".into()));
    }
    Ok((mono, rate))
}

/// Decode, mix to mono and resample to `rate_hz` (band-limited, rubato).
///
/// # Errors
/// See [`decode_mono`]; resampling errors.
pub fn load_mono_at(path: &Path, rate_hz: f64) -> Result<Vec<f32>> {
    let (x, r) = decode_mono(path)?;
    if (r as f64 - rate_hz).abs() < 1e-9 {
        return Ok(x);
    }
    Ok(sphear_hrtf::resample_signal(&x, r as f64, rate_hz)?)
}
