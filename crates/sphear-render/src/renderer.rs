//! Offline/streaming binaural renderer: applies a [`BinauralDecoder`]'s FIR matrix with
//! uniformly partitioned convolution.

use sphear_core::conv::{FilterSpec, MatrixConvolver};
use sphear_core::stream::BlockProcessor;

use crate::{BinauralDecoder, Result};

/// Block renderer (K inputs → 2 outputs). Latency = the decoder's `delay_samples`.
pub struct BinauralRenderer {
    conv: MatrixConvolver,
    block: usize,
    delay: usize,
    n_in: usize,
}

impl BinauralRenderer {
    /// Build for `decoder` with processing blocks of `block_len` samples.
    ///
    /// # Errors
    /// Invalid block length.
    pub fn new(decoder: &BinauralDecoder, block_len: usize) -> Result<Self> {
        let mut specs = Vec::new();
        for (ear, chans) in decoder.filters.iter().enumerate() {
            for (c, taps) in chans.iter().enumerate() {
                specs.push(FilterSpec {
                    output: ear,
                    input: c,
                    taps: taps.clone(),
                });
            }
        }
        let n_in = decoder.num_inputs();
        let conv = MatrixConvolver::new(n_in, 2, &specs, block_len)?;
        Ok(Self {
            conv,
            block: block_len,
            delay: decoder.delay_samples,
            n_in,
        })
    }
}

impl BlockProcessor for BinauralRenderer {
    fn num_inputs(&self) -> usize {
        self.n_in
    }
    fn num_outputs(&self) -> usize {
        2
    }
    fn block_len(&self) -> usize {
        self.block
    }
    fn latency_samples(&self) -> usize {
        self.delay
    }
    fn process(&mut self, input: &[&[f32]], output: &mut [&mut [f32]]) -> sphear_core::Result<()> {
        self.conv.process(input, output)
    }
}
