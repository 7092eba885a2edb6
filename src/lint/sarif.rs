//! SARIF 2.1.0 output, shaped for code-scanning upload: every rule in
//! `tool.driver.rules`, call chains as `codeFlows`, line-independent `partialFingerprints`,
//! and suppressions (`inSource` from comments, `external` from the baseline).

use serde_json::{json, Value};

use super::{Finding, LintReport, Severity, SuppressionKind};

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

fn location(file: &str, line: u32, col: Option<(u32, u32)>, message: Option<String>) -> Value {
    let mut region = json!({ "startLine": line.max(1) });
    if let Some((s, e)) = col {
        region["startColumn"] = json!(s.max(1));
        region["endColumn"] = json!(e.max(s + 1));
    }
    let mut loc = json!({
        "physicalLocation": {
            "artifactLocation": { "uri": uri(file), "uriBaseId": "SRCROOT" },
            "region": region,
        }
    });
    if let Some(m) = message {
        loc["message"] = json!({ "text": m });
    }
    loc
}

/// Relative path as a URI reference (percent-encode the few characters that need it).
fn uri(path: &str) -> String {
    let mut s = String::new();
    for c in path.chars() {
        match c {
            ' ' => s.push_str("%20"),
            '#' => s.push_str("%23"),
            '%' => s.push_str("%25"),
            '?' => s.push_str("%3F"),
            '\\' => s.push('/'),
            c => s.push(c),
        }
    }
    s
}

/// What the last thread-flow step (the finding's own location) shows.
fn last_step(f: &Finding) -> String {
    match &f.slot {
        Some(s) => format!("{}() stored in ->{} (in-band only)", s.function, s.member),
        None => format!("{}() (in-band only)", f.service),
    }
}

fn result(f: &Finding, rule_index: usize) -> Value {
    let steps: Vec<Value> = f
        .chain
        .iter()
        .map(|s| {
            json!({
                "location": location(&s.file, s.start_line, None, Some(format!("{}()", s.function))),
                "nestingLevel": 0,
            })
        })
        .chain(std::iter::once(json!({
            "location": location(&f.file, f.line, Some((f.column, f.end_column)), Some(last_step(f))),
            "nestingLevel": 0,
        })))
        .collect();
    let mut r = json!({
        "ruleId": f.rule,
        "ruleIndex": rule_index,
        "level": level(f.severity),
        "message": { "text": format!("{}. Call chain: {}. Use {}.", f.message, f.chain_text, f.replacement) },
        "locations": [location(&f.file, f.line, Some((f.column, f.end_column)), None)],
        "codeFlows": [{ "threadFlows": [{ "locations": steps }] }],
        "partialFingerprints": { "dovetailPortChain/v1": f.fingerprint },
        "properties": { "entryPoint": f.entry.function, "entryKind": f.entry.kind, "callChain": f.chain_text },
    });
    if let Some(s) = &f.suppressed {
        let kind = match s.kind {
            SuppressionKind::InSource => "inSource",
            SuppressionKind::External => "external",
        };
        r["suppressions"] = json!([{ "kind": kind, "justification": s.justification }]);
    }
    r
}

pub fn to_sarif(report: &LintReport) -> Value {
    let rules: Vec<Value> = report
        .rules
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "name": r.id,
                "shortDescription": { "text": format!("{} from oob context", r.id) },
                "fullDescription": { "text": r.rationale },
                "help": { "text": format!("Use {}", r.replacement) },
                "defaultConfiguration": { "level": level(r.severity) },
            })
        })
        .collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let ix = report
                .rules
                .iter()
                .position(|r| r.id == f.rule)
                .unwrap_or(0);
            result(f, ix)
        })
        .collect();
    let mut root_uri = format!("file://{}", uri(&report.root));
    if !root_uri.ends_with('/') {
        root_uri.push('/');
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "dovetail-port lint",
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://evlproject.org/",
                "rules": rules,
            }},
            "originalUriBaseIds": { "SRCROOT": { "uri": root_uri } },
            "columnKind": "unicodeCodePoints",
            "results": results,
            "properties": {
                "filesScanned": report.stats.files_scanned,
                "filesParsed": report.stats.files_parsed,
                "functionsParsed": report.stats.functions_parsed,
                "functionsWithParseErrors": report.stats.functions_with_errors,
            },
        }],
    })
}
