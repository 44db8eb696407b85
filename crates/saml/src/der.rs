//! The few DER operations an X.509 certificate needs here: writing a self-signed certificate
//! and finding the RSA public key in one. A full X.509 library would bring a dozen crates for
//! two fixed shapes; certificates are never trusted for anything but the key they carry, so no
//! other field is interpreted.

use crate::error::{Result, SamlError};

pub(crate) const SEQUENCE: u8 = 0x30;
pub(crate) const SET: u8 = 0x31;
pub(crate) const INTEGER: u8 = 0x02;
pub(crate) const BIT_STRING: u8 = 0x03;
pub(crate) const OCTET_STRING: u8 = 0x04;
pub(crate) const NULL: u8 = 0x05;
pub(crate) const OID: u8 = 0x06;
pub(crate) const UTF8_STRING: u8 = 0x0c;
pub(crate) const UTC_TIME: u8 = 0x17;
pub(crate) const GENERALIZED_TIME: u8 = 0x18;
pub(crate) const BOOLEAN: u8 = 0x01;

/// rsaEncryption, 1.2.840.113549.1.1.1.
pub(crate) const OID_RSA_ENCRYPTION: &[u8] =
    &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
/// sha256WithRSAEncryption, 1.2.840.113549.1.1.11.
pub(crate) const OID_SHA256_WITH_RSA: &[u8] =
    &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];
/// id-at-commonName, 2.5.4.3.
pub(crate) const OID_COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];
/// id-ce-basicConstraints, 2.5.29.19.
pub(crate) const OID_BASIC_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x13];
/// id-ce-keyUsage, 2.5.29.15.
pub(crate) const OID_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x0f];

/// Writes one TLV with a definite length.
pub(crate) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        let significant = &bytes[skip..];
        out.push(0x80 | significant.len() as u8);
        out.extend_from_slice(significant);
    }
    out.extend_from_slice(content);
    out
}

/// Concatenates already encoded elements into a constructed TLV.
pub(crate) fn constructed(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    tlv(tag, &parts.concat())
}

/// A non-negative INTEGER from big-endian magnitude bytes (a leading zero is added when the
/// high bit is set, so the value stays positive).
pub(crate) fn unsigned_integer(magnitude: &[u8]) -> Vec<u8> {
    let trimmed: &[u8] = match magnitude.iter().position(|b| *b != 0) {
        Some(start) => &magnitude[start..],
        None => &[0],
    };
    let mut content = Vec::with_capacity(trimmed.len() + 1);
    if trimmed.first().is_some_and(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend_from_slice(trimmed);
    tlv(INTEGER, &content)
}

/// A reader over DER bytes that refuses anything malformed instead of guessing.
#[derive(Clone, Copy)]
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader { rest: bytes }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The tag of the next element, if any.
    pub(crate) fn peek_tag(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// Reads the next element, returning its tag and content.
    pub(crate) fn any(&mut self) -> Result<(u8, &'a [u8])> {
        const BAD: SamlError = SamlError::Certificate("malformed DER");
        let (&tag, after_tag) = self.rest.split_first().ok_or(BAD)?;
        // High tag numbers never occur in the structures read here.
        if tag & 0x1f == 0x1f {
            return Err(BAD);
        }
        let (&first, mut after_len) = after_tag.split_first().ok_or(BAD)?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let count = usize::from(first & 0x7f);
            // 0x80 is the indefinite form (not DER); more than 4 length bytes is absurd here.
            if count == 0 || count > 4 || after_len.len() < count {
                return Err(BAD);
            }
            let (len_bytes, rest) = after_len.split_at(count);
            after_len = rest;
            let len = len_bytes
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            if len < 0x80 || len_bytes.first() == Some(&0) {
                return Err(BAD);
            }
            len
        };
        if after_len.len() < len {
            return Err(BAD);
        }
        let (content, rest) = after_len.split_at(len);
        self.rest = rest;
        Ok((tag, content))
    }

    /// Reads the next element and checks its tag.
    pub(crate) fn expect(&mut self, tag: u8) -> Result<&'a [u8]> {
        match self.any()? {
            (found, content) if found == tag => Ok(content),
            _ => Err(SamlError::Certificate("unexpected DER structure")),
        }
    }
}

/// Finds the subjectPublicKeyInfo of a certificate and returns the PKCS#1 `RSAPublicKey` it
/// holds, refusing non-RSA keys.
pub(crate) fn rsa_public_key_of_certificate(cert: &[u8]) -> Result<&[u8]> {
    let mut outer = Reader::new(cert);
    let certificate = outer.expect(SEQUENCE)?;
    if !outer.is_empty() {
        return Err(SamlError::Certificate(
            "trailing data after the certificate",
        ));
    }
    let mut fields = Reader::new(certificate);
    let mut tbs = Reader::new(fields.expect(SEQUENCE)?);
    // version [0] EXPLICIT is optional (absent in v1 certificates).
    if tbs.peek_tag() == Some(0xa0) {
        tbs.any()?;
    }
    tbs.expect(INTEGER)?; // serialNumber
    tbs.expect(SEQUENCE)?; // signature
    tbs.expect(SEQUENCE)?; // issuer
    tbs.expect(SEQUENCE)?; // validity
    tbs.expect(SEQUENCE)?; // subject
    let mut spki = Reader::new(tbs.expect(SEQUENCE)?);
    let mut algorithm = Reader::new(spki.expect(SEQUENCE)?);
    if algorithm.expect(OID)? != OID_RSA_ENCRYPTION {
        return Err(SamlError::Certificate("public key is not RSA"));
    }
    let bits = spki.expect(BIT_STRING)?;
    match bits.split_first() {
        Some((0, key)) if !key.is_empty() => Ok(key),
        _ => Err(SamlError::Certificate("malformed public key bit string")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_round_trip() {
        for len in [0usize, 1, 127, 128, 255, 256, 65_535, 70_000] {
            let content = vec![7u8; len];
            let encoded = tlv(OCTET_STRING, &content);
            let mut reader = Reader::new(&encoded);
            assert_eq!(reader.expect(OCTET_STRING).ok(), Some(&content[..]));
            assert!(reader.is_empty());
        }
    }

    #[test]
    fn refuses_truncated_and_non_minimal_lengths() {
        // Declares 5 bytes, has 2.
        assert!(Reader::new(&[0x04, 0x05, 1, 2]).any().is_err());
        // Long form for a short length is not DER.
        assert!(Reader::new(&[0x04, 0x81, 0x01, 9]).any().is_err());
        // Indefinite length.
        assert!(Reader::new(&[0x30, 0x80, 0, 0]).any().is_err());
        assert!(Reader::new(&[]).any().is_err());
    }

    #[test]
    fn integers_stay_positive() {
        assert_eq!(unsigned_integer(&[0x80]), vec![INTEGER, 2, 0, 0x80]);
        assert_eq!(unsigned_integer(&[0, 0, 5]), vec![INTEGER, 1, 5]);
        assert_eq!(unsigned_integer(&[]), vec![INTEGER, 1, 0]);
    }
}
