//! JA4 TLS client fingerprints from the raw bytes of a ClientHello.
//!
//! The gateway peeks the first TLS record before handing the connection to
//! rustls and calls [`ja4_from_client_hello`]. The algorithm follows FoxIO's
//! published JA4 (BSD-3-Clause): `t13d1516h2_8daaf6152771_e5627efa2ab1` =
//! protocol, version, SNI, cipher and extension counts, ALPN; SHA-256 (12 hex)
//! of the sorted ciphers; SHA-256 of the sorted extensions (without SNI and
//! ALPN) and the signature algorithms in order. GREASE values are ignored.
//!
//! Not here: QUIC and DTLS hellos (always `t`), JA4S or other JA4+ variants.
//! Parsing never panics: truncated or malformed input is an error.

use sha2::{Digest, Sha256};

use crate::ActorsError;

struct Reader<'a> {
    b: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ActorsError> {
        if self.b.len() < n {
            return Err(ActorsError::ClientHello("truncated"));
        }
        let (h, t) = self.b.split_at(n);
        self.b = t;
        Ok(h)
    }
    fn u8(&mut self) -> Result<u8, ActorsError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, ActorsError> {
        let s = self.take(2)?;
        Ok(u16::from_be_bytes([s[0], s[1]]))
    }
    fn u24(&mut self) -> Result<usize, ActorsError> {
        let s = self.take(3)?;
        Ok((usize::from(s[0]) << 16) | (usize::from(s[1]) << 8) | usize::from(s[2]))
    }
    fn vec8(&mut self) -> Result<&'a [u8], ActorsError> {
        let n = usize::from(self.u8()?);
        self.take(n)
    }
    fn vec16(&mut self) -> Result<&'a [u8], ActorsError> {
        let n = usize::from(self.u16()?);
        self.take(n)
    }
}

/// Whether a 16-bit value is a GREASE value (RFC 8701).
pub fn is_grease(v: u16) -> bool {
    (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff)
}

fn u16s(b: &[u8]) -> impl Iterator<Item = u16> + '_ {
    b.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]]))
}

fn version_code(v: u16) -> &'static str {
    match v {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        0x0002 | 0x0200 => "s2",
        0xfeff => "d1",
        0xfefd => "d2",
        0xfefc => "d3",
        _ => "00",
    }
}

fn sha12(s: &str) -> String {
    let d = Sha256::digest(s.as_bytes());
    let mut out = String::with_capacity(12);
    for b in d.iter().take(6) {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

fn hex_list(v: &[u16]) -> String {
    v.iter()
        .map(|x| format!("{x:04x}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The JA4 fingerprint of a ClientHello: either a full TLS record (starting
/// with content type 22) or a bare handshake message (starting with type 1).
pub fn ja4_from_client_hello(record: &[u8]) -> Result<String, ActorsError> {
    let mut r = Reader { b: record };
    if record.first() == Some(&0x16) {
        r.take(1)?;
        r.u16()?; // record version
        let len = usize::from(r.u16()?);
        // a hello may span records; parse what this one holds
        let avail = r.b.len().min(len);
        r.b = &r.b[..avail];
    }
    if r.u8()? != 0x01 {
        return Err(ActorsError::ClientHello("not a ClientHello handshake"));
    }
    let hlen = r.u24()?;
    if r.b.len() > hlen {
        r.b = &r.b[..hlen];
    }
    let legacy_version = r.u16()?;
    r.take(32)?; // random
    r.vec8()?; // session id
    let ciphers: Vec<u16> = u16s(r.vec16()?).filter(|c| !is_grease(*c)).collect();
    r.vec8()?; // compression methods
    let mut exts: Vec<u16> = Vec::new();
    let mut sni = false;
    let mut alpn: Option<Vec<u8>> = None;
    let mut versions: Vec<u16> = Vec::new();
    let mut sigalgs: Vec<u16> = Vec::new();
    if !r.b.is_empty() {
        let mut e = Reader { b: r.vec16()? };
        while !e.b.is_empty() {
            let ty = e.u16()?;
            let data = e.vec16()?;
            if is_grease(ty) {
                continue;
            }
            exts.push(ty);
            match ty {
                0x0000 => sni = true,
                0x0010 => {
                    let mut a = Reader { b: data };
                    if let Ok(list) = a.vec16() {
                        let mut l = Reader { b: list };
                        if let Ok(first) = l.vec8() {
                            alpn = Some(first.to_vec());
                        }
                    }
                }
                0x002b => {
                    let mut a = Reader { b: data };
                    if let Ok(list) = a.vec8() {
                        versions = u16s(list).filter(|v| !is_grease(*v)).collect();
                    }
                }
                0x000d => {
                    let mut a = Reader { b: data };
                    if let Ok(list) = a.vec16() {
                        sigalgs = u16s(list).filter(|v| !is_grease(*v)).collect();
                    }
                }
                _ => {}
            }
        }
    }
    let version = versions.iter().copied().max().unwrap_or(legacy_version);
    let alpn_code = match alpn.as_deref() {
        None | Some([]) => "00".to_string(),
        Some(p) => {
            let (f, l) = (p[0], p[p.len() - 1]);
            if f.is_ascii_alphanumeric() && l.is_ascii_alphanumeric() {
                format!("{}{}", f as char, l as char)
            } else {
                let hf = format!("{f:02x}");
                let hl = format!("{l:02x}");
                format!("{}{}", &hf[..1], &hl[1..])
            }
        }
    };
    let a = format!(
        "t{}{}{:02}{:02}{}",
        version_code(version),
        if sni { 'd' } else { 'i' },
        ciphers.len().min(99),
        exts.len().min(99),
        alpn_code
    );
    let mut sorted_c = ciphers.clone();
    sorted_c.sort_unstable();
    let b = if sorted_c.is_empty() {
        "000000000000".to_string()
    } else {
        sha12(&hex_list(&sorted_c))
    };
    let mut sorted_e: Vec<u16> = exts
        .iter()
        .copied()
        .filter(|e| *e != 0x0000 && *e != 0x0010)
        .collect();
    sorted_e.sort_unstable();
    let c = if sorted_e.is_empty() {
        "000000000000".to_string()
    } else if sigalgs.is_empty() {
        sha12(&hex_list(&sorted_e))
    } else {
        sha12(&format!("{}_{}", hex_list(&sorted_e), hex_list(&sigalgs)))
    };
    Ok(format!("{a}_{b}_{c}"))
}
