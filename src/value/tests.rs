use super::*;

fn uniform(line: &str) -> Value {
    decode_document(
        &parse_json_line(line.as_bytes()).unwrap(),
        &TableFormat::Uniform,
    )
    .unwrap()
}

fn roundtrip(line: &str) -> String {
    String::from_utf8(encode_document(&uniform(line), &TableFormat::Uniform).unwrap()).unwrap()
}

#[test]
fn float_literals_match_serde_json_as_convex_writes_them() {
    let cases = [
        (1.0, "1.0"),
        (-0.0, "-0.0"),
        (15000.0, "15000.0"),
        (1745162255495.581, "1745162255495.581"),
        (1e15, "1000000000000000.0"),
        (1e16, "1e+16"),
        (1.5e-7, "1.5e-7"),
        (f64::MAX, "1.7976931348623157e+308"),
        (5e-324, "5e-324"),
    ];
    for (f, text) in cases {
        let mut out = Vec::new();
        write_float(f, &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), text);
    }
}

#[test]
fn uniform_numbers_keep_int_float_distinction() {
    let v = uniform(
        r#"{"a":5,"b":5.0,"c":-0,"d":9223372036854775807,"e":9223372036854775808,"f":-9223372036854775808}"#,
    );
    let o = v.as_object().unwrap();
    assert_eq!(o["a"], Value::Int64(5));
    assert_eq!(o["b"], Value::Float64(5.0));
    // serde_json reads `-0` as the float -0.0, as the importer does.
    assert!(matches!(o["c"], Value::Float64(f) if f == 0.0 && f.is_sign_negative()));
    assert_eq!(o["d"], Value::Int64(i64::MAX));
    assert_eq!(o["e"], Value::Float64(9223372036854775808.0));
    assert_eq!(o["f"], Value::Int64(i64::MIN));
}

#[test]
fn whole_number_float_stays_a_float_literal() {
    assert_eq!(roundtrip(r#"{"x":5.0}"#), r#"{"x":5.0}"#);
    assert_eq!(roundtrip(r#"{"x":5}"#), r#"{"x":5}"#);
}

#[test]
fn integers_beyond_2_pow_53_are_exact() {
    let line = r#"{"x":9007199254740993}"#;
    assert_eq!(
        uniform(line).as_object().unwrap()["x"],
        Value::Int64(9007199254740993)
    );
    assert_eq!(roundtrip(line), line);
}

#[test]
fn float_roundtrip_keeps_every_bit() {
    // Without serde_json's float_roundtrip feature about one float in ten
    // comes back one step off. Walk many awkward floats through text.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..20_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let f = f64::from_bits(x);
        if !f.is_finite() {
            continue;
        }
        let mut text = b"{\"f\":".to_vec();
        write_float(f, &mut text);
        text.push(b'}');
        let back = uniform(std::str::from_utf8(&text).unwrap());
        match &back.as_object().unwrap()["f"] {
            Value::Float64(g) => assert_eq!(g.to_bits(), f.to_bits(), "{f}"),
            other => panic!("{f} decoded as {other:?}"),
        }
    }
}

#[test]
fn special_values_in_uniform_format() {
    let line = r#"{"b":{"$bytes":"aGVsbG8="},"inf":{"$float":"AAAAAAAA8H8="},"nan":{"$float":"AAAAAAAA+H8="},"ninf":{"$float":"AAAAAAAA8P8="}}"#;
    let v = uniform(line);
    let o = v.as_object().unwrap();
    assert_eq!(o["b"], Value::Bytes(b"hello".to_vec()));
    assert!(matches!(o["nan"], Value::Float64(f) if f.is_nan()));
    assert_eq!(o["inf"], Value::Float64(f64::INFINITY));
    assert_eq!(o["ninf"], Value::Float64(f64::NEG_INFINITY));
    assert_eq!(roundtrip(line), line);
    // $integer is accepted on import but never written.
    let i = uniform(r#"{"i":{"$integer":"BQAAAAAAAAA="}}"#);
    assert_eq!(i.as_object().unwrap()["i"], Value::Int64(5));
}

#[test]
fn dollar_objects_are_checked() {
    let fmt = TableFormat::Uniform;
    let bad = [
        r#"{"x":{"$float":"AAAAAAAA8D8="}}"#,
        r#"{"x":{"$bytes":"aGk=","y":1}}"#,
        r#"{"x":{"$other":1}}"#,
        r#"{"$x":1}"#,
    ];
    for line in bad {
        let json = parse_json_line(line.as_bytes()).unwrap();
        assert!(decode_document(&json, &fmt).is_err(), "{line}");
    }
    // A `$` key that is not first is a bad field name too.
    let json = parse_json_line(br#"{"a":{"b":1,"$bytes":"aGk="}}"#).unwrap();
    assert!(decode_document(&json, &fmt).is_err());
}

#[test]
fn keys_are_sorted_bytewise_on_encode() {
    assert_eq!(
        roundtrip(r#"{"b":1,"_id":"x","A":2,"_creationTime":1.5,"1":3,"a":{"z":1,"Z":2}}"#),
        r#"{"1":3,"A":2,"_creationTime":1.5,"_id":"x","a":{"Z":2,"z":1},"b":1}"#
    );
}

#[test]
fn wide_objects_keep_file_order_for_the_dollar_rule() {
    // simd-json's owned value reorders objects over 32 keys; the first key in
    // file order decides the `$` rule, so order must survive parsing.
    let mut line = String::from("{");
    for i in 0..40 {
        line.push_str(&format!("\"k{i:02}\":{i},"));
    }
    line.push_str("\"z\":{\"$bytes\":\"aGk=\"}}");
    let v = uniform(&line);
    let o = v.as_object().unwrap();
    assert_eq!(o.len(), 41);
    assert_eq!(o["z"], Value::Bytes(b"hi".to_vec()));
    assert_eq!(roundtrip(&line), line);
}

#[test]
fn string_escaping_matches_serde_json() {
    let line = "{\"s\":\"tab\\t nl\\n quote\\\" back\\\\ ctl\\u0001 é / 😏\"}";
    assert_eq!(roundtrip(line), line);
}

#[test]
fn legacy_rows_decode_through_the_shape() {
    let schema = LegacySchema::parse(
        r#"{"_creationTime": normalfloat64, "_id": id<10008>, "big": int64, "blob"?: bytes, "f": float64 | string, "inf": inf, "name": "Bea" | "Clara", "tags": array<string>}"#,
        std::iter::empty(),
    )
    .unwrap();
    let fmt = TableFormat::Legacy(Box::new(schema));
    let line = r#"{"_creationTime":1745162255495.581,"_id":"k9725mndz2ce7erp6ydnt2razs7ecgvh","big":"9007199254740993","blob":"aGk=","f":"NaN","inf":"Infinity","name":"Bea","order":20,"tags":["a"]}"#;
    let v = decode_document(&parse_json_line(line.as_bytes()).unwrap(), &fmt).unwrap();
    let o = v.as_object().unwrap();
    assert_eq!(o["big"], Value::Int64(9007199254740993));
    assert_eq!(o["blob"], Value::Bytes(b"hi".to_vec()));
    // float64 | string is ambiguous: the default override reads a string.
    assert_eq!(o["f"], Value::String("NaN".into()));
    assert_eq!(o["inf"], Value::Float64(f64::INFINITY));
    // Legacy numbers are always Float64.
    assert_eq!(o["order"], Value::Float64(20.0));
    let back = encode_document(&v, &fmt).unwrap();
    assert_eq!(
        String::from_utf8(back).unwrap(),
        line.replace("\"order\":20", "\"order\":20.0")
    );
}

#[test]
fn legacy_overrides_decide_ambiguous_strings() {
    let schema = LegacySchema::parse(
        "unknown",
        [(2usize, &br#"{"jx71kfke7146b55m6h78gncfp17ecacp": {"foo": ["int64", "infer"], "n": {"$float64NaN": "AAAAAAAA+H8="}}}"#[..])]
            .into_iter(),
    )
    .unwrap();
    let fmt = TableFormat::Legacy(Box::new(schema));
    let line = br#"{"_id":"jx71kfke7146b55m6h78gncfp17ecacp","foo":["12","12"],"n":"NaN"}"#;
    let v = decode_document(&parse_json_line(line).unwrap(), &fmt).unwrap();
    let o = v.as_object().unwrap();
    assert_eq!(
        o["foo"],
        Value::Array(vec![Value::Int64(12), Value::String("12".into())])
    );
    assert!(matches!(o["n"], Value::Float64(f) if f.is_nan()));
}

#[test]
fn shape_parse_errors_name_the_token() {
    let err = Shape::parse("uniform").unwrap_err();
    assert!(err.contains("unexpected token at 'uniform'"), "{err}");
    assert_eq!(Shape::parse("never").unwrap(), Shape::Never);
    assert_eq!(
        Shape::parse("record<field_name, int64 | null>").unwrap(),
        Shape::Record(
            Box::new(Shape::FieldName),
            Box::new(Shape::Union(vec![Shape::Int64, Shape::Null]))
        )
    );
}

#[test]
fn missing_format_reads_every_number_as_float_and_rejects_dollar_objects() {
    let json = parse_json_line(br#"{"n":5,"s":"5"}"#).unwrap();
    let v = decode_document(&json, &TableFormat::Missing).unwrap();
    assert_eq!(v.as_object().unwrap()["n"], Value::Float64(5.0));
    assert_eq!(v.as_object().unwrap()["s"], Value::String("5".into()));
    let json = parse_json_line(br#"{"b":{"$bytes":"aGk="}}"#).unwrap();
    assert!(decode_document(&json, &TableFormat::Missing).is_err());
}

#[test]
fn size_metric_and_nesting() {
    let v = uniform(r#"{"a":[1,2.5,null],"b":"xyz","c":{"d":true}}"#);
    // object 2 + a:(1+1+ (2+9+9+1)) + b:(1+1+5) + c:(1+1+(2+ d:(1+1+1)))
    assert_eq!(v.size(), 2 + (2 + 21) + (2 + 5) + (2 + 2 + 3));
    assert_eq!(v.nesting(), 2);
}

#[test]
fn truthiness_follows_javascript() {
    for (v, t) in [
        (Value::Null, false),
        (Value::Bool(false), false),
        (Value::Int64(0), false),
        (Value::Float64(-0.0), false),
        (Value::Float64(f64::NAN), false),
        (Value::String(String::new()), false),
        (Value::Object(Default::default()), true),
        (Value::Array(vec![]), true),
        (Value::String("0".into()), true),
    ] {
        assert_eq!(v.is_truthy(), t, "{v:?}");
    }
}

#[test]
fn identifiers_and_field_names() {
    assert!(check_identifier("videos").is_ok());
    assert!(check_identifier("_tables").is_ok());
    assert!(check_identifier("my-dir").is_err());
    assert!(check_identifier("___").is_err());
    assert!(check_identifier("1abc").is_err());
    assert!(check_field_name("").is_ok());
    assert!(check_field_name("$x").is_err());
    assert!(check_field_name("é").is_err());
    assert!(check_field_name(&"a".repeat(1025)).is_err());
}

/// The direct decoder agrees with the two-step one on every line it accepts,
/// and leaves to it everything else.
#[test]
fn direct_decode_agrees_with_the_two_step_decode() {
    use crate::engine::db::same_value;
    let lines: &[&str] = &[
        r#"{"a":5,"b":5.0,"c":-0,"d":-0.0,"e":9223372036854775807,"f":9223372036854775808}"#,
        r#"{"g":-9223372036854775808,"h":-9223372036854775809,"i":1e308,"j":1.7976931348623157e308}"#,
        r#"{"k":"\u0000\ud83d\ude00","l":[],"m":{},"n":[[1,[2.5]],{"x":null}],"o":true,"p":false}"#,
        r#"{"dup":1,"dup":2.5}"#,
        r#"{"bytes":{"$bytes":"AAE="},"nan":{"$float":"AAAAAAAA+H8="}}"#,
        r#"{"$bytes":"AAE="}"#,
        r#"{"a":{"$bad":1}}"#,
        r#"{"bad key é":1}"#,
        r#"{"x":1}   "#,
        r#"[1,2]"#,
        r#"{"x":1} tail"#,
        r#"{"x":1e400}"#,
        r#"{"x":0.1,"y":0.30000000000000004,"z":123456789012345680000.0}"#,
    ];
    for format in [TableFormat::Uniform, TableFormat::Missing] {
        for line in lines {
            let slow = parse_json_line(line.as_bytes())
                .ok()
                .and_then(|j| decode_document(&j, &format).ok());
            match crate::value::decode_direct(line.as_bytes(), &format) {
                Some(fast) => {
                    let slow =
                        slow.unwrap_or_else(|| panic!("{line}: only the fast path accepts it"));
                    assert!(same_value(&fast, &slow), "{line}: {fast:?} vs {slow:?}");
                }
                None => {
                    // decode_line still gives the two-step result.
                    let via = crate::value::decode_line(line.as_bytes(), &format).ok();
                    assert_eq!(via.is_some(), slow.is_some(), "{line}");
                }
            }
        }
    }
}

/// The same agreement on every row of a generated VideoAI snapshot.
#[test]
fn direct_decode_agrees_on_a_generated_snapshot() {
    use crate::engine::db::same_value;
    let (_dir, path) = crate::generate::test_snapshot(3, 300);
    let snap = crate::snapshot::Snapshot::open(&path).unwrap();
    let mut rows = 0;
    for comp in snap.components.values() {
        for table in comp.tables.values() {
            let format = snap.table_format(table).unwrap();
            let data = snap.archive.read_all(table.documents.unwrap()).unwrap();
            for line in data.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                let slow = decode_document(&parse_json_line(line).unwrap(), &format).unwrap();
                if let Some(fast) = crate::value::decode_direct(line, &format) {
                    assert!(same_value(&fast, &slow));
                    rows += 1;
                }
                let Value::Object(all) = &slow else {
                    unreachable!("rows are objects")
                };
                for names in [
                    &["_id"][..],
                    &["parameters", "videoId"],
                    &["status", "title"],
                ] {
                    let some =
                        crate::value::decode_fields_of_valid_json(line, &format, names).unwrap();
                    let mut want = all.clone();
                    want.retain(|k, _| names.contains(&k.as_str()));
                    assert!(same_value(&Value::Object(some), &Value::Object(want)));
                }
            }
        }
    }
    assert!(rows > 1000, "{rows}");
}

/// On valid JSON, the scanner's partial decode gives exactly what the
/// parser's gives: values, errors, duplicates, escapes, spaces.
#[test]
fn decode_fields_of_valid_json_agrees_with_decode_fields() {
    let lines: &[&str] = &[
        r#"{"_id":"x","a":5,"b":{"$bytes":"AAE="},"c":[1,{"d":2.5}],"e\u0041":"s","z":null}"#,
        r#"{"a":{"nested":{"$float":"AAAAAAAA+H8="}},"b":1.0}"#,
        r#"{"s":"a \"}] quote","a":[{"x":"]}"},[["\\"]]],"b":-1.5e3,"eA":true}"#,
        r#"  { "a" : 1 , "skip" : { "k" : [ 1 , 2 ] } , "b" : "x" }  "#,
        r#"{"a":1,"a":2,"b":false}"#,
        r#"{"a":{"$bad":1},"b":2}"#,
        r#"{"skip":{"$bad":1},"b":2}"#,
        r#"{"$top":1,"a":2}"#,
        r#"{}"#,
        r#"{"a":"é\u00e9","b":12345678901234567890,"c":1e400}"#,
        r#"{"$bytes":"AAE="}"#,
        r#"[1]"#,
        r#""text""#,
    ];
    let names = ["a", "b", "eA", "missing"];
    for format in [TableFormat::Uniform, TableFormat::Missing] {
        for line in lines {
            if serde_json::from_str::<serde::de::IgnoredAny>(line).is_err() {
                continue; // not valid JSON: outside the scanner's contract
            }
            let slow = crate::value::decode_fields(line.as_bytes(), &format, &names);
            let fast = crate::value::decode_fields_of_valid_json(line.as_bytes(), &format, &names);
            match (slow, fast) {
                (Ok(a), Ok(b)) => {
                    let (a, b) = (Value::Object(a), Value::Object(b));
                    assert!(
                        crate::engine::db::same_value(&a, &b),
                        "{line}: {a:?} vs {b:?}"
                    );
                }
                (Err(a), Err(b)) => assert_eq!(a, b, "{line}"),
                (a, b) => panic!("{line}: {a:?} vs {b:?}"),
            }
        }
    }
}

/// Decoding a few fields gives what a full decode gives for them.
#[test]
fn decode_fields_agrees_with_a_full_decode() {
    let lines: &[&str] = &[
        r#"{"_id":"x","a":5,"b":{"$bytes":"AAE="},"c":[1,{"d":2.5}],"e\u0041":"s","z":null}"#,
        r#"{"a":{"nested":{"$float":"AAAAAAAA+H8="}},"b":1.0}"#,
        r#"{"$bytes":"AAE="}"#,
        r#"{"a":1} trailing"#,
        r#"[1]"#,
    ];
    let names = ["a", "b", "eA", "missing"];
    for format in [TableFormat::Uniform, TableFormat::Missing] {
        for line in lines {
            let full = crate::value::decode_line(line.as_bytes(), &format);
            let some = crate::value::decode_fields(line.as_bytes(), &format, &names);
            match full {
                Ok(Value::Object(mut all)) => {
                    all.retain(|k, _| names.contains(&k.as_str()));
                    let (a, b) = (Value::Object(some.unwrap()), Value::Object(all));
                    assert!(
                        crate::engine::db::same_value(&a, &b),
                        "{line}: {a:?} vs {b:?}"
                    );
                }
                _ => assert!(some.is_err(), "{line}: only the partial decode accepts it"),
            }
        }
    }
}

/// Input nested thousands deep is refused with a message, never by
/// overflowing the stack: shapes by the shape parser's bound, rows by the
/// JSON parser's (128, as the importer's).
#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    for n in [129, 5_000, 100_000] {
        let arrays = format!("{}int64{}", "array<".repeat(n), ">".repeat(n));
        let err = Shape::parse(&arrays).unwrap_err();
        assert!(err.contains("nests deeper than 128"), "{err}");
        let objects = format!("{}null{}", "{\"a\": ".repeat(n), "}".repeat(n));
        assert!(Shape::parse(&objects).unwrap_err().contains("nests deeper"));
        let line = format!("{{\"a\":{}{}}}", "[".repeat(n), "]".repeat(n));
        let err = super::read_row(line.as_bytes(), 1, &TableFormat::Uniform).unwrap_err();
        assert!(err.0.contains("recursion limit"), "{}", err.0);
    }
    let fine = format!("{}int64{}", "array<".repeat(100), ">".repeat(100));
    assert!(Shape::parse(&fine).is_ok());
}
