//! Hints a person can act on for the YAML mistakes people make in school files:
//! a tab, a value with ": " in it, a list item out of line, and a key that
//! slipped out of (or into) its block. Each says what to type and where,
//! with the line as it should read.

use serde_json::Value;

use super::SchoolConfig;

/// The hint for a YAML syntax error `message` at `line` and `column` (1-based)
/// of `text`.
pub(super) fn syntax(message: &str, text: &str, line: usize, column: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let source = *lines.get(line.checked_sub(1)?)?;
    let indent: String = source.chars().take_while(|c| c.is_whitespace()).collect();
    if indent.contains('\t') || message.contains("cannot start any token") && source.contains('\t')
    {
        let fixed = source.replace('\t', "  ");
        return Some(format!(
            "line {line} is indented with a tab; YAML indents with spaces only: \
             replace the tab with two spaces for each level, so it reads `{}`",
            fixed.trim_end()
        ));
    }
    if message.starts_with("mapping values are not allowed") {
        // At the line's own key: the line is indented under the one above, so
        // YAML reads it as more of that line's value.
        if source.find(':').map(|at| at + 1) == Some(column) {
            let (above, previous) = lines[..line - 1]
                .iter()
                .enumerate()
                .rev()
                .find(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))?;
            let column = previous.len() - previous.trim_start().len();
            return Some(format!(
                "line {line} is indented further than line {} above it, so it reads as more of \
                 that line's value: start it in column {}, so it reads `{}{}`",
                above + 1,
                column + 1,
                " ".repeat(column),
                source.trim()
            ));
        }
        let (key, value) = source.split_once(": ")?;
        let value = value.trim();
        return Some(format!(
            "a value with \": \" in it must be in quotes: write `{key}: \"{}\"`",
            value.replace('\\', "\\\\").replace('"', "\\\"")
        ));
    }
    if message.starts_with("did not find expected") && source.trim_start().starts_with("- ") {
        // The item above it in the same list: the nearest earlier "- " line.
        let (above, item) = lines[..line - 1]
            .iter()
            .enumerate()
            .rev()
            .take_while(|(_, l)| {
                l.trim().is_empty() || l.starts_with(' ') || l.trim_start().starts_with("- ")
            })
            .find(|(_, l)| l.trim_start().starts_with("- "))?;
        let column = item.len() - item.trim_start().len();
        return Some(format!(
            "this list item is not lined up with the one on line {}: start its `-` in column {}, \
             so it reads `{}{}`",
            above + 1,
            column + 1,
            " ".repeat(column),
            source.trim()
        ));
    }
    None
}

/// For "unknown field `key`" in the mapping at `parent` (a dotted path, ""
/// for the top level): where the key belongs when it is a key one level up
/// or down, looked for before any guess at a spelling.
pub(super) fn misplaced_key(key: &str, parent: &str) -> Option<String> {
    let schema = serde_json::to_value(schemars::schema_for!(SchoolConfig)).ok()?;
    let top = properties(&schema, &schema)?;
    if parent.is_empty() {
        // One level down: a section that has this key.
        let owners: Vec<&str> = top
            .iter()
            .filter(|(_, section)| {
                properties(&schema, section)
                    .is_some_and(|keys| keys.iter().any(|(k, _)| k.as_str() == key))
            })
            .map(|(name, _)| name.as_str())
            .collect();
        return match owners.as_slice() {
            [one] => Some(format!(
                "`{key}` belongs under `{one}:` — indent it by two spaces inside that block"
            )),
            [] => None,
            many => Some(format!(
                "`{key}` belongs under one of {}: indent it by two spaces inside that block",
                many.iter()
                    .map(|m| format!("`{m}:`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        };
    }
    // One level up: a top-level key indented into a block.
    let outer = parent.rsplit_once('.').map(|(p, _)| p).unwrap_or("");
    (outer.is_empty() && top.iter().any(|(k, _)| k.as_str() == key)).then(|| {
        format!(
            "`{key}` is not part of `{parent}:`; it is a key of its own: start it at the \
             beginning of the line, with no indentation"
        )
    })
}

/// The properties of an object schema (following a `$ref` into `$defs`, and
/// the first object of an `anyOf` for an optional section).
fn properties<'a>(root: &'a Value, schema: &'a Value) -> Option<Vec<(&'a String, &'a Value)>> {
    let schema = resolve(root, schema);
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        return Some(props.iter().collect());
    }
    schema
        .get("anyOf")
        .or_else(|| schema.get("oneOf"))
        .and_then(Value::as_array)?
        .iter()
        .find_map(|s| properties(root, s))
}

fn resolve<'a>(root: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => reference
            .strip_prefix("#/")
            .map(|path| path.split('/').try_fold(root, |at, part| at.get(part)))
            .and_then(|found| found)
            .unwrap_or(schema),
        None => schema,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outdented_key_is_sent_back_into_its_block() {
        let hint = misplaced_key("title", "").unwrap();
        assert!(
            hint.starts_with("`title` belongs under `headteacher:`"),
            "{hint}"
        );
    }

    #[test]
    fn a_top_level_key_indented_into_a_block_is_sent_out_again() {
        let hint = misplaced_key("ethos", "headteacher").unwrap();
        assert!(
            hint.contains("start it at the beginning of the line"),
            "{hint}"
        );
        assert_eq!(misplaced_key("nonsense", "headteacher"), None);
    }

    #[test]
    fn a_tab_a_colon_and_a_list_item_out_of_line_are_each_explained() {
        let tab = syntax(
            "found character that cannot start any token",
            "a:\n\tb: c\n",
            2,
            1,
        );
        assert!(tab.unwrap().ends_with("so it reads `  b: c`"));
        let colon = syntax(
            "mapping values are not allowed in this context",
            "x:\n  title: Head: Mrs Bonnin\n",
            2,
            14,
        );
        assert_eq!(
            colon.unwrap(),
            "a value with \": \" in it must be in quotes: write `  title: \"Head: Mrs Bonnin\"`"
        );
        let item = syntax(
            "did not find expected key",
            "list:\n  - one\n - two\n",
            3,
            2,
        )
        .unwrap();
        assert!(
            item.contains("line 2: start its `-` in column 3, so it reads `  - two`"),
            "{item}"
        );
        let deeper = syntax(
            "mapping values are not allowed in this context",
            "h:\n  name: A Head\n    title: Principal\n",
            3,
            10,
        )
        .unwrap();
        assert!(
            deeper.ends_with("start it in column 3, so it reads `  title: Principal`"),
            "{deeper}"
        );
    }
}
