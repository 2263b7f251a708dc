//! quadrature (placeholder, being written).
