//! Printing results: a table for people, JSON for scripts.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::Table;
use serde_json::Value;

use crate::args::Output;

/// Prints `items` as a table of `columns` (header, JSON field), or as a JSON array.
pub fn list(output: Output, items: &[Value], columns: &[(&str, &str)]) {
    match output {
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(items).unwrap_or_default()
        ),
        Output::Table => println!("{}", table(items, columns)),
    }
}

/// `items` as a table of `columns` (header, JSON field).
pub fn table(items: &[Value], columns: &[(&str, &str)]) -> Table {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED);
    table.set_header(columns.iter().map(|(h, _)| *h));
    for item in items {
        table.add_row(columns.iter().map(|(_, f)| cell(item, f)));
    }
    table
}

/// Prints one object as a two-column table, or as JSON.
pub fn one(output: Output, item: &Value) {
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(item).unwrap_or_default()),
        Output::Table => {
            let mut table = Table::new();
            table.load_preset(UTF8_FULL_CONDENSED);
            if let Some(obj) = item.as_object() {
                for (k, v) in obj {
                    table.add_row(vec![k.clone(), text(v)]);
                }
            }
            println!("{table}");
        }
    }
}

/// Prints a short confirmation, or `{}`-style JSON.
pub fn done(output: Output, message: &str) {
    match output {
        Output::Json => println!("{}", serde_json::json!({ "result": message })),
        Output::Table => println!("{message}"),
    }
}

fn cell(item: &Value, path: &str) -> String {
    // Keys such as `@odata.type` contain a dot themselves.
    if let Some(v) = item.get(path) {
        return text(v);
    }
    let mut v = item;
    for part in path.split('.') {
        match v.get(part) {
            Some(next) => v = next,
            None => return String::new(),
        }
    }
    text(v)
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
