//! Hashing for the engine's tables.
//!
//! Integer keys (job handle numbers, connection ids, pre-computed hashes) are not chosen by the
//! network, so they use [`FxHasher`], a multiply-rotate hash that costs a couple of cycles. Byte keys
//! that a client controls (uniques, function names) go through std's randomly keyed SipHash so that
//! nobody can pick colliding keys on purpose.

use std::hash::{BuildHasherDefault, Hasher};

/// The rustc "Fx" hash: fast, fine for integer keys, not collision resistant.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("chunk of 8")));
        }
        for &b in chunks.remainder() {
            self.add(b as u64);
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(i as u64);
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

/// `HashMap<K, V, FxBuild>` for integer keys.
pub(super) type FxBuild = BuildHasherDefault<FxHasher>;
