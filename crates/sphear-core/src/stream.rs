//! Offline streaming of WAV files through a block processor, with constant memory and with the
//! processor's constant latency removed (output sample `n` belongs to input sample `n`; the output
//! has exactly as many frames as the input).

use std::path::Path;

use crate::wav::{WavReader, WavWriter};
use crate::{CoreError, Result};

/// A fixed-block multichannel processor (an encoder, a binaural renderer, …).
pub trait BlockProcessor {
    /// Number of input channels.
    fn num_inputs(&self) -> usize;
    /// Number of output channels.
    fn num_outputs(&self) -> usize;
    /// Block length in samples: `process` is always called with exactly this many frames.
    fn block_len(&self) -> usize;
    /// Constant latency of the processor in samples (removed by [`process_file`]).
    fn latency_samples(&self) -> usize;
    /// Process one block. `input[c].len() == output[c].len() == block_len()`.
    fn process(&mut self, input: &[&[f32]], output: &mut [&mut [f32]]) -> Result<()>;
}

/// Run `processor` over in-memory planar signals, removing its latency. Output length = input length.
pub fn process_buffers<P: BlockProcessor + ?Sized>(
    processor: &mut P,
    input: &[Vec<f32>],
) -> Result<Vec<Vec<f32>>> {
    if input.len() != processor.num_inputs() {
        return Err(CoreError::ChannelCount {
            expected: processor.num_inputs().to_string(),
            got: input.len(),
        });
    }
    let total = input.first().map_or(0, |c| c.len());
    if input.iter().any(|c| c.len() != total) {
        return Err(CoreError::InvalidArgument(
            "input channels differ in length".into(),
        ));
    }
    let mut out: Vec<Vec<f32>> = vec![Vec::with_capacity(total); processor.num_outputs()];
    let mut pos = 0usize;
    run_blocks(
        processor,
        total as u64,
        |buf| {
            let n = buf[0].len().min(total - pos.min(total));
            for (b, c) in buf.iter_mut().zip(input) {
                b[..n].copy_from_slice(&c[pos..pos + n]);
            }
            pos += n;
            Ok(n)
        },
        |chunk| {
            for (o, c) in out.iter_mut().zip(chunk) {
                o.extend_from_slice(c);
            }
            Ok(())
        },
        &mut |_, _| {},
    )?;
    Ok(out)
}

/// Stream a WAV file through `processor` into a 32-bit float WAV file, removing the latency.
///
/// The output is written to a temporary file and renamed at the end; nothing is left on error.
/// `progress(done_frames, total_frames)` is called after every block.
pub fn process_file<P: BlockProcessor + ?Sized>(
    processor: &mut P,
    input: &Path,
    output: &Path,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<()> {
    crate::wav::ensure_distinct(input, output)?;
    let mut reader = WavReader::open(input)?;
    let info = reader.info().clone();
    if info.channels != processor.num_inputs() {
        return Err(CoreError::ChannelCount {
            expected: processor.num_inputs().to_string(),
            got: info.channels,
        });
    }
    let mut writer = WavWriter::create(output, info.sample_rate_hz, processor.num_outputs())?;
    let mut scratch: Vec<Vec<f32>> = vec![Vec::new(); info.channels];
    run_blocks(
        processor,
        info.frames,
        |buf| {
            let want = buf[0].len();
            let n = reader.read_planar(&mut scratch, want)?;
            for (b, s) in buf.iter_mut().zip(&scratch) {
                b[..n].copy_from_slice(&s[..n]);
            }
            Ok(n)
        },
        |chunk| writer.write_planar(chunk),
        progress,
    )?;
    writer.finish()
}

/// Core loop: `read(buf)` fills up to `buf[c].len()` frames and returns how many (0 at the end);
/// `write(chunk)` receives latency-compensated output.
fn run_blocks<P: BlockProcessor + ?Sized>(
    processor: &mut P,
    total_frames: u64,
    mut read: impl FnMut(&mut [Vec<f32>]) -> Result<usize>,
    mut write: impl FnMut(&[&[f32]]) -> Result<()>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<()> {
    let block = processor.block_len();
    if block == 0 {
        return Err(CoreError::InvalidArgument("block length is 0".into()));
    }
    let latency = processor.latency_samples() as u64;
    let mut inbuf: Vec<Vec<f32>> = vec![vec![0.0; block]; processor.num_inputs()];
    let mut outbuf: Vec<Vec<f32>> = vec![vec![0.0; block]; processor.num_outputs()];
    let mut to_skip = latency;
    let mut written = 0u64;
    let mut input_done = false;
    while written < total_frames {
        let n = if input_done { 0 } else { read(&mut inbuf)? };
        if n < block {
            input_done = true;
            for c in inbuf.iter_mut() {
                c[n..].fill(0.0);
            }
        }
        {
            let ins: Vec<&[f32]> = inbuf.iter().map(|c| c.as_slice()).collect();
            let mut outs: Vec<&mut [f32]> = outbuf.iter_mut().map(|c| c.as_mut_slice()).collect();
            processor.process(&ins, &mut outs)?;
        }
        let skip = to_skip.min(block as u64) as usize;
        to_skip -= skip as u64;
        let avail = (block - skip) as u64;
        let take = avail.min(total_frames - written) as usize;
        if take > 0 {
            let chunk: Vec<&[f32]> = outbuf.iter().map(|c| &c[skip..skip + take]).collect();
            write(&chunk)?;
            written += take as u64;
        }
        progress(written, total_frames);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pure delay of `d` samples, block 7: after latency removal output must equal input.
    struct Delay {
        d: usize,
        line: Vec<f32>,
    }
    impl BlockProcessor for Delay {
        fn num_inputs(&self) -> usize {
            1
        }
        fn num_outputs(&self) -> usize {
            1
        }
        fn block_len(&self) -> usize {
            7
        }
        fn latency_samples(&self) -> usize {
            self.d
        }
        fn process(&mut self, input: &[&[f32]], output: &mut [&mut [f32]]) -> Result<()> {
            for (i, &x) in input[0].iter().enumerate() {
                self.line.push(x);
                let k = self.line.len() - 1;
                output[0][i] = if k >= self.d {
                    self.line[k - self.d]
                } else {
                    0.0
                };
            }
            Ok(())
        }
    }

    #[test]
    fn latency_removed_and_length_kept() {
        for d in [0usize, 1, 6, 7, 8, 30] {
            for len in [0usize, 1, 5, 7, 50] {
                let x: Vec<f32> = (0..len).map(|i| i as f32 + 1.0).collect();
                let mut p = Delay {
                    d,
                    line: Vec::new(),
                };
                let y = process_buffers(&mut p, std::slice::from_ref(&x)).expect("runs");
                assert_eq!(y[0], x, "d={d} len={len}");
            }
        }
    }
}
