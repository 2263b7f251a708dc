#!/usr/bin/env python3
"""Independent numpy/scipy implementation of the sphear-eval metrics, on deterministic signals.

Writes (small JSON, committed):
  crates/sphear-eval/tests/fixtures/metrics.json

The test signals are not stored: both sides generate them from the same 32-bit LCG
(state <- 1664525*state + 1013904223 mod 2^32, value = (state >> 8)/2^24 - 0.5, exact in float32),
combined in float64 and rounded to float32 (see `signals()`; the Rust twin is in
crates/sphear-eval/tests/python_fixture.rs). Each metric is recomputed here from its definition
in the crate docs with numpy / scipy building blocks (scipy.signal.get_window, butter + sosfilt,
hilbert, correlate; scipy.fft.dct; numpy.fft.rfft), not by porting the Rust code.

Pinned versions (scripts/requirements.txt): numpy==2.1.3, scipy==1.14.1, Python 3.11.
Run from the repository root:  python3 scripts/make_metric_fixtures.py
"""
import json
import math
import os

import numpy as np
import scipy
from scipy import fft as sfft
from scipy import signal as ss

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "crates", "sphear-eval", "tests", "fixtures")
FS = 48000.0
N = 12000


def lcg(seed, n):
    out = np.empty(n, dtype=np.float32)
    s = seed & 0xFFFFFFFF
    for i in range(n):
        s = (1664525 * s + 1013904223) & 0xFFFFFFFF
        out[i] = np.float32((s >> 8) / 16777216.0 - 0.5)
    return out


def signals():
    a = lcg(1, N).astype(np.float64)
    b = lcg(2, N).astype(np.float64)
    c = lcg(3, N).astype(np.float64)
    d = lcg(4, N).astype(np.float64)
    e = lcg(5, N).astype(np.float64)
    ref_l = a.astype(np.float32)
    delayed = np.zeros(N)
    delayed[5:] = ref_l.astype(np.float64)[:-5]
    ref_r = (0.5 * delayed + 0.1 * b).astype(np.float32)
    est_l = (ref_l.astype(np.float64) + 0.2 * c).astype(np.float32)
    est_r = (0.8 * ref_r.astype(np.float64) + 0.1 * d).astype(np.float32)
    ir = np.zeros(N)
    ir[200] = 1.0
    k = np.arange(201, N)
    ir[201:] = 0.3 * np.exp(-(k - 200) / 500.0) * e[201:]
    ir = ir.astype(np.float32)
    return ref_l, ref_r, est_l, est_r, ir


def f64(x):
    return np.asarray(x, dtype=np.float64)


# ---------------------------------------------------------------- SNR
def snr_db(s, e):
    s, e = f64(s), f64(e)
    return 10 * math.log10(np.sum(s**2) / np.sum((s - e) ** 2))


def segsnr_db(s, e, fs, frame_s=0.030, hop_s=0.0075, lo=-10.0, hi=35.0):
    s, e = f64(s), f64(e)
    L, H = int(round(frame_s * fs)), int(round(hop_s * fs))
    w = ss.get_window("hann", L)  # periodic
    vals = []
    for m in range((len(s) - L) // H + 1):
        a = w * s[m * H : m * H + L]
        d = a - w * e[m * H : m * H + L]
        es, en = np.sum(a**2), np.sum(d**2)
        if es == 0 and en == 0:
            continue
        v = hi if en == 0 else lo if es == 0 else 10 * math.log10(es / en)
        vals.append(min(max(v, lo), hi))
    return float(np.mean(vals))


# ---------------------------------------------------------------- STFT metrics
def stft(x, nfft, win, hop):
    x = f64(x)
    frames = 1 if len(x) <= win else 1 + math.ceil((len(x) - win) / hop)
    xp = np.zeros((frames - 1) * hop + win)
    xp[: len(x)] = x
    w = ss.get_window("hann", win)
    fr = np.stack([xp[t * hop : t * hop + win] * w for t in range(frames)])
    return np.fft.rfft(fr, n=nfft, axis=1)


def stft_lsd(s, e, nfft=2048, hop=512):
    S, E = stft(s, nfft, nfft, hop), stft(e, nfft, nfft, hop)
    d = np.log10(np.abs(S) ** 2 + 1e-10) - np.log10(np.abs(E) ** 2 + 1e-10)
    return float(np.mean(np.sqrt(np.mean(d**2, axis=1))))


RES = [(1024, 600, 120), (2048, 1200, 240), (512, 240, 50)]


def mr_stft(s, e):
    sc, lm = [], []
    for nfft, win, hop in RES:
        S = np.sqrt(np.maximum(np.abs(stft(s, nfft, win, hop)) ** 2, 1e-7))
        E = np.sqrt(np.maximum(np.abs(stft(e, nfft, win, hop)) ** 2, 1e-7))
        sc.append(np.linalg.norm(S - E) / np.linalg.norm(S))
        lm.append(np.mean(np.abs(np.log(S) - np.log(E))))
    sc, lm = float(np.mean(sc)), float(np.mean(lm))
    return sc, lm, sc + lm


def mel_bank(fs, nfft, n_mels, fmin, fmax):
    mel = lambda f: 2595 * np.log10(1 + f / 700)
    imel = lambda m: 700 * (10 ** (m / 2595) - 1)
    edges = imel(np.linspace(mel(fmin), mel(fmax), n_mels + 2))
    f = np.arange(nfft // 2 + 1) * fs / nfft
    bank = np.zeros((n_mels, len(f)))
    for m in range(n_mels):
        lo, c, hi = edges[m], edges[m + 1], edges[m + 2]
        up = (f - lo) / (c - lo)
        down = (hi - f) / (hi - c)
        bank[m] = np.where((f >= lo) & (f <= hi), np.where(f <= c, up, down), 0.0)
    return bank


def mfcc(x, fs, nfft=2048, hop=512, n_mels=40, n_mfcc=13):
    P = np.abs(stft(x, nfft, nfft, hop)) ** 2
    E = P @ mel_bank(fs, nfft, n_mels, 0.0, fs / 2).T
    return sfft.dct(np.log(np.maximum(E, 1e-10)), type=2, norm="ortho", axis=1)[:, :n_mfcc]


def mfcc_distance(s, e, fs):
    a, b = mfcc(s, fs), mfcc(e, fs)
    return float(np.mean(np.sqrt(np.sum((a[:, 1:] - b[:, 1:]) ** 2, axis=1))))


# ---------------------------------------------------------------- ITD
def nextpow2(n):
    return 1 << (int(n) - 1).bit_length()


def parabola(ym, y0, yp):
    den = ym - 2 * y0 + yp
    return 0.0 if abs(den) <= 1e-300 else min(max(0.5 * (ym - yp) / den, -0.5), 0.5)


def gcc_phat(l, r, fs, flo, fhi, max_lag_s):
    n = max(nextpow2(2 * len(l)), 64)
    L, R = np.fft.rfft(f64(l), n), np.fft.rfft(f64(r), n)
    G = np.conj(L) * R
    f = np.arange(len(G)) * fs / n
    keep = (f >= flo) & (f <= fhi) & (np.abs(G) > 1e-300)
    W = np.where(keep, G / np.where(keep, np.abs(G), 1.0), 0.0)
    cc = np.fft.irfft(W, n)
    m = min(int(math.ceil(max_lag_s * fs)), n // 2 - 1)
    lags = np.arange(-m, m + 1)
    vals = cc[lags % n]
    i = int(np.argmax(vals))
    best = lags[i]
    return (best + parabola(cc[(best - 1) % n], cc[best % n], cc[(best + 1) % n])) / fs


def maxiacce(l, r, fs, fc=3000.0, order=10, max_lag_s=None):
    sos = ss.butter(order, fc, btype="low", fs=fs, output="sos")
    n = nextpow2(2 * len(l))
    env = lambda x: np.abs(ss.hilbert(ss.sosfilt(sos, f64(x)), n))[: len(l)]
    el, er = env(l), env(r)
    c = ss.correlate(er, el, mode="full", method="direct")  # c[k] = sum_n el[n] er[n + lag]
    lags = ss.correlation_lags(len(er), len(el), mode="full")
    m = len(l) - 1 if max_lag_s is None else min(int(math.ceil(max_lag_s * fs)), len(l) - 1)
    sel = np.abs(lags) <= m
    i = np.flatnonzero(sel)[int(np.argmax(c[sel]))]
    frac = parabola(c[i - 1], c[i], c[i + 1]) if 0 < i < len(c) - 1 else 0.0
    return (lags[i] + frac) / fs, float(c[i] / math.sqrt(np.sum(el**2) * np.sum(er**2)))


# ---------------------------------------------------------------- bands
def third_octave(flo, fhi):
    cs = [1000 * 2 ** (k / 3) for k in range(-30, 16)]
    return [(c * 2 ** (-1 / 6), c, c * 2 ** (1 / 6)) for c in cs if flo * 0.999 <= c <= fhi * 1.001]


def erb(flo, fhi):
    E = lambda f: 21.4 * math.log10(1 + 0.00437 * f)
    iE = lambda e: (10 ** (e / 21.4) - 1) / 0.00437
    out, e = [], E(flo)
    while e <= E(fhi) + 1e-9:
        out.append((iE(e - 0.5), iE(e), iE(e + 0.5)))
        e += 1.0
    return out


def band_energies(x, fs, bands):
    n = nextpow2(len(x))
    P = np.abs(np.fft.rfft(f64(x), n)) ** 2
    df = fs / n
    return np.array([np.sum(P[math.ceil(lo / df) : min(math.floor(hi / df), len(P) - 1) + 1]) for lo, _, hi in bands])


def ild(l, r, fs, bands):
    return 10 * np.log10(band_energies(l, fs, bands) / band_energies(r, fs, bands))


def lsd_bands(test, ref, fs, flo, fhi):
    b = third_octave(flo, fhi)
    d = 10 * np.log10(band_energies(test, fs, b) / band_energies(ref, fs, b))
    return float(np.sqrt(np.mean(d**2)))


# ---------------------------------------------------------------- correlation / coherence
def ncc_curve(a, b):
    a, b = f64(a), f64(b)
    c = ss.correlate(b, a, mode="full", method="direct") / math.sqrt(np.sum(a**2) * np.sum(b**2))
    return c, ss.correlation_lags(len(b), len(a), mode="full")


def iacc(l, r, fs, max_lag_s=1e-3):
    c, lags = ncc_curve(l, r)
    sel = np.abs(lags) <= int(round(max_lag_s * fs))
    i = np.flatnonzero(sel)[int(np.argmax(np.abs(c[sel])))]
    return float(abs(c[i])), int(lags[i])


def ncc_max(a, b, m):
    c, lags = ncc_curve(a, b)
    sel = np.abs(lags) <= m
    i = np.flatnonzero(sel)[int(np.argmax(c[sel]))]
    return float(c[i]), int(lags[i])


def ic_bands(l, r, fs, nfft, hop, bands):
    L, R = stft(l, nfft, nfft, hop), stft(r, nfft, nfft, hop)
    g = np.abs(np.sum(L * np.conj(R), axis=0)) / np.sqrt(np.sum(np.abs(L) ** 2, 0) * np.sum(np.abs(R) ** 2, 0))
    df = fs / nfft
    return [float(np.mean(g[math.ceil(lo / df) : math.floor(hi / df) + 1])) for lo, _, hi in bands]


def drr(h, fs, half_s=2.5e-3):
    h = f64(h)
    p = int(np.argmax(np.abs(h)))
    w = int(round(half_s * fs))
    d0, d1 = max(0, p - w), min(len(h), p + w + 1)
    return 10 * math.log10(np.sum(h[d0:d1] ** 2) / np.sum(h[d1:] ** 2))


def main():
    ref_l, ref_r, est_l, est_r, ir = signals()
    irr = np.zeros_like(ir)
    irr[13:] = 0.5 * ir[:-13]
    seg = segsnr_db(ref_l, est_l, FS)
    sc, lm, tot = mr_stft(ref_l, est_l)
    itd_sig, corr_sig = maxiacce(ref_l, ref_r, FS, max_lag_s=1e-3)
    itd_ir, corr_ir = maxiacce(ir[:2048], irr[:2048], FS)
    ia, ia_lag = iacc(ref_l, ref_r, FS)
    nm, nm_lag = ncc_max(ref_l, est_l, 48)
    out = {
        "generator": "scripts/make_metric_fixtures.py",
        "versions": {"numpy": np.__version__, "scipy": scipy.__version__},
        "fs_hz": FS,
        "len": N,
        "signal_checksums": {k: float(np.sum(f64(v))) for k, v in
                             dict(ref_l=ref_l, ref_r=ref_r, est_l=est_l, est_r=est_r, ir=ir).items()},
        "snr_db": snr_db(ref_l, est_l),
        "segmental_snr_db": seg,
        "stft_lsd": stft_lsd(ref_l, est_l),
        "binaural_stft_lsd": 0.5 * (stft_lsd(ref_l, est_l) + stft_lsd(ref_r, est_r)),
        "mr_stft": {"spectral_convergence": sc, "log_magnitude": lm, "total": tot},
        "mfcc_first_frame": mfcc(ref_l, FS)[0].tolist(),
        "mfcc_distance": mfcc_distance(ref_l, est_l, FS),
        "gcc_phat_itd_s": gcc_phat(ref_l, ref_r, FS, 100.0, 1500.0, 1e-3),
        "maxiacce_signal": {"itd_s": itd_sig, "envelope_correlation": corr_sig},
        "maxiacce_ir": {"itd_s": itd_ir, "envelope_correlation": corr_ir},
        "ild_third_octave_db": ild(ref_l, ref_r, FS, third_octave(1000, 8000)).tolist(),
        "ild_erb_db": ild(ref_l, ref_r, FS, erb(1000, 8000)).tolist(),
        "lsd_bands_db": lsd_bands(est_l, ref_l, FS, 100, 16000),
        "iacc": {"value": ia, "lag_samples": ia_lag},
        "ncc_max": {"value": nm, "lag_samples": nm_lag},
        "ncc_lag0": float(np.sum(f64(ref_l) * f64(est_l)) / math.sqrt(np.sum(f64(ref_l) ** 2) * np.sum(f64(est_l) ** 2))),
        "ic_third_octave_200_16000": ic_bands(ref_l, ref_r, FS, 1024, 512, third_octave(200, 16000)),
        "drr_db": drr(ir, FS),
    }
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "metrics.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
    print("wrote", path)


if __name__ == "__main__":
    main()
