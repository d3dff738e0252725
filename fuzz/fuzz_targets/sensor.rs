//! Passive sources: NDJSON, nginx JSON, Envoy JSON and HAR inputs, streamed
//! and as a batch, never panic; format sniffing never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_sensor::{Format, parse_batch, read_exchanges};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let _ = Format::detect(rest);
    let format = Format::ALL[usize::from(sel) % Format::ALL.len()];
    let mut n = 0usize;
    let report = read_exchanges(std::io::Cursor::new(rest), format, |_| n += 1);
    if let Ok(r) = report {
        assert_eq!(r.parsed as usize, n);
    }
    let _ = parse_batch(rest, format);
});
