//! A fixed-width bit set over policy indices, and a small fast hasher for id lookups.

use std::hash::{BuildHasherDefault, Hasher};

/// Bits over `n` policies, stored as whole `u64` words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Bits(pub(crate) Vec<u64>);

impl Bits {
    pub(crate) fn zeros(words: usize) -> Self {
        Bits(vec![0; words])
    }

    /// Every bit of the first `n` set.
    pub(crate) fn ones(words: usize, n: usize) -> Self {
        let mut b = Bits::zeros(words);
        for i in 0..n {
            b.set(i);
        }
        b
    }

    pub(crate) fn set(&mut self, i: usize) {
        if let Some(w) = self.0.get_mut(i / 64) {
            *w |= 1u64 << (i % 64);
        }
    }

    pub(crate) fn clear(&mut self, i: usize) {
        if let Some(w) = self.0.get_mut(i / 64) {
            *w &= !(1u64 << (i % 64));
        }
    }
}

/// Sets bit `i` in a word slice.
#[inline]
pub(crate) fn set(words: &mut [u64], i: u32) {
    if let Some(w) = words.get_mut(i as usize / 64) {
        *w |= 1u64 << (i % 64);
    }
}

/// Tests bit `i` in a word slice.
#[inline]
pub(crate) fn get(words: &[u64], i: usize) -> bool {
    words
        .get(i / 64)
        .is_some_and(|w| w & (1u64 << (i % 64)) != 0)
}

/// Calls `f` with the index of every set bit.
#[inline]
pub(crate) fn for_each(words: &[u64], mut f: impl FnMut(usize)) {
    for (wi, &w) in words.iter().enumerate() {
        let mut w = w;
        while w != 0 {
            let b = w.trailing_zeros() as usize;
            f(wi * 64 + b);
            w &= w - 1;
        }
    }
}

/// A multiply-rotate hasher (the rustc "Fx" scheme): ids here are trusted configuration
/// and short, so SipHash's flood resistance is not worth its cost on the hot path.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for c in chunks.by_ref() {
            let mut a = [0u8; 8];
            a.copy_from_slice(c);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(a)).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

pub(crate) type FxMap<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<FxHasher>>;
