//! [`Masked`]: a value that was masked where it was extracted.
//!
//! A `Masked<K>` holds only the masked rendering of a value; the raw value is
//! gone the moment the `Masked` exists, so no `Display`, `Debug`, log line,
//! database row or API answer can leak it. `K` is the kind of value, which
//! chooses how it is masked: [`Text`] (card numbers and secrets found inside free
//! text), [`Secret`] (the whole value is secret: passwords, tokens), [`Card`] (a
//! card number: BIN and last four only).

use std::fmt;
use std::marker::PhantomData;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::sensitive;

/// How a kind of value is masked.
pub trait Redact {
    fn redact(raw: &str) -> String;
}

/// Free text: card numbers, JWTs and known secret formats inside it are masked,
/// the rest is kept (so a finding can show `' OR 1=1--`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Text {}
/// A value that is secret as a whole (password, token, API key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secret {}
/// A primary account number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Card {}

impl Redact for Text {
    fn redact(raw: &str) -> String {
        sensitive::mask_text(raw)
    }
}
impl Redact for Secret {
    fn redact(raw: &str) -> String {
        sensitive::mask_secret(raw)
    }
}
impl Redact for Card {
    fn redact(raw: &str) -> String {
        sensitive::mask_pan(raw)
    }
}

/// A masked value. See the module documentation.
pub struct Masked<K: Redact = Text> {
    masked: String,
    kind: PhantomData<fn() -> K>,
}

impl<K: Redact> Masked<K> {
    /// Masks `raw` now; the raw value is not kept.
    pub fn new(raw: &str) -> Self {
        Self {
            masked: K::redact(raw),
            kind: PhantomData,
        }
    }

    /// Like [`Masked::new`], but keeps at most `max_chars` characters of the
    /// masked text (an ellipsis marks the cut).
    pub fn truncated(raw: &str, max_chars: usize) -> Self {
        let mut m = K::redact(raw);
        if let Some((idx, _)) = m.char_indices().nth(max_chars) {
            m.truncate(idx);
            m.push('…');
        }
        Self {
            masked: m,
            kind: PhantomData,
        }
    }

    /// The masked rendering.
    pub fn as_str(&self) -> &str {
        &self.masked
    }
}

impl<K: Redact> Clone for Masked<K> {
    fn clone(&self) -> Self {
        Self {
            masked: self.masked.clone(),
            kind: PhantomData,
        }
    }
}

impl<K: Redact> PartialEq for Masked<K> {
    fn eq(&self, other: &Self) -> bool {
        self.masked == other.masked
    }
}
impl<K: Redact> Eq for Masked<K> {}

impl<K: Redact> Default for Masked<K> {
    fn default() -> Self {
        Self::new("")
    }
}

impl<K: Redact> fmt::Display for Masked<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked)
    }
}

impl<K: Redact> fmt::Debug for Masked<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Masked({:?})", self.masked)
    }
}

impl<K: Redact> Serialize for Masked<K> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.masked)
    }
}

impl<'de, K: Redact> Deserialize<'de> for Masked<K> {
    /// A stored or received value is masked again: masking is idempotent, so a
    /// value that was masked stays as it was, and one that was not is masked now.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(Self {
            masked: sensitive::mask_text(&s),
            kind: PhantomData,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_rendering_shows_a_raw_card_number() {
        let m: Masked = Masked::new("card=4111111111111111&x=1");
        for shown in [
            m.to_string(),
            format!("{m:?}"),
            serde_json::to_string(&m).unwrap(),
        ] {
            assert!(!shown.contains("4111111111111111"), "{shown}");
            assert!(shown.contains("411111"), "{shown}");
        }
    }

    #[test]
    fn secrets_keep_no_content() {
        let m: Masked<Secret> = Masked::new("hunter2-correct-horse");
        assert!(!m.as_str().contains("hunter2"));
    }

    #[test]
    fn deserialising_masks_again() {
        let m: Masked = serde_json::from_str("\"4111 1111 1111 1111\"").unwrap();
        assert!(!m.as_str().contains("1111 1111 1111"));
    }

    #[test]
    fn truncation_cuts_on_characters() {
        let m: Masked = Masked::truncated("ééééé", 2);
        assert_eq!(m.as_str(), "éé…");
    }
}
