//! The subject of a TLS client certificate as text (`CN=worker-1,O=Gear Test`), for
//! `--admin-allow subject:<DN>`.
//!
//! A small DER walk over the one path we need: Certificate → tbsCertificate → (version, serial,
//! signature, issuer, validity) → subject Name → RDN sets → (type, value). The certificate has
//! already been verified by rustls against the CA; still, the walk checks every length and gives
//! `None` rather than panicking on anything it does not understand. RDNs are written in
//! certificate order, joined by `,` (`+` inside a multi-valued RDN), with `,`, `+`, `\` escaped.

/// DER tags used here.
const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OID: u8 = 0x06;
const VERSION: u8 = 0xA0;
const BMP_STRING: u8 = 0x1E;

/// Well-known attribute types (OID body bytes → short name).
const NAMES: [(&[u8], &str); 9] = [
    (&[0x55, 0x04, 0x03], "CN"),
    (&[0x55, 0x04, 0x06], "C"),
    (&[0x55, 0x04, 0x07], "L"),
    (&[0x55, 0x04, 0x08], "ST"),
    (&[0x55, 0x04, 0x0A], "O"),
    (&[0x55, 0x04, 0x0B], "OU"),
    (&[0x55, 0x04, 0x05], "SERIALNUMBER"),
    (
        &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x01],
        "EMAILADDRESS",
    ),
    (
        &[0x09, 0x92, 0x26, 0x89, 0x93, 0xF2, 0x2C, 0x64, 0x01, 0x19],
        "DC",
    ),
];

/// One TLV: its tag, its contents, and what follows it.
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | b as usize);
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

/// The contents of a TLV that must have `want` as its tag, and what follows.
fn expect(input: &[u8], want: u8) -> Option<(&[u8], &[u8])> {
    match tlv(input)? {
        (tag, body, rest) if tag == want => Some((body, rest)),
        _ => None,
    }
}

/// The subject of a DER certificate, as text.
pub fn subject(cert_der: &[u8]) -> Option<String> {
    let (cert, _) = expect(cert_der, SEQUENCE)?;
    let (tbs, _) = expect(cert, SEQUENCE)?;
    let mut rest = tbs;
    if tbs.first() == Some(&VERSION) {
        rest = tlv(rest)?.2;
    }
    // serial, signature algorithm, issuer, validity
    for _ in 0..4 {
        rest = tlv(rest)?.2;
    }
    let (name, _) = expect(rest, SEQUENCE)?;
    render_name(name)
}

fn render_name(mut name: &[u8]) -> Option<String> {
    let mut out = String::new();
    while !name.is_empty() {
        let (set, rest) = expect(name, SET)?;
        name = rest;
        if !out.is_empty() {
            out.push(',');
        }
        let mut set = set;
        let mut first = true;
        while !set.is_empty() {
            let (atv, rest) = expect(set, SEQUENCE)?;
            set = rest;
            if !first {
                out.push('+');
            }
            first = false;
            let (oid, value) = expect(atv, OID)?;
            let (tag, value, _) = tlv(value)?;
            out.push_str(&attribute_name(oid));
            out.push('=');
            escape_into(&mut out, &string_value(tag, value));
        }
    }
    Some(out)
}

fn attribute_name(oid: &[u8]) -> String {
    match NAMES.iter().find(|(o, _)| *o == oid) {
        Some((_, n)) => (*n).to_string(),
        None => dotted(oid),
    }
}

/// An OID in dotted form (`2.5.4.42`).
fn dotted(oid: &[u8]) -> String {
    let mut parts: Vec<u64> = Vec::new();
    let mut acc: u64 = 0;
    for &b in oid {
        acc = (acc << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            if parts.is_empty() {
                let first = (acc / 40).min(2);
                parts.push(first);
                parts.push(acc - first * 40);
            } else {
                parts.push(acc);
            }
            acc = 0;
        }
    }
    parts
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

fn string_value(tag: u8, value: &[u8]) -> String {
    if tag == BMP_STRING {
        let units: Vec<u16> = value
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        return String::from_utf16_lossy(&units);
    }
    String::from_utf8_lossy(value).into_owned()
}

fn escape_into(out: &mut String, value: &str) {
    for c in value.chars() {
        if matches!(c, ',' | '+' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal tbsCertificate-shaped structure around a subject Name.
    fn cert_with_subject(name: &[u8]) -> Vec<u8> {
        fn wrap(tag: u8, body: &[u8]) -> Vec<u8> {
            let mut v = vec![tag];
            if body.len() < 0x80 {
                v.push(body.len() as u8);
            } else {
                v.push(0x82);
                v.extend_from_slice(&(body.len() as u16).to_be_bytes());
            }
            v.extend_from_slice(body);
            v
        }
        let mut tbs = wrap(VERSION, &wrap(0x02, &[2]));
        tbs.extend(wrap(0x02, &[1])); // serial
        tbs.extend(wrap(SEQUENCE, &[])); // signature
        tbs.extend(wrap(SEQUENCE, &[])); // issuer
        tbs.extend(wrap(SEQUENCE, &[])); // validity
        tbs.extend(wrap(SEQUENCE, name));
        let mut cert = wrap(SEQUENCE, &tbs);
        cert.extend(wrap(SEQUENCE, &[])); // signature algorithm
        wrap(SEQUENCE, &cert)
    }

    fn rdn(oid: &[u8], tag: u8, value: &[u8]) -> Vec<u8> {
        let mut atv = vec![OID, oid.len() as u8];
        atv.extend_from_slice(oid);
        atv.push(tag);
        atv.push(value.len() as u8);
        atv.extend_from_slice(value);
        let mut seq = vec![SEQUENCE, atv.len() as u8];
        seq.extend(atv);
        let mut set = vec![SET, seq.len() as u8];
        set.extend(seq);
        set
    }

    #[test]
    fn renders_the_subject_in_certificate_order() {
        let mut name = rdn(&[0x55, 0x04, 0x03], 0x0C, b"worker-1");
        name.extend(rdn(&[0x55, 0x04, 0x0A], 0x13, b"Gear, Test"));
        name.extend(rdn(&[0x55, 0x04, 0x2A], 0x0C, b"x"));
        let der = cert_with_subject(&name);
        assert_eq!(
            subject(&der).as_deref(),
            Some("CN=worker-1,O=Gear\\, Test,2.5.4.42=x")
        );
    }

    #[test]
    fn truncated_or_garbage_input_gives_none() {
        let der = cert_with_subject(&rdn(&[0x55, 0x04, 0x03], 0x0C, b"a"));
        for cut in 0..der.len() {
            let _ = subject(&der[..cut]);
        }
        assert_eq!(subject(b""), None);
        assert_eq!(subject(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), None);
        assert_eq!(subject(&[0x30, 0x81]), None);
    }
}
