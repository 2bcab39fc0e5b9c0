//! Walking JSON text without parsing it: the top-level fields of a row and
//! the extent of each value, for the partial decoder, the creation-time
//! fix-up and the preflight.
//!
//! Values are skipped by serde_json's own grammar for values it skips
//! (`ignore_value`: strict numbers and literals, escapes checked for their
//! form only, no depth limit), so on any JSON serde_json reads the walk
//! finds the same fields, and on text it would refuse the walk fails rather
//! than guess. It is conservative: deep nesting, escaped keys and anything
//! unusual make it give up, and the caller asks serde_json.
//!
//! The preflight's skim ([`skim_object`]) walks in strict mode, which also
//! gives up on everything the importer's full decode could refuse where a
//! skip would not: a `\u` escape (a lone surrogate), a number that might
//! not fit an f64 (`1e400`), and any key that is not a plain valid field
//! name (a `$` key, a character outside printable ASCII, over 1024 bytes).
//! So a row the skim accepts is one the full decode accepts.

/// The raw JSON text of a row's system fields.
#[derive(Debug, Default, PartialEq)]
pub struct Skimmed<'a> {
    pub id: Option<&'a str>,
    pub creation_time: Option<&'a str>,
}

/// `Some` when `line` is certainly one JSON object serde_json reads (with
/// plain top-level keys and at most one `_id` and one `_creationTime`), with
/// the raw text of those two; `None` when it is not, or only serde_json can
/// tell.
pub fn skim_object(line: &str) -> Option<Skimmed<'_>> {
    let mut out = Skimmed::default();
    let mut fields = TopLevel::strict(line.as_bytes());
    for (key, span, plain) in &mut fields {
        let slot = match key {
            // serde_json unescapes and checks top-level keys itself.
            _ if !plain => return None,
            b"_id" => &mut out.id,
            b"_creationTime" => &mut out.creation_time,
            _ => continue,
        };
        if slot.replace(&line[span]).is_some() {
            return None;
        }
    }
    let end = fields.end.filter(|_| !fields.unusual)?;
    (skip_ws(line.as_bytes(), end) == line.len()).then_some(out)
}

/// Where the value of the top-level field `key` lies in a JSON object known
/// to be valid (a key written with escapes does not match).
pub fn top_level_value(line: &[u8], key: &str) -> Option<std::ops::Range<usize>> {
    TopLevel::new(line)
        .find(|(k, _, _)| *k == key.as_bytes())
        .map(|(_, span, _)| span)
}

/// The top-level fields of a JSON object, in order: each key as written
/// between its quotes, the byte range of its value, and whether the key is
/// plain (has no escapes). Ends early, with
/// `unusual` set, on anything that is not such an object or that the walk
/// is not sure of (see the module's notes).
pub(crate) struct TopLevel<'a> {
    line: &'a [u8],
    /// Where the next key starts; `None` once done.
    next: Option<usize>,
    /// Past the closing `}`, once reached.
    end: Option<usize>,
    pub unusual: bool,
    /// Also give up on what the importer's decode could refuse (see the
    /// module's notes).
    strict: bool,
}

impl<'a> TopLevel<'a> {
    pub(crate) fn new(line: &'a [u8]) -> TopLevel<'a> {
        Self::with_mode(line, false)
    }

    pub(crate) fn strict(line: &'a [u8]) -> TopLevel<'a> {
        Self::with_mode(line, true)
    }

    fn with_mode(line: &'a [u8], strict: bool) -> TopLevel<'a> {
        let i = skip_ws(line, 0);
        let mut t = TopLevel {
            line,
            next: None,
            end: None,
            unusual: line.get(i) != Some(&b'{'),
            strict,
        };
        let first = skip_ws(line, i + 1);
        if !t.unusual {
            match line.get(first) {
                Some(b'}') => t.end = Some(first + 1),
                _ => t.next = Some(first),
            }
        }
        t
    }

    fn fail(&mut self) -> Option<(&'a [u8], std::ops::Range<usize>, bool)> {
        self.unusual = true;
        self.next = None;
        None
    }
}

impl<'a> Iterator for TopLevel<'a> {
    type Item = (&'a [u8], std::ops::Range<usize>, bool);

    fn next(&mut self) -> Option<Self::Item> {
        let (line, i) = (self.line, self.next?);
        if line.get(i) != Some(&b'"') {
            return self.fail();
        }
        let Some((end, plain)) = string(line, i + 1, self.strict) else {
            return self.fail();
        };
        if self.strict && !plain_field_name(&line[i + 1..end - 1], plain) {
            return self.fail();
        }
        let colon = skip_ws(line, end);
        if line.get(colon) != Some(&b':') {
            return self.fail();
        }
        let start = skip_ws(line, colon + 1);
        let Some(stop) = value(line, start, 0, self.strict) else {
            return self.fail();
        };
        let after = skip_ws(line, stop);
        self.next = match line.get(after) {
            Some(b',') => Some(skip_ws(line, after + 1)),
            Some(b'}') => {
                self.end = Some(after + 1);
                None
            }
            _ => return self.fail(),
        };
        Some((&line[i + 1..end - 1], start..stop, plain))
    }
}

/// Past serde_json's whitespace.
fn skip_ws(s: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\n' | b'\t' | b'\r') = s.get(i) {
        i += 1;
    }
    i
}

/// Nesting beyond this is left to serde_json (which has no limit when it
/// skips values); it keeps the recursion here shallow.
const MAX_DEPTH: usize = 64;

/// A key the importer takes as it is: no escapes, not starting with `$`, at
/// most 1024 bytes of printable ASCII (`check_valid_field_name`).
fn plain_field_name(key: &[u8], plain: bool) -> bool {
    plain
        && key.first() != Some(&b'$')
        && key.len() <= super::MAX_FIELD_NAME_LEN
        && key.iter().all(|b| (0x20..0x7f).contains(b))
}

/// Skips the value at `i`; returns where it ends.
fn value(s: &[u8], i: usize, depth: usize, strict: bool) -> Option<usize> {
    match *s.get(i)? {
        b'"' => string(s, i + 1, strict).map(|(end, _)| end),
        b'{' if depth < MAX_DEPTH => {
            let mut i = skip_ws(s, i + 1);
            if s.get(i) == Some(&b'}') {
                return Some(i + 1);
            }
            loop {
                if s.get(i) != Some(&b'"') {
                    return None;
                }
                let (end, plain) = string(s, i + 1, strict)?;
                if strict && !plain_field_name(&s[i + 1..end - 1], plain) {
                    return None;
                }
                i = skip_ws(s, end);
                if s.get(i) != Some(&b':') {
                    return None;
                }
                i = skip_ws(s, value(s, skip_ws(s, i + 1), depth + 1, strict)?);
                match s.get(i) {
                    Some(b',') => i = skip_ws(s, i + 1),
                    Some(b'}') => return Some(i + 1),
                    _ => return None,
                }
            }
        }
        b'[' if depth < MAX_DEPTH => {
            let mut i = skip_ws(s, i + 1);
            if s.get(i) == Some(&b']') {
                return Some(i + 1);
            }
            loop {
                i = skip_ws(s, value(s, i, depth + 1, strict)?);
                match s.get(i) {
                    Some(b',') => i = skip_ws(s, i + 1),
                    Some(b']') => return Some(i + 1),
                    _ => return None,
                }
            }
        }
        b't' => literal(s, i, b"true"),
        b'f' => literal(s, i, b"false"),
        b'n' => literal(s, i, b"null"),
        b'-' => number(s, i + 1, strict),
        b'0'..=b'9' => number(s, i, strict),
        _ => None,
    }
}

fn literal(s: &[u8], i: usize, word: &[u8]) -> Option<usize> {
    s[i..].starts_with(word).then_some(i + word.len())
}

fn digits(s: &[u8], mut i: usize) -> usize {
    while let Some(b'0'..=b'9') = s.get(i) {
        i += 1;
    }
    i
}

/// Integer digits beyond which a strict walk leaves a number to the parser
/// (it may be too large for an f64).
const MAX_STRICT_DIGITS: usize = 300;

/// A number after its sign, as serde_json's `ignore_integer` reads it. A
/// strict walk gives up on a number that might overflow an f64 when parsed:
/// an exponent of three or more digits, or a very long integer part.
fn number(s: &[u8], i: usize, strict: bool) -> Option<usize> {
    let start = i;
    let mut i = match s.get(i)? {
        b'0' => i + 1,
        b'1'..=b'9' => digits(s, i + 1),
        _ => return None,
    };
    if strict && i - start > MAX_STRICT_DIGITS {
        return None;
    }
    if let Some(b'0'..=b'9') = s.get(i) {
        return None; // a leading zero
    }
    if s.get(i) == Some(&b'.') {
        let end = digits(s, i + 1);
        if end == i + 1 {
            return None;
        }
        i = end;
    }
    if let Some(b'e' | b'E') = s.get(i) {
        i += 1;
        if let Some(b'+' | b'-') = s.get(i) {
            i += 1;
        }
        let end = digits(s, i);
        if end == i || (strict && end - i > 2) {
            return None;
        }
        i = end;
    }
    Some(i)
}

/// Skips a string whose opening quote is before `i`; returns the index past
/// the closing quote and whether it had no escapes. Escapes are checked for
/// form (`\u` and four hex digits), as serde_json checks skipped strings; a
/// strict walk gives up on any `\u` escape (it may be a lone surrogate).
fn string(s: &[u8], mut i: usize, strict: bool) -> Option<(usize, bool)> {
    let mut plain = true;
    loop {
        // Eight bytes at a time while none is a quote, a backslash or a
        // control character (serde_json's own trick), then byte by byte.
        while let Some(chunk) = s.get(i..i + 8) {
            let found = stops(u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
            if found != 0 {
                // The lowest flagged byte is a real stop.
                i += (found.trailing_zeros() / 8) as usize;
                break;
            }
            i += 8;
        }
        loop {
            match *s.get(i)? {
                b'"' => return Some((i + 1, plain)),
                b'\\' => break,
                0..0x20 => return None, // serde_json's error
                _ => i += 1,
            }
        }
        plain = false;
        i += match *s.get(i + 1)? {
            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => 2,
            b'u' if !strict && s.get(i + 2..i + 6)?.iter().all(u8::is_ascii_hexdigit) => 6,
            _ => return None,
        };
    }
}

/// The high bit of each of eight bytes (little-endian) that may be `"`,
/// `\\` or below 0x20: the lowest one set is always a real one (a borrow can
/// only flag bytes above a real one), and none is missed.
fn stops(v: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let below_space = v.wrapping_sub(ONES * 0x20) & !v & HIGH;
    zero(v ^ (ONES * u64::from(b'"'))) | zero(v ^ (ONES * u64::from(b'\\'))) | below_space
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_plain_rows_and_leaves_the_unusual_to_serde() {
        let row = r#"{"_creationTime":1754230000789.5,"_id":"j97abc","a":[1,-0.5e+3,{"b":"é\n\"\\"},true,false,null,[]],"c":{},"_x":1}"#;
        assert_eq!(
            skim_object(row),
            Some(Skimmed {
                id: Some(r#""j97abc""#),
                creation_time: Some("1754230000789.5"),
            })
        );
        assert_eq!(skim_object(" {} \r"), Some(Skimmed::default()));
        for unusual in [
            r#"{"_id":"a","_id":"b"}"#,
            r#"{"\u005fid":"a"}"#,
            "{\"a\":\"\t\"}",
            r#"{"a":01}"#,
            r#"{"a":1.}"#,
            r#"{"a":1e}"#,
            r#"{"a":[1,]}"#,
            r#"{"a":1,}"#,
            r#"{"a":tru}"#,
            r#"{"a":"\x"}"#,
            r#"{"a":"\u12g4"}"#,
            r#"{"a":1} x"#,
            r#"[1]"#,
            r#"{"a":1"#,
            // What the importer's decode may refuse, left to it.
            r#"{"a":"\ud800"}"#,
            r#"{"a":"\u00e9"}"#,
            r#"{"a":1e400}"#,
            r#"{"a":1e-400}"#,
            r#"{"a":{"$bytes":"AA=="}}"#,
            r#"{"$a":1}"#,
            r#"{"a":[{"é":1}]}"#,
            "{\"a\":{\"\x7f\":1}}",
        ] {
            assert_eq!(skim_object(unusual), None, "{unusual}");
        }
        let long = format!("{{\"a\":{}}}", "9".repeat(400));
        assert_eq!(skim_object(&long), None);
        let long_key = format!("{{\"{}\":1}}", "k".repeat(1025));
        assert_eq!(skim_object(&long_key), None);
        assert!(skim_object(r#"{"a":1e99,"b":1.7976931348623157,"c":""}"#).is_some());
        // The lenient walk, for rows already known valid, still reads them.
        assert_eq!(
            top_level_value(br#"{"a":"\u00e9","_creationTime":1e400}"#, "_creationTime"),
            Some(30..35)
        );
        // Every position of a stop byte within and across 8-byte chunks.
        for len in 0..20 {
            for at in 0..len {
                for stop in [b'"', b'\\', 0x01, 0x1f] {
                    let mut text = vec![b'a'; len];
                    text[at] = stop;
                    text.push(b'"');
                    let quote = text.iter().position(|&b| b == b'"').unwrap();
                    let want = match stop {
                        b'"' => Some((quote + 1, true)),
                        _ => None, // a control character, or `\a`
                    };
                    assert_eq!(string(&text, 0, false), want, "{len} {at} {stop}");
                }
            }
        }
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(100), "]".repeat(100));
        assert_eq!(skim_object(&deep), None);
        assert!(serde_json::from_str::<serde::de::IgnoredAny>(&deep).is_ok());
    }
}
