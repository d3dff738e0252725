//! RFC 3339 timestamps from milliseconds (UTC); the arithmetic lives in
//! `palisade_core::clock`.

pub(crate) use palisade_core::rfc3339;
