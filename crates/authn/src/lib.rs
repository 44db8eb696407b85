//! Authentication primitives for Trustplane.
