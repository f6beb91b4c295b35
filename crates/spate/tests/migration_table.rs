//! `docs/migrating-from-spark.md` names only what exists: every spate name in its table is
//! called in the guide's last Rust block, which `cargo test` compiles as a doctest of this
//! crate (`spate::MigratingFromSpark`); every configuration key it names is declared.

use std::collections::BTreeSet;

fn guide() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/migrating-from-spark.md"
    );
    std::fs::read_to_string(path).expect("docs/migrating-from-spark.md")
}

/// The table rows (cells) between "## The table" and "### Absent".
fn rows(doc: &str) -> Vec<Vec<String>> {
    let start = doc.find("## The table").expect("the table section");
    let end = doc.find("### Absent").expect("the absent section");
    doc[start..end]
        .lines()
        .filter(|l| l.starts_with('|') && !l.starts_with("|---") && !l.starts_with("| Spark"))
        .map(|l| {
            l.trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect()
}

/// The text inside backticks.
fn code_spans(cell: &str) -> Vec<String> {
    cell.split('`')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, s)| s.to_string())
        .collect()
}

fn snake(camel: &str) -> String {
    let mut out = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn is_ident(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && s.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
}

/// The method and function names a code span calls or names: `a.b(x).c(y)` gives `b`
/// and `c`; `T::f(x)` gives `f`; a bare `snake_name` gives itself. Types, constants and
/// Spark-side receivers (`ssc`, `sc`, `ctx`, `handle`, `spec`, `state`) are left out.
fn names_in(span: &str) -> Vec<String> {
    const RECEIVERS: &[&str] = &["ssc", "sc", "ctx", "handle", "spec", "state", "impl"];
    let mut out = Vec::new();
    if is_ident(span) {
        if span
            .chars()
            .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit())
        {
            out.push(span.to_string());
        }
        return out;
    }
    let bytes: Vec<char> = span.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_alphabetic() || bytes[i] == '_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == '_') {
                i += 1;
            }
            let word: String = bytes[start..i].iter().collect();
            let called = bytes.get(i) == Some(&'(');
            let after_dot_or_path =
                start > 0 && (bytes[start - 1] == '.' || bytes[start - 1] == ':');
            let lower = word.chars().next().is_some_and(|c| c.is_ascii_lowercase());
            if lower && (called || after_dot_or_path) && !RECEIVERS.contains(&word.as_str()) {
                out.push(word);
            }
        } else {
            i += 1;
        }
    }
    out
}

/// The spate names of the table: its spate column, or the Spark column in snake_case where
/// the spate column says "same".
fn table_names(doc: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut names = BTreeSet::new();
    let mut keys = BTreeSet::new();
    for row in rows(doc) {
        assert!(row.len() >= 2, "a row without a spate column: {row:?}");
        let (spark, spate) = (&row[0], &row[1]);
        for span in code_spans(spate) {
            if span.starts_with("spate.") {
                keys.insert(span);
                continue;
            }
            names.extend(names_in(&span));
        }
        if spate.starts_with("same") {
            for span in code_spans(spark) {
                let bare = span.split('(').next().unwrap_or_default();
                let bare = bare.rsplit('.').next().unwrap_or_default();
                if is_ident(bare) {
                    names.insert(snake(bare));
                }
            }
        }
    }
    (names, keys)
}

/// The guide's last Rust block: the compiled list.
fn compiled_block(doc: &str) -> String {
    let section = doc
        .find("## Every name in the table, compiled")
        .expect("the compiled section");
    let rest = &doc[section..];
    let open = rest.find("```rust").expect("a rust block");
    let body = &rest[open..];
    let body = &body[body.find('\n').expect("fence line") + 1..];
    body[..body.find("```").expect("closing fence")].to_string()
}

#[test]
fn every_name_in_the_table_is_called_in_the_compiled_block() {
    let doc = guide();
    let (names, _) = table_names(&doc);
    assert!(names.len() > 150, "the table names {} methods", names.len());
    let code = compiled_block(&doc);
    let missing: Vec<&String> = names
        .iter()
        .filter(|n| {
            let n = n.as_str();
            !(code.contains(&format!(".{n}("))
                || code.contains(&format!("::{n}("))
                || code.contains(&format!(".{n}::<"))
                || code.contains(&format!("::{n}::<"))
                || code.contains(&format!(" {n}("))
                || code.contains(&format!("({n}("))
                || code.contains(&format!("fn {n}("))
                || code.contains(&format!(".{n};"))
                || code.contains(&format!(".{n})")))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "named in the migration table but not called in its compiled block: {missing:?}"
    );
}

#[test]
fn every_configuration_key_in_the_table_is_declared() {
    let doc = guide();
    let (_, keys) = table_names(&doc);
    assert!(keys.len() >= 6, "{keys:?}");
    let declared: BTreeSet<&str> = spate_core::conf::KEYS.iter().map(|k| k.key).collect();
    for k in &keys {
        assert!(
            declared.contains(k.as_str()),
            "{k} is not a spate configuration key"
        );
    }
}

#[test]
fn the_checker_catches_a_name_that_does_not_exist() {
    // The check itself: a table row naming a method the block does not call is reported.
    let doc = guide().replace(
        "| `ssc.getState()` | `ssc.state()` | a `StreamingContextState` |",
        "| `ssc.getState()` | `ssc.no_such_method()` | |",
    );
    let (names, _) = table_names(&doc);
    assert!(names.contains("no_such_method"));
    assert!(!compiled_block(&doc).contains("no_such_method("));
}
