//! Schemas loaded from real `schema.ts` text through the JavaScript engine,
//! and documents checked against them, on literal documents.

use super::*;
use crate::id::DocumentId;
use crate::value::{Map, TableFormat, Value, decode_document, parse_json_line};

const USERS: u32 = 10001;
const POSTS: u32 = 10002;

fn id(table: u32, n: u8) -> String {
    DocumentId::new(table, [n; 16]).encode()
}

fn names() -> TableNames {
    TableNames(
        [
            (USERS, "users".to_owned()),
            (POSTS, "posts".to_owned()),
            (540, "_storage".to_owned()),
        ]
        .into_iter()
        .collect(),
    )
}

fn load(schema_ts: &str) -> std::result::Result<Schema, String> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("schema.ts"), schema_ts).unwrap();
    Schema::load(dir.path()).map_err(|e| e.0)
}

/// A document from uniform-format JSON (`5` is an Int64, `5.0` a Float64).
fn doc(json: &str) -> Map {
    match decode_document(
        &parse_json_line(json.as_bytes()).unwrap(),
        &TableFormat::Uniform,
    )
    .unwrap()
    {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

/// The mismatches of `fields` (a JSON object body) in table `t`, as
/// `path: message` lines; asserts `accepts` agrees with them.
fn check(schema: &Schema, t: &str, fields: &str) -> Vec<String> {
    let sep = if fields.trim().is_empty() { "" } else { "," };
    let d = doc(&format!(
        r#"{{"_id":"{}","_creationTime":1700000000000.5{sep}{fields}}}"#,
        id(USERS, 1)
    ));
    let table = &schema.tables[t];
    let out: Vec<String> = table
        .document
        .explain(&d, &names())
        .into_iter()
        .map(|m| format!("{}: {}", m.path, m.message))
        .collect();
    assert_eq!(
        table.document.accepts(&d, &names()),
        out.is_empty(),
        "{out:?}"
    );
    // Counting without text gives the same number.
    assert_eq!(table.document.count_mismatches(&d, &names()), out.len());
    out
}

const KINDS: &str = r#"
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";
export default defineSchema({
  users: defineTable({
    s: v.string(),
    n: v.number(),
    f: v.float64(),
    i: v.int64(),
    b: v.boolean(),
    z: v.null(),
    y: v.bytes(),
    p: v.id("posts"),
    file: v.optional(v.id("_storage")),
    l: v.literal("on"),
    ln: v.literal(5),
    li: v.literal(5n),
    a: v.array(v.number()),
    o: v.object({ x: v.number(), deep: v.optional(v.object({ list: v.array(v.object({ c: v.string() })) })) }),
    r: v.record(v.string(), v.int64()),
    u: v.union(v.string(), v.null()),
    any: v.any(),
    opt: v.optional(v.string()),
  }),
});
"#;

fn good() -> String {
    format!(
        r#""s":"x","n":1.5,"f":2.0,"i":3,"b":true,"z":null,"y":{{"$bytes":"AQI="}},"p":"{}","l":"on","ln":5.0,"li":5,"a":[1.0,2.0],"o":{{"x":1.0}},"r":{{"k":1}},"u":null,"any":[1,"two"]"#,
        id(POSTS, 2)
    )
}

/// `good()` with one field's value replaced (or removed, with `None`).
fn with(field: &str, value: Option<&str>) -> String {
    let d = doc(&format!("{{{}}}", good()));
    let mut parts = Vec::new();
    for (k, v) in d.iter() {
        if k == field {
            continue;
        }
        parts.push(format!(
            "{}:{}",
            serde_json::Value::String(k.clone()),
            v.to_json()
        ));
    }
    if let Some(v) = value {
        parts.push(format!("{}:{v}", serde_json::Value::String(field.into())));
    }
    parts.join(",")
}

#[test]
fn every_validator_kind_takes_its_own_values() {
    let s = load(KINDS).unwrap();
    assert!(s.validation);
    assert_eq!(check(&s, "users", &good()), Vec::<String>::new());
    // Optional fields present and right.
    let more = format!(r#"{},"opt":"here","file":"{}""#, good(), id(540, 3));
    assert_eq!(check(&s, "users", &more), Vec::<String>::new());
}

#[test]
fn each_kind_rejects_what_it_does_not_take() {
    let s = load(KINDS).unwrap();
    let one = |field: &str, value: &str| check(&s, "users", &with(field, Some(value)));
    assert_eq!(
        one("s", "1.0"),
        [".s: expected v.string(), found the Float64 1"]
    );
    // An Int64 is not a number, a Float64 is not an Int64.
    assert_eq!(
        one("n", "1"),
        [".n: expected v.float64(), found the Int64 1n"]
    );
    assert_eq!(
        one("i", "3.0"),
        [".i: expected v.int64(), found the Float64 3"]
    );
    assert_eq!(
        one("b", "\"true\""),
        [".b: expected v.boolean(), found the string \"true\""]
    );
    assert_eq!(
        one("z", "false"),
        [".z: expected v.null(), found the boolean false"]
    );
    assert_eq!(
        one("y", "\"AQI=\""),
        [".y: expected v.bytes(), found the string \"AQI=\""]
    );
    // Literals compare as Convex values.
    assert_eq!(
        one("l", "\"off\""),
        [".l: expected v.literal(\"on\"), found the string \"off\""]
    );
    assert_eq!(
        one("ln", "5"),
        [".ln: expected v.literal(5), found the Int64 5n"]
    );
    assert_eq!(
        one("li", "5.0"),
        [".li: expected v.literal(5n), found the Float64 5"]
    );
    assert_eq!(
        one("a", "[1.0,\"2\"]"),
        [".a[1]: expected v.float64(), found the string \"2\""]
    );
    assert_eq!(
        one("a", "{\"0\":1.0}"),
        [".a: expected v.array(v.float64()), found the object {0: 1}"]
    );
    assert_eq!(
        one("u", "3.0"),
        [".u: expected v.union(v.string(), v.null()), found the Float64 3"]
    );
    // v.any() takes anything.
    assert!(one("any", "{\"$bytes\":\"AQI=\"}").is_empty());
}

#[test]
fn objects_name_missing_and_extra_fields_at_any_depth() {
    let s = load(KINDS).unwrap();
    let missing = check(&s, "users", &with("s", None));
    assert_eq!(
        missing,
        [
            ": missing the required field `s` (v.string(); wrap it in v.optional(...) if it may be absent)"
        ]
    );
    let extra = check(&s, "users", &format!(r#"{},"title":"Surf dog""#, good()));
    assert_eq!(
        extra,
        [
            ": extra field `title` that the validator does not have (it holds the string \"Surf dog\")"
        ]
    );
    let deep = check(
        &s,
        "users",
        &with(
            "o",
            Some(r#"{"x":1.0,"deep":{"list":[{"c":"ok"},{"c":7.0},{"d":"x"}]}}"#),
        ),
    );
    assert_eq!(
        deep,
        [
            ".o.deep.list[1].c: expected v.string(), found the Float64 7",
            ".o.deep.list[2]: missing the required field `c` (v.string(); wrap it in v.optional(...) if it may be absent)",
            ".o.deep.list[2]: extra field `d` that the validator does not have (it holds the string \"x\")",
        ]
    );
    // Several problems in one document are all listed.
    let many = check(
        &s,
        "users",
        &format!(r#"{},"extra1":1,"extra2":2"#, with("n", None)),
    );
    assert_eq!(many.len(), 3, "{many:?}");
}

#[test]
fn ids_must_point_to_the_named_table() {
    let s = load(KINDS).unwrap();
    let one = |field: &str, value: String| check(&s, "users", &with(field, Some(&value)));
    let user = id(USERS, 9);
    assert_eq!(
        one("p", format!("\"{user}\"")),
        [format!(
            ".p: expected v.id(\"posts\"), found an ID of table users (\"{user}\")"
        )]
    );
    let file = id(540, 9);
    assert_eq!(
        one("p", format!("\"{file}\"")),
        [format!(
            ".p: expected v.id(\"posts\"), found an ID of the system table _storage (\"{file}\")"
        )]
    );
    let stranger = id(10077, 9);
    assert_eq!(
        one("p", format!("\"{stranger}\"")),
        [format!(
            ".p: expected v.id(\"posts\"), found an ID of table number 10077, which no table of the snapshot has (\"{stranger}\")"
        )]
    );
    assert_eq!(
        one("p", "\"not-an-id\"".into()),
        [".p: expected v.id(\"posts\"), found the string \"not-an-id\" (not an ID)"]
    );
}

#[test]
fn records_check_every_key_and_value() {
    let s = load(
        r#"import { defineSchema, defineTable } from "convex/server";
        import { v } from "convex/values";
        export default defineSchema({ users: defineTable({
          scores: v.record(v.id("posts"), v.number()),
          tags: v.record(v.string(), v.array(v.string())),
        }) });"#,
    )
    .unwrap();
    let p = id(POSTS, 4);
    let ok = format!(r#""scores":{{"{p}":1.0}},"tags":{{"a":["x"],"b":[]}}"#);
    assert!(check(&s, "users", &ok).is_empty());
    let bad = format!(r#""scores":{{"{p}":1,"nope":2.0}},"tags":{{"a":["x",3.0]}}"#);
    assert_eq!(
        check(&s, "users", &bad),
        [
            format!(".scores.values(): expected v.float64(), found the Int64 1n (under the record key \"{p}\")"),
            ".scores.keys(): expected v.id(\"posts\"), found the string \"nope\" (not an ID) (the record key \"nope\")".to_owned(),
            ".tags.values()[1]: expected v.string(), found the Float64 3 (under the record key \"a\")".to_owned(),
        ]
    );
}

#[test]
fn float_literals_compare_by_bits() {
    let s = load(
        r#"import { defineSchema, defineTable } from "convex/server";
        import { v } from "convex/values";
        export default defineSchema({ users: defineTable({
          zero: v.literal(0), negZero: v.optional(v.literal(-0)), big: v.optional(v.literal(-9223372036854775808n)),
        }) });"#,
    )
    .unwrap();
    assert!(check(&s, "users", r#""zero":0.0"#).is_empty());
    assert_eq!(
        check(&s, "users", r#""zero":-0.0"#),
        [".zero: expected v.literal(0), found the Float64 -0"]
    );
    assert!(check(&s, "users", r#""zero":0.0,"negZero":-0.0"#).is_empty());
    assert!(check(&s, "users", r#""zero":0.0,"big":-9223372036854775808"#).is_empty());
}

#[test]
fn helpers_real_schemas_use() {
    // Validators shared through consts, a union of objects, a spread of an
    // object validator's fields, a table defined with a validator.
    let s = load(
        r#"import { defineSchema, defineTable } from "convex/server";
        import { v } from "convex/values";
        const status = v.union(v.literal("draft"), v.literal("live"));
        const base = v.object({ title: v.string(), status });
        const media = v.union(
          v.object({ kind: v.literal("image"), url: v.string() }),
          v.object({ kind: v.literal("video"), url: v.string(), seconds: v.number() }),
        );
        export default defineSchema({
          posts: defineTable({ ...base.fields, media: v.optional(media), author: v.id("users") })
            .index("by_author", ["author"]).index("by_status", ["status", "title"])
            .searchIndex("search_title", { searchField: "title", filterFields: ["status"] }),
          users: defineTable(v.union(
            v.object({ role: v.literal("admin"), name: v.string() }),
            v.object({ role: v.literal("guest") }),
          )),
        });"#,
    )
    .unwrap();
    let u = id(USERS, 5);
    assert!(
        check(
            &s,
            "posts",
            &format!(r#""title":"t","status":"live","author":"{u}""#)
        )
        .is_empty()
    );
    assert!(
        check(
            &s,
            "posts",
            &format!(r#""title":"t","status":"draft","author":"{u}","media":{{"kind":"video","url":"u","seconds":3.0}}"#)
        )
        .is_empty()
    );
    assert_eq!(
        check(
            &s,
            "posts",
            &format!(
                r#""title":"t","status":"draft","author":"{u}","media":{{"kind":"image","url":"u","seconds":3.0}}"#
            )
        ),
        // (a long validator is clipped)
        [
            ".media: expected v.union(v.object({kind: v.literal(\"image\"), url: v.string()}), v.object({kind: v.literal(\"video\"), seconds: v.float64(),…, found the object {kind: \"image\", seconds: 3, url: \"u\"}"
        ]
    );
    assert!(check(&s, "users", r#""role":"guest""#).is_empty());
    assert!(check(&s, "users", r#""role":"admin","name":"Ada""#).is_empty());
    let none = check(&s, "users", r#""role":"admin""#);
    assert_eq!(
        none,
        [
            ": the document matches none of the table's 2 object validators (nearest, member 1: missing the required field `name` (v.string(); wrap it in v.optional(...) if it may be absent))"
        ]
    );
    let idx: Vec<_> = s.tables["posts"]
        .indexes
        .iter()
        .map(|i| (i.name.as_str(), i.fields.join(",")))
        .collect();
    assert_eq!(
        idx,
        [
            ("by_author", "author".into()),
            ("by_status", "status,title".into()),
            ("search_title", "title,status".into())
        ]
    );
}

#[test]
fn what_a_deployment_would_refuse_to_push_is_an_error() {
    let schema = |tables: &str| {
        format!(
            r#"import {{ defineSchema, defineTable }} from "convex/server";
            import {{ v }} from "convex/values";
            export default defineSchema({{ {tables} }});"#
        )
    };
    let err = |tables: &str| load(&schema(tables)).unwrap_err();
    assert!(
        err("t: defineTable({ r: v.record(v.number(), v.string()) })")
            .contains("Records can only have string keys")
    );
    assert!(
        err("t: defineTable({ r: v.record(v.literal(\"a\"), v.string()) })")
            .contains("Records cannot have string literal keys")
    );
    assert!(
        err("t: defineTable({ r: v.record(v.string(), v.optional(v.string())) })")
            .contains("Record validator cannot have optional values")
    );
    assert!(
        err("t: defineTable(v.string())")
            .contains("must be an object, a union of objects, or `v.any()`")
    );
    assert!(
        err("t: defineTable({ a: v.string() }).index(\"by_b\", [\"b\"])").contains(
            "the index \"by_b\" is invalid because it references the field b that does not exist"
        )
    );
    assert!(err("_t: defineTable({})").contains("reserved"));
    // With validation off the deployment takes an index on any field.
    let off = load(
        r#"import { defineSchema, defineTable } from "convex/server";
        import { v } from "convex/values";
        export default defineSchema({ t: defineTable({ a: v.string() }).index("by_b", ["b"]) }, { schemaValidation: false });"#
    )
    .unwrap();
    assert!(!off.validation);
    // No default export, or one that is not a schema.
    assert!(
        load("export const x = 1;")
            .unwrap_err()
            .contains("Schema file missing default export")
    );
    assert!(
        load("export default { tables: 1 };")
            .unwrap_err()
            .contains("isn't a Convex schema")
    );
    // A syntax error names the place.
    assert!(
        load("export default defineSchema({")
            .unwrap_err()
            .contains("schema.ts")
    );
}

#[test]
fn system_fields_in_the_validator_are_dropped_as_the_backend_does() {
    let s = load(
        r#"import { defineSchema, defineTable } from "convex/server";
        import { v } from "convex/values";
        export default defineSchema({ users: defineTable({ _id: v.string(), name: v.string() }) });"#,
    )
    .unwrap();
    assert!(check(&s, "users", r#""name":"a""#).is_empty());
}

#[test]
fn staged_validators_are_kept_apart() {
    let s = load(
        r#"import { defineSchema, defineTable } from "convex/server";
        import { v } from "convex/values";
        export default defineSchema({ users: defineTable({ name: v.string(), age: v.optional(v.number()) }).staged({ age: v.number() }) });"#,
    )
    .unwrap();
    let t = &s.tables["users"];
    let d = doc(&format!(
        r#"{{"_id":"{}","_creationTime":1.0,"name":"a"}}"#,
        id(USERS, 1)
    ));
    assert!(t.document.accepts(&d, &names()));
    assert!(!t.staged.as_ref().unwrap().accepts(&d, &names()));
}

/// The draft of a table accepts every document it was drawn from, whatever
/// mix of types its fields hold.
#[test]
fn a_draft_accepts_the_documents_it_came_from() {
    let rows = [
        format!(
            r#""a":1,"b":"x","c":{{"d":[1.0,"y"]}},"e":"{}","f":{{"not-an-identifier":1.0}}"#,
            id(POSTS, 1)
        ),
        format!(
            r#""a":2.5,"c":{{"d":[],"g":null}},"e":"{}","h":{{"$bytes":"AQI="}},"i":[]"#,
            id(POSTS, 2)
        ),
        format!(
            r#""a":null,"b":true,"c":{{}},"e":"{}","i":[[1],[2.0]]"#,
            id(USERS, 3)
        ),
        r#""a":[{"x":1},{"y":"z"}]"#.to_owned(),
    ];
    let mut inferred = Inferred::default();
    let docs: Vec<Map> = rows
        .iter()
        .map(|r| {
            doc(&format!(
                r#"{{"_id":"{}","_creationTime":1.0,{r}}}"#,
                id(USERS, 9)
            ))
        })
        .collect();
    for d in &docs {
        inferred.add_document(d);
    }
    let text = draft_schema("test", [("users", &inferred)], &names());
    let s = load(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    for d in &docs {
        let m = s.tables["users"].document.explain(d, &names());
        assert!(m.is_empty(), "{m:?}\n{text}");
    }
    // An ID field of one table is drafted as v.id, a mixed one as a string.
    assert!(text.contains("e: v.optional(v.string())"), "{text}");
    let one_table = Inferred::default();
    let mut t = one_table;
    t.add_document(&doc(&format!(r#"{{"p":"{}"}}"#, id(POSTS, 1))));
    t.add_document(&doc(&format!(r#"{{"p":"{}"}}"#, id(POSTS, 2))));
    let text = draft_schema("test", [("users", &t)], &names());
    assert!(text.contains("p: v.id(\"posts\"),"), "{text}");
}

#[test]
fn strict_table_name_types_changes_nothing_checked() {
    let s = load(
        r#"import { defineSchema, defineTable } from "convex/server";
        import { v } from "convex/values";
        export default defineSchema({ users: defineTable({ name: v.string() }) }, { strictTableNameTypes: false });"#,
    )
    .unwrap();
    assert!(s.validation);
    assert!(check(&s, "users", r#""name":"a""#).is_empty());
    assert_eq!(check(&s, "users", r#""name":1.0"#).len(), 1);
}
