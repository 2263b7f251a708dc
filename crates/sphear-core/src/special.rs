//! Spherical Bessel/Hankel functions and Legendre polynomials (see module docs inside).
