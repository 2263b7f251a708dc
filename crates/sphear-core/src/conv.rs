//! FFT convolution (placeholder, being written).
