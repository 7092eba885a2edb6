//! A deliberately small template language for `arch-templates/generic/`: `{{name}}` is
//! replaced by a variable, and lines `{{#if feature}}` / `{{#if !feature}}` ... `{{/if}}`
//! keep or drop what they enclose. An unknown variable is an error, so a typo in a
//! template cannot leak into a kernel tree.

use std::collections::BTreeMap;

pub fn render(
    text: &str,
    vars: &BTreeMap<String, String>,
    features: &[String],
) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut keep: Vec<bool> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if let Some(cond) = t.strip_prefix("{{#if ").and_then(|r| r.strip_suffix("}}")) {
            keep.push(super::data::when_holds(Some(cond.trim()), features));
            continue;
        }
        if t == "{{/if}}" {
            if keep.pop().is_none() {
                return Err(format!("line {}: {{{{/if}}}} without {{{{#if}}}}", i + 1));
            }
            continue;
        }
        if keep.iter().any(|k| !k) {
            continue;
        }
        out.push_str(&substitute(line, vars).map_err(|e| format!("line {}: {e}", i + 1))?);
        out.push('\n');
    }
    if !keep.is_empty() {
        return Err("unclosed {{#if}}".into());
    }
    Ok(out)
}

fn substitute(line: &str, vars: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or("unclosed {{")?;
        let name = after[..end].trim();
        let value = vars
            .get(name)
            .ok_or_else(|| format!("unknown template variable `{name}`"))?;
        out.push_str(value);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitutes_and_selects_sections() {
        let mut vars = BTreeMap::new();
        vars.insert("arch".to_string(), "riscv".to_string());
        let feats = vec!["modern".to_string()];
        let text =
            "a {{arch}} b\n{{#if modern}}\nnew\n{{/if}}\n{{#if !modern}}\nold\n{{/if}}\nend\n";
        assert_eq!(
            render(text, &vars, &feats).unwrap(),
            "a riscv b\nnew\nend\n"
        );
        assert!(render("{{nope}}\n", &vars, &feats)
            .unwrap_err()
            .contains("nope"));
        assert!(render("{{#if x}}\n", &vars, &feats).is_err());
    }
}
