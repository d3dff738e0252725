//! Keyed hashing of identifiers that must be linkable but never stored:
//! card numbers, login names, session cookies, tokens, API keys.
//!
//! The key is per installation (the binary keeps it in the data directory), so a
//! stored hash of a card number cannot be reversed by enumerating the few
//! million numbers that share a BIN and last four.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A 64-bit keyed hash, shown as 16 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct HashId(pub u64);

impl fmt::Display for HashId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl fmt::Debug for HashId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HashId({self})")
    }
}

impl std::str::FromStr for HashId {
    type Err = std::num::ParseIntError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        u64::from_str_radix(s, 16).map(HashId)
    }
}

/// Hashes values under a secret key, separated by domain (`"card"`, `"login"`,
/// ...) so that equal strings in different roles do not collide.
#[derive(Clone)]
pub struct KeyedHasher {
    key: [u8; 32],
}

impl fmt::Debug for KeyedHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyedHasher([key])")
    }
}

impl KeyedHasher {
    pub fn new(key: [u8; 32]) -> Self {
        Self { key }
    }

    /// A fixed key for tests and examples. Never use it in production.
    pub fn insecure_for_tests() -> Self {
        Self { key: [7u8; 32] }
    }

    pub fn hash(&self, domain: &str, value: &[u8]) -> HashId {
        let mut h = blake3::Hasher::new_keyed(&self.key);
        h.update(domain.as_bytes());
        h.update(&[0]);
        h.update(value);
        let out = h.finalize();
        let mut b = [0u8; 8];
        b.copy_from_slice(&out.as_bytes()[..8]);
        HashId(u64::from_le_bytes(b))
    }

    pub fn hash_str(&self, domain: &str, value: &str) -> HashId {
        self.hash(domain, value.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_and_keys_separate_hashes() {
        let h = KeyedHasher::insecure_for_tests();
        assert_eq!(h.hash_str("card", "4111"), h.hash_str("card", "4111"));
        assert_ne!(h.hash_str("card", "4111"), h.hash_str("login", "4111"));
        let other = KeyedHasher::new([1u8; 32]);
        assert_ne!(h.hash_str("card", "4111"), other.hash_str("card", "4111"));
        let id = h.hash_str("x", "y");
        assert_eq!(id.to_string().parse::<HashId>().unwrap(), id);
    }
}
