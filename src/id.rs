//! Convex document IDs (docs/export-format.md, section 6): a varint table number, 16
//! internal bytes and a fletcher16 footer, written in lowercase Crockford base32.
//!
//! Decoding is strict in the way the backend is: the string must re-encode to
//! itself, so padding bits, over-long varints and u32 overflow are all rejected.

use std::fmt;

const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
const VERSION: u16 = 0;

/// A decoded document ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocumentId {
    /// The table number the ID belongs to (never 0).
    pub table_number: u32,
    /// The 16 internal bytes that make the ID unique within its table.
    pub internal: [u8; 16],
}

/// Why a string is not a valid document ID, named as the backend names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdError {
    InvalidLength,
    InvalidBase32,
    InvalidTableNumber,
    ZeroTableNumber,
    InvalidIdVersion,
}

impl fmt::Display for IdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IdError::InvalidLength => "invalid length",
            IdError::InvalidBase32 => "invalid base32 character",
            IdError::InvalidTableNumber => "invalid table number varint",
            IdError::ZeroTableNumber => "table number is zero",
            IdError::InvalidIdVersion => "checksum does not match",
        })
    }
}

impl std::error::Error for IdError {}

fn fletcher16(bytes: &[u8]) -> u16 {
    let (mut c0, mut c1) = (0u8, 0u8);
    for &b in bytes {
        c0 = c0.wrapping_add(b);
        c1 = c1.wrapping_add(c0);
    }
    (u16::from(c1) << 8) | u16::from(c0)
}

/// Calls `emit` with each base32 character of `bytes`.
fn base32_emit(bytes: &[u8], mut emit: impl FnMut(u8)) {
    let mut acc: u64 = 0;
    let mut bits = 0u32;
    for &b in bytes {
        acc = (acc << 8) | u64::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            emit(ALPHABET[((acc >> bits) & 31) as usize]);
        }
    }
    if bits > 0 {
        emit(ALPHABET[((acc << (5 - bits)) & 31) as usize]);
    }
}

/// The value of each base32 character, or `INVALID`.
const INVALID: u8 = 0xff;
const DIGITS: [u8; 256] = {
    let mut t = [INVALID; 256];
    let mut i = 0;
    while i < 32 {
        t[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    t
};

/// Decodes base32 into `out` (no allocation); returns the byte count and
/// whether the text is the canonical encoding of those bytes: no character
/// beyond the last byte's and zero padding bits.
fn base32_decode(text: &[u8], out: &mut [u8; 24]) -> Result<(usize, bool), IdError> {
    let mut len = 0;
    let mut acc: u64 = 0;
    let mut bits = 0u32;
    for &c in text {
        let v = DIGITS[c as usize];
        if v == INVALID {
            return Err(IdError::InvalidBase32);
        }
        acc = (acc << 5) | u64::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out[len] = (acc >> bits) as u8;
            len += 1;
        }
    }
    // Encoding `len` bytes writes ceil(8 len / 5) characters, the last one
    // padded with zero bits: fewer than 5 bits may be left, all zero.
    let canonical = bits < 5 && acc & ((1 << bits) - 1) == 0;
    Ok((len, canonical))
}

impl DocumentId {
    /// Builds an ID from its parts.
    pub fn new(table_number: u32, internal: [u8; 16]) -> Self {
        DocumentId {
            table_number,
            internal,
        }
    }

    /// The canonical binary form: varint table number, internal bytes,
    /// footer. Returns the buffer and its length.
    fn binary(&self) -> ([u8; 23], usize) {
        let mut bin = [0u8; 23];
        let mut len = 0;
        let mut n = self.table_number;
        loop {
            let low = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                bin[len] = low;
                len += 1;
                break;
            }
            bin[len] = low | 0x80;
            len += 1;
        }
        bin[len..len + 16].copy_from_slice(&self.internal);
        len += 16;
        let footer = fletcher16(&bin[..len]) ^ VERSION;
        bin[len..len + 2].copy_from_slice(&footer.to_le_bytes());
        (bin, len + 2)
    }

    /// Encodes the ID as Convex writes it (31 to 37 characters).
    pub fn encode(&self) -> String {
        let (bin, len) = self.binary();
        let mut out = String::with_capacity(37);
        base32_emit(&bin[..len], |c| out.push(c as char));
        out
    }

    /// Decodes and validates an ID string (section 7.3). Only the canonical
    /// encoding of an ID decodes: padding bits, over-long varints and u32
    /// overflow are rejected, as the backend rejects them by re-encoding.
    pub fn decode(text: &str) -> Result<Self, IdError> {
        if !(31..=37).contains(&text.len()) {
            return Err(IdError::InvalidLength);
        }
        let mut buf = [0u8; 24];
        let (len, canonical_base32) = base32_decode(text.as_bytes(), &mut buf)?;
        let bin = &buf[..len];
        let mut table_number: u32 = 0;
        let mut pos = 0;
        let canonical_varint = loop {
            if pos >= 5 {
                return Err(IdError::InvalidTableNumber);
            }
            let Some(&b) = bin.get(pos) else {
                return Err(IdError::InvalidTableNumber);
            };
            table_number |= u32::from(b & 0x7f).wrapping_shl(7 * pos as u32);
            pos += 1;
            if b & 0x80 == 0 {
                // The shortest varint ends in a non-zero byte, and a fifth
                // byte holds only the top 4 bits of a u32.
                break (pos == 1 || b != 0) && (pos < 5 || b < 0x10);
            }
        };
        if table_number == 0 {
            return Err(IdError::ZeroTableNumber);
        }
        if bin.len() < pos + 18 {
            return Err(IdError::InvalidLength);
        }
        let internal: [u8; 16] = bin[pos..pos + 16].try_into().expect("length checked");
        let footer = u16::from_le_bytes([bin[pos + 16], bin[pos + 17]]);
        if footer != fletcher16(&bin[..pos + 16]) ^ VERSION {
            return Err(IdError::InvalidIdVersion);
        }
        // With a canonical varint, re-encoding gives back exactly `bin`, and
        // its text is `text` exactly when the base32 is canonical.
        if bin.len() != pos + 18 || !canonical_varint || !canonical_base32 {
            return Err(IdError::InvalidLength);
        }
        Ok(DocumentId {
            table_number,
            internal,
        })
    }
}

impl fmt::Display for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encode())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> [u8; 16] {
        let mut out = [0u8; 16];
        for (i, o) in out.iter_mut().enumerate() {
            *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
        }
        out
    }

    #[test]
    fn stability_vector_from_backend_tests() {
        let mut internal = [0u8; 16];
        let mut b: u32 = 251;
        for o in internal.iter_mut() {
            *o = b as u8;
            b = (b * 251) % 256;
        }
        assert_eq!(internal, hex("fb198371cb09d3e19bf923516be973c1"));
        let id = DocumentId::new(1017, internal);
        assert_eq!(id.encode(), "z43zp6c3e75gkmz1kfwj6mbbx5sw281h");
        assert_eq!(
            DocumentId::decode("z43zp6c3e75gkmz1kfwj6mbbx5sw281h"),
            Ok(id)
        );
    }

    #[test]
    fn import_test_vectors_decode() {
        let cases = [
            (
                "kg2ah8mk1xtg35g7zyexyc96e96yr74f",
                540,
                "a8a2930f75019607ff9ddf3126724dec",
            ),
            (
                "4d9wy5r5x7rmjdjqnx45ct829fff4ar",
                35,
                "53cf1705e9f1493657af485669024bde",
            ),
            (
                "k9725mndz2ce7erp6ydnt2razs7ecgvh",
                10010,
                "22d2adf898e3bb16379b5d0b0afe4ee6",
            ),
        ];
        for (text, number, internal) in cases {
            let id = DocumentId::decode(text).unwrap();
            assert_eq!(id.table_number, number, "{text}");
            assert_eq!(id.internal, hex(internal), "{text}");
            assert_eq!(id.encode(), text);
        }
    }

    #[test]
    fn table_10001_all_zero_internal() {
        let id = DocumentId::new(10001, [0; 16]);
        assert_eq!(id.encode(), "j5700000000000000000000000001qv0");
        assert!(id.encode().starts_with("j5"));
        assert!(DocumentId::new(540, [7; 16]).encode().starts_with("kg2"));
    }

    #[test]
    fn invalid_vectors_fail_without_panicking() {
        assert!(DocumentId::decode("mz1xn7tymdnktmmzqy5xxhn7tjs2nkkfmtjjr").is_err());
        assert!(DocumentId::decode("sssswsgggggggggsgcsssfafffsffks").is_err());
        assert_eq!(DocumentId::decode("short"), Err(IdError::InvalidLength));
        assert_eq!(
            DocumentId::decode("K9725mndz2ce7erp6ydnt2razs7ecgvh"),
            Err(IdError::InvalidBase32)
        );
        // One changed character breaks the checksum.
        assert!(DocumentId::decode("k9725mndz2ce7erp6ydnt2razs7ecgvj").is_err());
    }

    /// The decoder as first written: decode, then require that the ID
    /// re-encodes to the text. The fast decoder must agree with it.
    fn decode_by_reencoding(text: &str) -> Result<DocumentId, IdError> {
        if !(31..=37).contains(&text.len()) {
            return Err(IdError::InvalidLength);
        }
        let mut buf = [0u8; 24];
        let (len, _) = base32_decode(text.as_bytes(), &mut buf)?;
        let bin = &buf[..len];
        let mut table_number: u32 = 0;
        let mut pos = 0;
        loop {
            let Some(&b) = bin.get(pos).filter(|_| pos < 5) else {
                return Err(IdError::InvalidTableNumber);
            };
            table_number |= u32::from(b & 0x7f).wrapping_shl(7 * pos as u32);
            pos += 1;
            if b & 0x80 == 0 {
                break;
            }
        }
        if table_number == 0 {
            return Err(IdError::ZeroTableNumber);
        }
        if bin.len() < pos + 18 {
            return Err(IdError::InvalidLength);
        }
        let footer = u16::from_le_bytes([bin[pos + 16], bin[pos + 17]]);
        if footer != fletcher16(&bin[..pos + 16]) ^ VERSION {
            return Err(IdError::InvalidIdVersion);
        }
        let id = DocumentId::new(table_number, bin[pos..pos + 16].try_into().unwrap());
        if bin.len() != pos + 18 || id.encode() != text {
            return Err(IdError::InvalidLength);
        }
        Ok(id)
    }

    /// Base32 of raw bytes, with or without padding bits set.
    fn base32(bytes: &[u8], pad: u8) -> String {
        let mut out = String::new();
        base32_emit(bytes, |c| out.push(c as char));
        if pad != 0 && !(bytes.len() * 8).is_multiple_of(5) {
            let last = out.pop().unwrap();
            let v = DIGITS[last as usize] | (pad & ((1 << (5 - (bytes.len() * 8) % 5)) - 1));
            out.push(ALPHABET[v as usize] as char);
        }
        out
    }

    #[test]
    fn fast_decode_agrees_with_reencoding() {
        // SplitMix64: deterministic variety without a dependency.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        let mut texts = Vec::new();
        for i in 0..20_000u64 {
            let r = next();
            // Binary forms with valid and invalid varints (over-long, u32
            // overflow), right and wrong footers, and padding bits set.
            let mut bin: Vec<u8> = match i % 6 {
                0 => vec![(r & 0x7f) as u8],
                1 => vec![0x80 | (r & 0x7f) as u8, (r >> 8 & 0x7f) as u8],
                2 => vec![0x80 | (r & 0x7f) as u8, 0],
                3 => vec![0xff, 0xff, 0xff, 0xff, (r >> 8 & 0x7f) as u8],
                4 => vec![0x81, 0x80, 0x80, 0x80, 0x80, 0x01],
                _ => (0..(r % 4 + 1)).map(|k| (r >> (8 * k)) as u8).collect(),
            };
            bin.extend((0..16).map(|k| (next() >> k) as u8));
            let footer = fletcher16(&bin) ^ VERSION;
            let footer = if i.is_multiple_of(7) {
                footer ^ 1
            } else {
                footer
            };
            bin.extend(footer.to_le_bytes());
            if i.is_multiple_of(11) {
                bin.push(r as u8);
            }
            texts.push(base32(
                &bin,
                if i.is_multiple_of(5) {
                    (r >> 40) as u8
                } else {
                    0
                },
            ));
        }
        for n in [1, 127, 128, 16383, 16384, 1 << 21, 1 << 28, u32::MAX] {
            let text = DocumentId::new(n, [0x5a; 16]).encode();
            texts.push(text.clone());
            let mut extra = text.clone();
            extra.push('0');
            texts.push(extra);
            let mut short = text;
            short.pop();
            texts.push(short);
        }
        let mut valid = 0;
        for text in &texts {
            let fast = DocumentId::decode(text);
            assert_eq!(fast, decode_by_reencoding(text), "{text}");
            valid += usize::from(fast.is_ok());
        }
        // Both kinds are well represented.
        assert!(
            valid > 3000 && texts.len() - valid > 3000,
            "{valid} of {}",
            texts.len()
        );
    }

    #[test]
    fn lengths_follow_table_number_ranges() {
        for (n, len) in [
            (1u32, 31usize),
            (127, 31),
            (128, 32),
            (16383, 32),
            (16384, 34),
            ((1 << 21) - 1, 34),
            (1 << 21, 36),
            ((1 << 28) - 1, 36),
            (1 << 28, 37),
            (u32::MAX, 37),
        ] {
            let id = DocumentId::new(n, [0xab; 16]);
            let text = id.encode();
            assert_eq!(text.len(), len, "table {n}");
            assert_eq!(DocumentId::decode(&text), Ok(id));
        }
    }
}
