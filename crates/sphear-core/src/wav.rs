//! WAV reading and writing with the project's error rules.
//!
//! * Reading ([`WavReader`], [`read_wav`]): RIFF/WAVE with `WAVE_FORMAT_PCM` (8, 16, 24, 32-bit
//!   integer, also fewer valid bits left-justified in a wider container), `WAVE_FORMAT_IEEE_FLOAT`
//!   (32 and 64-bit) and `WAVE_FORMAT_EXTENSIBLE` with the PCM or IEEE-float sub-format. The header
//!   is validated on open, including that the `data` chunk is complete. Integer samples are
//!   scaled to `[−1, 1)` by dividing by `2^(8·container_bytes − 1)` (which equals `2^(bits − 1)`
//!   for the usual packed formats; 8-bit PCM is unsigned with offset 128; 32-bit values that
//!   round to 1.0 in `f32` are clamped to [`LARGEST_F32_BELOW_ONE`]), float samples pass
//!   through (64-bit rounded to `f32`). NaN and ±∞ are rejected with the frame and channel.
//! * Writing ([`WavWriter`], [`write_wav`]): 32-bit IEEE float (`WAVE_FORMAT_EXTENSIBLE` above two
//!   channels), written to a temporary file in the destination directory and renamed onto the
//!   destination only by [`WavWriter::finish`], so a failed or abandoned write leaves nothing.
//! * [`ensure_distinct`] refuses to let an output path overwrite the input file.
//!
//! Buffers are planar: one `Vec<f32>` per channel.
//!
//! # References
//! * Microsoft, "Multimedia Programming Interface and Data Specifications 1.0" (RIFF WAVE), 1991.
//! * Microsoft, `WAVEFORMATEXTENSIBLE` structure documentation (KSDATAFORMAT sub-format GUIDs).

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{CoreError, Result};

/// `WAVE_FORMAT_PCM`.
const FORMAT_PCM: u16 = 0x0001;
/// `WAVE_FORMAT_IEEE_FLOAT`.
const FORMAT_IEEE_FLOAT: u16 = 0x0003;
/// `WAVE_FORMAT_EXTENSIBLE`.
const FORMAT_EXTENSIBLE: u16 = 0xFFFE;
/// Bytes 2..16 shared by the KSDATAFORMAT_SUBTYPE_PCM / _IEEE_FLOAT GUIDs
/// (`xxxxxxxx-0000-0010-8000-00aa00389b71`; the first two bytes are the format tag).
const KSDATAFORMAT_GUID_TAIL: [u8; 14] = [
    0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
];
/// A `fmt ` chunk larger than this is rejected as malformed (WAVEFORMATEXTENSIBLE is 40 bytes).
const MAX_FMT_CHUNK_BYTES: u32 = 1024;
/// Frames per internal block in [`read_wav`].
const READ_WAV_BLOCK_FRAMES: usize = 1 << 16;
/// Largest `data` chunk a classic RIFF WAV can describe once the 68-byte extensible header is
/// counted in the 32-bit RIFF size field.
const MAX_WAV_DATA_BYTES: u64 = u32::MAX as u64 - 68;

/// `1 − 2^−24`, the largest `f32` below 1: the upper end of decoded integer PCM.
pub const LARGEST_F32_BELOW_ONE: f32 = 1.0 - 1.0 / 16_777_216.0;

/// Stream description of a WAV file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WavInfo {
    /// Sample rate, Hz.
    pub sample_rate_hz: u32,
    /// Number of channels.
    pub channels: usize,
    /// Number of frames (samples per channel).
    pub frames: u64,
    /// Sample format as stored, e.g. `"PCM 24-bit"` or `"float 32-bit"` (valid bits for PCM).
    pub sample_format: String,
}

impl WavInfo {
    /// Duration in seconds, `frames / sample_rate_hz`.
    pub fn duration_s(&self) -> f64 {
        self.frames as f64 / f64::from(self.sample_rate_hz)
    }
}

/// How samples are encoded in the data chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    /// Unsigned 8-bit, offset 128.
    U8,
    /// Signed little-endian integer in a container of the given number of bytes (2, 3, 4).
    Int(usize),
    /// IEEE float, 32-bit.
    F32,
    /// IEEE float, 64-bit.
    F64,
}

fn wav_err(path: &Path, reason: impl Into<String>) -> CoreError {
    CoreError::WavFormat {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn io_err(path: &Path, source: io::Error) -> CoreError {
    CoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn u16_le(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_le(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Reads exactly `buf.len()` bytes; `Ok(false)` on a clean or partial end of file.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<bool> {
    match r.read_exact(buf) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(e),
    }
}

/// Parsed `fmt ` chunk.
struct Fmt {
    encoding: Encoding,
    channels: usize,
    sample_rate_hz: u32,
    block_align: usize,
    sample_format: String,
}

fn parse_fmt(path: &Path, b: &[u8]) -> Result<Fmt> {
    if b.len() < 16 {
        return Err(wav_err(
            path,
            format!("fmt chunk has {} bytes, needs at least 16", b.len()),
        ));
    }
    let mut tag = u16_le(b, 0);
    let channels = usize::from(u16_le(b, 2));
    let sample_rate_hz = u32_le(b, 4);
    let block_align = usize::from(u16_le(b, 12));
    let bits = u16_le(b, 14);
    let mut valid_bits = bits;
    if tag == FORMAT_EXTENSIBLE {
        if b.len() < 40 || u16_le(b, 16) < 22 {
            return Err(wav_err(
                path,
                "WAVE_FORMAT_EXTENSIBLE fmt chunk is shorter than 40 bytes",
            ));
        }
        valid_bits = u16_le(b, 18);
        if b[26..40] != KSDATAFORMAT_GUID_TAIL {
            return Err(wav_err(
                path,
                "unsupported WAVE_FORMAT_EXTENSIBLE sub-format GUID",
            ));
        }
        tag = u16_le(b, 24);
        if valid_bits == 0 {
            valid_bits = bits;
        }
    }
    if channels == 0 {
        return Err(wav_err(path, "fmt chunk announces 0 channels"));
    }
    if sample_rate_hz == 0 {
        return Err(wav_err(path, "fmt chunk announces a sample rate of 0 Hz"));
    }
    if block_align == 0 || block_align % channels != 0 {
        return Err(wav_err(
            path,
            format!("block align {block_align} is not a positive multiple of {channels} channels"),
        ));
    }
    let container = block_align / channels;
    let (encoding, sample_format) = match tag {
        FORMAT_PCM => {
            if valid_bits == 0 || usize::from(valid_bits) > 8 * container || container > 4 {
                return Err(wav_err(
                    path,
                    format!(
                        "unsupported PCM layout: {valid_bits} valid bits in a {container}-byte container"
                    ),
                ));
            }
            let enc = if container == 1 {
                Encoding::U8
            } else {
                Encoding::Int(container)
            };
            (enc, format!("PCM {valid_bits}-bit"))
        }
        FORMAT_IEEE_FLOAT => match (container, valid_bits) {
            (4, 32) => (Encoding::F32, "float 32-bit".to_string()),
            (8, 64) => (Encoding::F64, "float 64-bit".to_string()),
            _ => {
                return Err(wav_err(
                    path,
                    format!(
                        "unsupported float layout: {valid_bits} bits in a {container}-byte container"
                    ),
                ));
            }
        },
        other => {
            return Err(wav_err(
                path,
                format!("unsupported format tag 0x{other:04X} (only PCM and IEEE float)"),
            ));
        }
    };
    Ok(Fmt {
        encoding,
        channels,
        sample_rate_hz,
        block_align,
        sample_format,
    })
}

/// Streaming WAV reader (constant memory apart from the caller's block size).
///
/// See the [module documentation](self) for the supported formats and the scaling.
#[derive(Debug)]
pub struct WavReader {
    path: PathBuf,
    reader: BufReader<File>,
    info: WavInfo,
    encoding: Encoding,
    block_align: usize,
    /// Frames already returned.
    position: u64,
    /// Raw interleaved bytes of the last block.
    raw: Vec<u8>,
}

impl WavReader {
    /// Opens a WAV file and validates its header.
    ///
    /// # Errors
    /// [`CoreError::Io`] if the file cannot be opened or read; [`CoreError::WavFormat`] if it is
    /// not a RIFF/WAVE file, the format is unsupported, or the `data` chunk is incomplete (reason
    /// `"truncated: header announces N frames, file holds M"`).
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| io_err(path, e))?;
        let file_len = file.metadata().map_err(|e| io_err(path, e))?.len();
        let mut r = BufReader::new(file);
        let mut riff = [0u8; 12];
        if !read_full(&mut r, &mut riff).map_err(|e| io_err(path, e))? {
            return Err(wav_err(
                path,
                format!("file has {file_len} bytes, too short for a RIFF header"),
            ));
        }
        if &riff[0..4] == b"RF64" {
            return Err(wav_err(path, "RF64 files are not supported"));
        }
        if &riff[0..4] != b"RIFF" || &riff[8..12] != b"WAVE" {
            return Err(wav_err(path, "missing RIFF/WAVE signature"));
        }
        let mut pos: u64 = 12;
        let mut fmt: Option<Fmt> = None;
        loop {
            let mut hdr = [0u8; 8];
            if !read_full(&mut r, &mut hdr).map_err(|e| io_err(path, e))? {
                return Err(wav_err(
                    path,
                    if fmt.is_none() {
                        "no fmt chunk found"
                    } else {
                        "no data chunk found"
                    },
                ));
            }
            pos += 8;
            let id = [hdr[0], hdr[1], hdr[2], hdr[3]];
            let size = u32_le(&hdr, 4);
            match &id {
                b"fmt " => {
                    if size > MAX_FMT_CHUNK_BYTES {
                        return Err(wav_err(
                            path,
                            format!("fmt chunk of {size} bytes is implausible"),
                        ));
                    }
                    let mut b = vec![0u8; size as usize];
                    if !read_full(&mut r, &mut b).map_err(|e| io_err(path, e))? {
                        return Err(wav_err(path, "truncated: file ends inside the fmt chunk"));
                    }
                    fmt = Some(parse_fmt(path, &b)?);
                    pos += u64::from(size);
                    if size % 2 == 1 {
                        r.seek_relative(1).map_err(|e| io_err(path, e))?;
                        pos += 1;
                    }
                }
                b"data" => {
                    let Some(fmt) = fmt else {
                        return Err(wav_err(path, "data chunk precedes the fmt chunk"));
                    };
                    let declared = u64::from(size);
                    let available = file_len.saturating_sub(pos);
                    let block = fmt.block_align as u64;
                    if declared > available {
                        return Err(wav_err(
                            path,
                            format!(
                                "truncated: header announces {} frames, file holds {}",
                                declared / block,
                                available / block
                            ),
                        ));
                    }
                    if declared % block != 0 {
                        return Err(wav_err(
                            path,
                            format!(
                                "data chunk of {declared} bytes is not a whole number of {block}-byte frames"
                            ),
                        ));
                    }
                    let info = WavInfo {
                        sample_rate_hz: fmt.sample_rate_hz,
                        channels: fmt.channels,
                        frames: declared / block,
                        sample_format: fmt.sample_format,
                    };
                    return Ok(Self {
                        path: path.to_path_buf(),
                        reader: r,
                        info,
                        encoding: fmt.encoding,
                        block_align: fmt.block_align,
                        position: 0,
                        raw: Vec::new(),
                    });
                }
                _ => {
                    let skip = u64::from(size) + u64::from(size % 2);
                    if pos + skip > file_len {
                        return Err(wav_err(
                            path,
                            format!(
                                "truncated: chunk '{}' of {size} bytes runs past the end of the file",
                                String::from_utf8_lossy(&id)
                            ),
                        ));
                    }
                    // `skip` ≤ 2^32, fits i64.
                    r.seek_relative(skip as i64).map_err(|e| io_err(path, e))?;
                    pos += skip;
                }
            }
        }
    }

    /// The stream description.
    pub fn info(&self) -> &WavInfo {
        &self.info
    }

    /// Frames not yet read.
    pub fn frames_left(&self) -> u64 {
        self.info.frames - self.position
    }

    /// Reads up to `max_frames` frames into `buf` (one `Vec` per channel; `buf.len()` must equal
    /// the channel count). Each `buf[c]` is resized to the number of frames read, which is
    /// returned; 0 means end of data (or `max_frames == 0`). Memory use is bounded by
    /// `max_frames`, independent of the file length.
    ///
    /// # Errors
    /// [`CoreError::ChannelCount`] if `buf.len()` differs from the channel count (nothing is read);
    /// [`CoreError::NonFinite`] with the absolute frame and channel of the first NaN/±∞ sample
    /// (the block is consumed); [`CoreError::WavFormat`] if the file ends early;
    /// [`CoreError::Io`] on read errors.
    pub fn read_planar(&mut self, buf: &mut [Vec<f32>], max_frames: usize) -> Result<usize> {
        let ch = self.info.channels;
        if buf.len() != ch {
            return Err(CoreError::ChannelCount {
                expected: ch.to_string(),
                got: buf.len(),
            });
        }
        let left = self.frames_left();
        let n = usize::try_from(left).map_or(max_frames, |l| l.min(max_frames));
        for b in buf.iter_mut() {
            b.resize(n, 0.0);
        }
        if n == 0 {
            return Ok(0);
        }
        let bytes = n * self.block_align;
        self.raw.resize(bytes, 0);
        if !read_full(&mut self.reader, &mut self.raw).map_err(|e| io_err(&self.path, e))? {
            return Err(wav_err(
                &self.path,
                format!(
                    "truncated: file ended while reading frames {}..{} of {}",
                    self.position,
                    self.position + n as u64,
                    self.info.frames
                ),
            ));
        }
        let start = self.position;
        self.position += n as u64;
        let raw = &self.raw[..];
        let ba = self.block_align;
        match self.encoding {
            Encoding::U8 => {
                for (c, out) in buf.iter_mut().enumerate() {
                    for (f, o) in out.iter_mut().enumerate() {
                        *o = (f32::from(raw[f * ba + c]) - 128.0) / 128.0;
                    }
                }
            }
            Encoding::Int(cb) => {
                // Place the container's bytes in the top of an i32 (sign-extends for free) and
                // scale by 2^-31, i.e. divide the container value by 2^(8·cb − 1). Only 32-bit
                // containers can round up to 1.0 (f32 has 24 significant bits); those values are
                // clamped to the largest f32 below 1 to keep the range [−1, 1).
                const SCALE: f32 = 1.0 / 2_147_483_648.0;
                for (c, out) in buf.iter_mut().enumerate() {
                    for (f, o) in out.iter_mut().enumerate() {
                        let s = &raw[f * ba + c * cb..f * ba + (c + 1) * cb];
                        let mut w = [0u8; 4];
                        w[4 - cb..].copy_from_slice(s);
                        *o = (i32::from_le_bytes(w) as f32 * SCALE).min(LARGEST_F32_BELOW_ONE);
                    }
                }
            }
            Encoding::F32 => {
                for (c, out) in buf.iter_mut().enumerate() {
                    for (f, o) in out.iter_mut().enumerate() {
                        let at = f * ba + c * 4;
                        *o = f32::from_le_bytes([raw[at], raw[at + 1], raw[at + 2], raw[at + 3]]);
                    }
                }
            }
            Encoding::F64 => {
                for (c, out) in buf.iter_mut().enumerate() {
                    for (f, o) in out.iter_mut().enumerate() {
                        let at = f * ba + c * 8;
                        let mut w = [0u8; 8];
                        w.copy_from_slice(&raw[at..at + 8]);
                        *o = f64::from_le_bytes(w) as f32;
                    }
                }
            }
        }
        if matches!(self.encoding, Encoding::F32 | Encoding::F64) {
            // Report the earliest bad frame (lowest channel within it).
            let mut first: Option<(usize, usize, f32)> = None;
            for (c, out) in buf.iter().enumerate() {
                let limit = first.map_or(n, |(f, _, _)| f);
                if let Some(f) = out[..limit].iter().position(|v| !v.is_finite()) {
                    first = Some((f, c, out[f]));
                }
            }
            if let Some((f, c, value)) = first {
                return Err(CoreError::NonFinite {
                    path: self.path.clone(),
                    frame: start + f as u64,
                    channel: c,
                    value,
                });
            }
        }
        Ok(n)
    }
}

/// Reads a whole WAV file into planar `f32` buffers (see [`WavReader`]).
///
/// # Errors
/// As [`WavReader::open`] and [`WavReader::read_planar`].
pub fn read_wav(path: &Path) -> Result<(WavInfo, Vec<Vec<f32>>)> {
    let mut reader = WavReader::open(path)?;
    let info = reader.info().clone();
    let frames = usize::try_from(info.frames)
        .map_err(|_| wav_err(path, format!("{} frames do not fit in memory", info.frames)))?;
    let mut out: Vec<Vec<f32>> = (0..info.channels)
        .map(|_| Vec::with_capacity(frames))
        .collect();
    let mut block = vec![Vec::new(); info.channels];
    loop {
        let n = reader.read_planar(&mut block, READ_WAV_BLOCK_FRAMES)?;
        if n == 0 {
            break;
        }
        for (o, b) in out.iter_mut().zip(&block) {
            o.extend_from_slice(b);
        }
    }
    Ok((info, out))
}

/// Distinguishes temporary files of writers created concurrently in one process.
static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// WAV writer producing 32-bit IEEE float files atomically.
///
/// Samples go to a temporary file `.{name}.tmp-{pid}-{n}` in the destination directory;
/// [`finish`](Self::finish) finalises the header, fsyncs and renames it onto the destination.
/// Dropping a writer that was not finished (or whose `finish` failed) deletes the temporary file,
/// so the destination is never left half-written.
pub struct WavWriter {
    path: PathBuf,
    tmp_path: PathBuf,
    writer: Option<hound::WavWriter<BufWriter<File>>>,
    /// Second handle on the temporary file, for `sync_all` after hound's finalisation.
    sync_handle: File,
    channels: usize,
    frames_written: u64,
    /// Set when a write failed: the file content is unknown, `finish` refuses.
    failed: bool,
}

impl WavWriter {
    /// Starts writing a `channels`-channel, 32-bit float WAV at `sample_rate_hz` to `path`.
    ///
    /// # Errors
    /// [`CoreError::InvalidArgument`] if `sample_rate_hz` is 0, `channels` is 0 or above 65535,
    /// or `path` has no file name; [`CoreError::Io`] if the temporary file cannot be created.
    pub fn create(path: &Path, sample_rate_hz: u32, channels: usize) -> Result<Self> {
        if sample_rate_hz == 0 {
            return Err(CoreError::InvalidArgument(
                "WAV sample rate must be positive".into(),
            ));
        }
        let ch16 = u16::try_from(channels)
            .ok()
            .filter(|&c| c > 0)
            .ok_or_else(|| {
                CoreError::InvalidArgument(format!(
                    "WAV channel count must be in 1..=65535, got {channels}"
                ))
            })?;
        let name = path.file_name().ok_or_else(|| {
            CoreError::InvalidArgument(format!("{}: output path has no file name", path.display()))
        })?;
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(".tmp-{}-{n}", std::process::id()));
        let tmp_path = dir.join(tmp_name);
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp_path)
            .map_err(|e| io_err(&tmp_path, e))?;
        let cleanup = |e: CoreError| {
            let _ = fs::remove_file(&tmp_path);
            e
        };
        let sync_handle = file
            .try_clone()
            .map_err(|e| cleanup(io_err(&tmp_path, e)))?;
        let spec = hound::WavSpec {
            channels: ch16,
            sample_rate: sample_rate_hz,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        };
        let writer = hound::WavWriter::new(BufWriter::new(file), spec)
            .map_err(|e| cleanup(hound_err(&tmp_path, e)))?;
        Ok(Self {
            path: path.to_path_buf(),
            tmp_path,
            writer: Some(writer),
            sync_handle,
            channels,
            frames_written: 0,
            failed: false,
        })
    }

    /// Appends one block of planar audio: `chans[c][f]` is frame `f` of channel `c`. All channels
    /// must have the same length.
    ///
    /// # Errors
    /// [`CoreError::ChannelCount`] / [`CoreError::InvalidArgument`] on mismatched shapes or when
    /// the 4 GiB WAV limit would be exceeded, [`CoreError::NonFinite`] for NaN/±∞ (absolute frame
    /// index) — all checked before anything is written; [`CoreError::Io`] on write failure (the
    /// writer is then unusable).
    pub fn write_planar(&mut self, chans: &[&[f32]]) -> Result<()> {
        if chans.len() != self.channels {
            return Err(CoreError::ChannelCount {
                expected: self.channels.to_string(),
                got: chans.len(),
            });
        }
        let frames = chans[0].len();
        if let Some((c, x)) = chans.iter().enumerate().find(|(_, x)| x.len() != frames) {
            return Err(CoreError::InvalidArgument(format!(
                "channel {c} has {} frames, channel 0 has {frames}",
                x.len()
            )));
        }
        let mut first: Option<(usize, usize, f32)> = None;
        for (c, x) in chans.iter().enumerate() {
            let limit = first.map_or(frames, |(f, _, _)| f);
            if let Some(f) = x[..limit].iter().position(|v| !v.is_finite()) {
                first = Some((f, c, x[f]));
            }
        }
        if let Some((f, c, value)) = first {
            return Err(CoreError::NonFinite {
                path: self.path.clone(),
                frame: self.frames_written + f as u64,
                channel: c,
                value,
            });
        }
        let total_bytes = (self.frames_written + frames as u64) * self.channels as u64 * 4;
        if total_bytes > MAX_WAV_DATA_BYTES {
            return Err(CoreError::InvalidArgument(format!(
                "{}: {total_bytes} bytes of audio exceed the 4 GiB limit of the WAV format",
                self.path.display()
            )));
        }
        if self.failed {
            return Err(wav_err(
                &self.path,
                "an earlier write failed; the writer is unusable",
            ));
        }
        let Some(w) = self.writer.as_mut() else {
            return Err(wav_err(&self.path, "writer already finished"));
        };
        for f in 0..frames {
            for x in chans {
                if let Err(e) = w.write_sample(x[f]) {
                    self.failed = true;
                    return Err(hound_err(&self.tmp_path, e));
                }
            }
        }
        self.frames_written += frames as u64;
        Ok(())
    }

    /// Frames written so far.
    pub fn frames_written(&self) -> u64 {
        self.frames_written
    }

    /// Finalises the header, flushes and fsyncs the temporary file and renames it onto the
    /// destination path.
    ///
    /// # Errors
    /// [`CoreError::Io`] (or [`CoreError::WavFormat`] after an earlier failed write); the
    /// temporary file is removed and the destination is untouched.
    pub fn finish(mut self) -> Result<()> {
        if self.failed {
            return Err(wav_err(
                &self.path,
                "an earlier write failed; nothing was written",
            ));
        }
        let Some(w) = self.writer.take() else {
            return Err(wav_err(&self.path, "writer already finished"));
        };
        w.finalize().map_err(|e| hound_err(&self.tmp_path, e))?;
        self.sync_handle
            .sync_all()
            .map_err(|e| io_err(&self.tmp_path, e))?;
        fs::rename(&self.tmp_path, &self.path).map_err(|e| io_err(&self.path, e))?;
        // The temporary file no longer exists; make Drop a no-op.
        self.tmp_path = PathBuf::new();
        #[cfg(unix)]
        if let Some(dir) = self.path.parent() {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            // Best effort: persist the rename itself.
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }
}

impl std::fmt::Debug for WavWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WavWriter")
            .field("path", &self.path)
            .field("tmp_path", &self.tmp_path)
            .field("channels", &self.channels)
            .field("frames_written", &self.frames_written)
            .finish_non_exhaustive()
    }
}

impl Drop for WavWriter {
    fn drop(&mut self) {
        // Close hound's writer first (its Drop rewrites the header), then delete the file.
        drop(self.writer.take());
        if !self.tmp_path.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.tmp_path);
        }
    }
}

fn hound_err(path: &Path, e: hound::Error) -> CoreError {
    match e {
        hound::Error::IoError(source) => io_err(path, source),
        other => wav_err(path, other.to_string()),
    }
}

/// Writes planar audio as a 32-bit float WAV file atomically (see [`WavWriter`]).
///
/// # Errors
/// As [`WavWriter::create`], [`WavWriter::write_planar`] and [`WavWriter::finish`]; nothing is
/// written at `path` on error.
pub fn write_wav(path: &Path, sample_rate_hz: u32, chans: &[Vec<f32>]) -> Result<()> {
    let mut w = WavWriter::create(path, sample_rate_hz, chans.len())?;
    let refs: Vec<&[f32]> = chans.iter().map(Vec::as_slice).collect();
    w.write_planar(&refs)?;
    w.finish()
}

/// Fails with [`CoreError::WouldOverwriteInput`] if writing `output` would replace the file
/// `input`.
///
/// Both paths are canonicalised (symbolic links and `.`/`..` resolved); `output` need not exist,
/// in which case its parent directory is canonicalised and its file name appended. On Unix an
/// existing `output` that is a hard link to `input` (same device and inode) is refused too.
///
/// # Errors
/// [`CoreError::Io`] if `input` or the parent directory of `output` cannot be resolved,
/// [`CoreError::InvalidArgument`] if `output` has no file name.
pub fn ensure_distinct(input: &Path, output: &Path) -> Result<()> {
    let input_canon = fs::canonicalize(input).map_err(|e| io_err(input, e))?;
    let output_canon = match fs::canonicalize(output) {
        Ok(p) => p,
        Err(_) => {
            let name = output.file_name().ok_or_else(|| {
                CoreError::InvalidArgument(format!(
                    "{}: output path has no file name",
                    output.display()
                ))
            })?;
            let parent = match output.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            fs::canonicalize(parent)
                .map_err(|e| io_err(parent, e))?
                .join(name)
        }
    };
    if input_canon == output_canon {
        return Err(CoreError::WouldOverwriteInput(output.to_path_buf()));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(a), Ok(b)) = (fs::metadata(&input_canon), fs::metadata(&output_canon)) {
            if a.dev() == b.dev() && a.ino() == b.ino() {
                return Err(CoreError::WouldOverwriteInput(output.to_path_buf()));
            }
        }
    }
    Ok(())
}
