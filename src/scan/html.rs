//! The scan as a self-contained HTML page (`ecr-arch-guard scan --html FILE`): the fleet's
//! platform coverage per repository, then every image, mismatches first. No external asset
//! (no script, stylesheet, font or image is fetched), every name escaped. Pure.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::image::platform::{self, Platform};
use crate::scan::{Report, Row, RowVerdict};

/// `&`, `<`, `>`, `"` and `'` as entities: text and attribute values are shown, never run.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str =
    "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem;color:#1b1f24}\
h1{font-size:1.5rem;margin:0 0 .25rem}h2{font-size:1.15rem;margin:2rem 0 .5rem}\
.meta{color:#57606a;margin:0 0 1rem}.cards{display:flex;gap:.75rem;flex-wrap:wrap}\
.card{border:1px solid #d0d7de;border-radius:8px;padding:.6rem 1rem;min-width:7rem}\
.card b{display:block;font-size:1.6rem}table{border-collapse:collapse;width:100%;font-size:.9rem}\
th,td{border-bottom:1px solid #d0d7de;padding:.4rem .6rem;text-align:left;vertical-align:top;overflow-wrap:break-word}\
th{background:#f6f8fa}td.num{text-align:right;font-variant-numeric:tabular-nums}\
.v{display:inline-block;white-space:nowrap;border-radius:1rem;padding:0 .6rem;font-weight:600;font-size:.8rem}\
.mismatch{background:#ffebe9;color:#a40e26}.error{background:#fff8c5;color:#7d4e00}\
.fits{background:#dafbe1;color:#116329}.not-an-image,.skipped{background:#eaeef2;color:#424a53}\
.full{color:#116329}.part{color:#7d4e00}.none{color:#a40e26;font-weight:600}code{font-size:.85em}\
.why{overflow-wrap:anywhere;min-width:18rem;color:#424a53}";

/// The page. `generated`: when (and against what) the scan ran, shown as given.
pub fn html(report: &Report, generated: &str) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>ecr-arch-guard scan</title><style>{STYLE}</style></head><body>\n\
         <h1>ecr-arch-guard scan</h1><p class=\"meta\">{}</p>\n<div class=\"cards\">",
        escape(generated)
    );
    for (v, label) in [
        (RowVerdict::Mismatch, "mismatch"),
        (RowVerdict::Mislabelled, "mislabelled"),
        (RowVerdict::Error, "error"),
        (RowVerdict::Fits, "fits"),
        (RowVerdict::NotAnImage, "not an image"),
        (RowVerdict::Skipped, "skipped"),
    ] {
        let _ = write!(
            out,
            "<div class=\"card {}\"><b>{}</b>{label}</div>",
            v.as_str(),
            report.count(v)
        );
    }
    let _ = writeln!(
        out,
        "<div class=\"card\"><b>{}</b>children judged with their index</div></div>",
        report.children_skipped
    );
    coverage(&mut out, report);
    images(&mut out, report);
    out.push_str("</body></html>\n");
    out
}

/// The platforms the coverage table has a column for: linux/amd64 and linux/arm64 (what AWS
/// compute runs) and every platform some image was required to run on.
fn columns(report: &Report) -> Vec<Platform> {
    let mut ps: Vec<Platform> = ["linux/amd64", "linux/arm64"]
        .iter()
        .filter_map(|p| platform::parse_list(p).ok())
        .flatten()
        .collect();
    ps.extend(report.rows.iter().flat_map(|r| r.required.iter().cloned()));
    ps.sort();
    ps.dedup();
    ps
}

/// Per repository: images, mismatches, errors, and for each column how many of its images
/// run there.
fn coverage(out: &mut String, report: &Report) {
    let cols = columns(report);
    let mut repos: BTreeMap<String, Vec<&Row>> = BTreeMap::new();
    for r in &report.rows {
        repos.entry(r.place()).or_default().push(r);
    }
    let mut order: Vec<(String, Vec<&Row>)> = repos.into_iter().collect();
    order.sort_by_key(|(name, rows)| {
        let bad = rows
            .iter()
            .filter(|r| {
                matches!(
                    r.verdict,
                    RowVerdict::Mismatch | RowVerdict::Mislabelled | RowVerdict::Error
                )
            })
            .count();
        (std::cmp::Reverse(bad), name.clone())
    });
    out.push_str("<h2>Platform coverage per repository</h2>\n<table><thead><tr><th>Repository</th><th>Images</th><th>Mismatch</th><th>Error</th>");
    for c in &cols {
        let _ = write!(out, "<th>{}</th>", escape(&c.to_string()));
    }
    out.push_str("</tr></thead><tbody>\n");
    for (name, rows) in order {
        let images: Vec<&&Row> = rows.iter().filter(|r| !r.platforms.is_empty()).collect();
        let count = |v| rows.iter().filter(|r| r.verdict == v).count();
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>",
            escape(&name),
            rows.len(),
            count(RowVerdict::Mismatch),
            count(RowVerdict::Error)
        );
        for c in &cols {
            let runs = images
                .iter()
                .filter(|r| r.platforms.iter().any(|p| p.runs_on(c)))
                .count();
            let class = match (runs, images.len()) {
                (_, 0) => "",
                (r, n) if r == n => "full",
                (0, _) => "none",
                _ => "part",
            };
            let _ = write!(
                out,
                "<td class=\"num {class}\">{runs}/{}</td>",
                images.len()
            );
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table>\n");
}

/// Every image, in the report's order (mismatches first).
fn images(out: &mut String, report: &Report) {
    out.push_str("<h2>Images</h2>\n<table><thead><tr><th>Verdict</th><th>Repository</th><th>Tags</th><th>Platforms</th><th>Missing</th><th>Consumers</th><th>Why</th></tr></thead><tbody>\n");
    for r in &report.rows {
        let consumers: Vec<String> = r.consumers.iter().map(|c| escape(&c.line())).collect();
        let _ = writeln!(
            out,
            "<tr><td><span class=\"v {v}\">{v}</span></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"why\">{}</td></tr>",
            escape(&r.place()),
            if r.tags.is_empty() {
                format!("<code>{}</code>", escape(&short_digest(&r.digest)))
            } else {
                escape(&r.tags.join(", "))
            },
            escape(&list(&r.platforms)),
            escape(&list(&r.missing)),
            consumers.join("<br>"),
            escape(r.reason.as_deref().unwrap_or("")),
            v = r.verdict.as_str(),
        );
    }
    out.push_str("</tbody></table>\n");
}

/// `linux/amd64, linux/arm64`: spaced, so a long list wraps.
fn list(ps: &[Platform]) -> String {
    ps.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn short_digest(d: &str) -> String {
    d.get(..19).unwrap_or(d).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(repository: &str, tags: &[&str], verdict: RowVerdict, platforms: &str) -> Row {
        Row {
            account: None,
            region: None,
            repository: repository.into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            digest: format!("sha256:{}", "a".repeat(64)),
            verdict,
            platforms: platform::parse_list(platforms).unwrap_or_default(),
            required: platform::parse_list("linux/amd64").unwrap(),
            required_from: None,
            missing: if verdict == RowVerdict::Mismatch {
                platform::parse_list("linux/amd64").unwrap()
            } else {
                Vec::new()
            },
            consumers: Vec::new(),
            reason: Some("why <b>".into()),
            warnings: Vec::new(),
        }
    }

    #[test]
    fn names_are_shown_as_text_never_run() {
        let report = Report {
            rows: vec![row(
                "<script>alert(1)</script>",
                &["x\" onmouseover=\"alert(2)", "<img src=x>"],
                RowVerdict::Mismatch,
                "linux/arm64",
            )],
            children_skipped: 0,
            ..Report::default()
        };
        let page = html(&report, "scanned <now>");
        assert!(!page.to_lowercase().contains("<script"), "{page}");
        assert!(!page.contains("<img"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(page.contains("x&quot; onmouseover=&quot;alert(2)"));
        assert!(page.contains("why &lt;b&gt;") && page.contains("scanned &lt;now&gt;"));
    }

    #[test]
    fn self_contained_coverage_first_then_mismatches_first() {
        let report = Report {
            rows: vec![
                row("web", &["1.0"], RowVerdict::Mismatch, "linux/arm64"),
                row("api", &["2.0"], RowVerdict::Fits, "linux/amd64,linux/arm64"),
                row("web", &["0.9"], RowVerdict::Fits, "linux/amd64"),
            ],
            children_skipped: 2,
            ..Report::default()
        };
        let page = html(&report, "now");
        for external in ["src=", "href=", "url(", "@import", "<link"] {
            assert!(!page.contains(external), "{external} in {page}");
        }
        let coverage = page.find("Platform coverage").unwrap();
        let images = page.find("<h2>Images").unwrap();
        assert!(coverage < images);
        // web (a mismatch) before api in the coverage table: each of its two images runs on
        // one of the two platforms; api's one image on both.
        let table = &page[coverage..images];
        assert!(table.find(">web<").unwrap() < table.find(">api<").unwrap());
        assert!(table.contains("<td class=\"num part\">1/2</td>"), "{table}");
        assert!(table.contains("<td class=\"num full\">1/1</td>"), "{table}");
        let rows = &page[images..];
        assert!(rows.find("mismatch").unwrap() < rows.find(">fits<").unwrap());
        assert!(page.starts_with("<!DOCTYPE html>") && page.ends_with("</html>\n"));
    }

    #[test]
    fn an_organisation_audit_keeps_each_accounts_repositories_apart() {
        let mut report = Report::default();
        for account in ["111111111111", "222222222222"] {
            let one = Report {
                rows: vec![row("web", &["1.0"], RowVerdict::Fits, "linux/amd64")],
                ..Report::default()
            };
            report.add(account, "eu-west-1", one);
        }
        let page = html(&report, "now");
        for account in ["111111111111", "222222222222"] {
            assert!(
                page.contains(&format!(">{account} eu-west-1 web<")),
                "{page}"
            );
        }
    }
}
