//! The OpenAPI document (src/openapi.json, served at /api/v1/openapi.json)
//! and the router agree: every JSON API route is documented with its
//! methods, and every documented path and method is routed.
//!
//! axum's `Router` cannot list its routes, so the routes come from two
//! places that check each other:
//! - the source: every `.route("…", get(…).post(…))` call under src/, read
//!   as text (a `.route(` whose first argument is not a string literal fails
//!   the test rather than being skipped);
//! - the running server: a method a route has must not answer 405, and
//!   every other method must (axum answers 405 only when the path matched),
//!   so a route the scan invented or a method it misread fails too.
//!
//! Console pages (HTML, outside /api/) are not part of the document.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use kensa_testkit::db::Backend;
use kensa_testkit::server::{Auth, TestServer};

type Routes = BTreeMap<String, BTreeSet<String>>;

const METHODS: [&str; 6] = ["get", "head", "post", "put", "patch", "delete"];

fn documented(path: &str) -> bool {
    path.starts_with("/api/") || matches!(path, "/healthz" | "/readyz" | "/metrics")
}

/// The path and methods of every `.route(` call in the crate's source.
fn source_routes() -> Routes {
    let mut out = Routes::new();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![];
    walk(&src, &mut files);
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read source");
        let mut rest = text.as_str();
        while let Some(at) = rest.find(".route(") {
            let call = &rest[at + ".route(".len()..];
            let args = balanced(call).unwrap_or_else(|| {
                panic!(
                    "{}: a .route( call without its closing parenthesis",
                    file.display()
                )
            });
            let (path, methods) = parse_route(args).unwrap_or_else(|| {
                panic!(
                    "{}: cannot read the route {:?}: its path must be a string literal",
                    file.display(),
                    args.trim()
                )
            });
            out.entry(path).or_default().extend(methods);
            rest = &call[args.len()..];
        }
    }
    out
}

fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read src") {
        let p = e.expect("dir entry").path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The text up to the parenthesis that closes the one just opened.
fn balanced(s: &str) -> Option<&str> {
    let mut depth = 1;
    let mut in_str = false;
    let mut prev = ' ';
    for (i, c) in s.char_indices() {
        match c {
            '"' if prev != '\\' => in_str = !in_str,
            '(' if !in_str => depth += 1,
            ')' if !in_str => {
                depth -= 1;
                if depth == 0 {
                    return Some(&s[..i]);
                }
            }
            _ => {}
        }
        prev = c;
    }
    None
}

/// `"/path", get(a).post(b)` → ("/path", {get, post}).
fn parse_route(args: &str) -> Option<(String, BTreeSet<String>)> {
    let args = args.trim_start().strip_prefix('"')?;
    let end = args.find('"')?;
    let path = args[..end].to_owned();
    let router = &args[end + 1..];
    let mut methods = BTreeSet::new();
    for m in METHODS {
        let mut from = 0;
        while let Some(i) = router[from..].find(m) {
            let i = from + i;
            let before = router[..i].chars().next_back().unwrap_or(' ');
            let after = router[i + m.len()..].trim_start();
            if !(before.is_alphanumeric() || before == '_') && after.starts_with('(') {
                methods.insert(m.to_owned());
            }
            from = i + m.len();
        }
    }
    (!methods.is_empty()).then_some((path, methods))
}

fn document_routes() -> Routes {
    let doc: serde_json::Value =
        serde_json::from_str(include_str!("../../src/openapi.json")).expect("openapi.json parses");
    let paths = doc["paths"].as_object().expect("openapi.json has paths");
    paths
        .iter()
        .map(|(p, ops)| {
            let methods = ops
                .as_object()
                .map(|o| {
                    o.keys()
                        .filter(|k| METHODS.contains(&k.as_str()))
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            (p.clone(), methods)
        })
        .collect()
}

/// What differs between `a` and `b`, as `METHOD /path` lines.
fn missing(a: &Routes, b: &Routes) -> Vec<String> {
    let mut out = vec![];
    for (path, methods) in a {
        for m in methods {
            if !b.get(path).is_some_and(|ms| ms.contains(m)) {
                out.push(format!("{} {path}", m.to_uppercase()));
            }
        }
    }
    out
}

#[test]
fn every_api_route_is_in_the_openapi_document_and_every_documented_path_is_routed() {
    let source: Routes = source_routes()
        .into_iter()
        .filter(|(p, _)| documented(p))
        .collect();
    assert!(
        source.contains_key("/api/v1/findings") && source.contains_key("/healthz"),
        "the source scan found no routes: {source:?}"
    );
    let doc = document_routes();

    let undocumented = missing(&source, &doc);
    let unrouted = missing(&doc, &source);
    assert!(
        undocumented.is_empty() && unrouted.is_empty(),
        "the router and crates/kensa-server/src/openapi.json disagree.\n\
         Routed but not in openapi.json:\n  {}\n\
         In openapi.json but not routed:\n  {}",
        undocumented.join("\n  "),
        unrouted.join("\n  ")
    );

    // The running router has exactly these methods on these paths.
    let backend = Backend::Sqlite;
    let s = TestServer::builder(&backend).no_kb().workers(1).start();
    let mut wrong = vec![];
    for (path, methods) in &doc {
        let concrete = concrete(path);
        for m in METHODS {
            // axum answers HEAD wherever it answers GET.
            if m == "head" && !methods.contains("head") {
                continue;
            }
            let method = m.to_uppercase();
            let status = s
                .call(&method, &concrete, Auth::Bearer(&s.admin), None)
                .status;
            let routed = status != 405;
            let want = methods.contains(m) || (m == "head" && methods.contains("get"));
            if routed != want {
                wrong.push(format!(
                    "{method} {concrete}: {status}, expected {}",
                    if want { "a route" } else { "405" }
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "the running router differs from the routes read from the source:\n  {}",
        wrong.join("\n  ")
    );
}

/// A path with its `{parameters}` filled in.
fn concrete(path: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => in_param = true,
            '}' => {
                in_param = false;
                out.push('0');
            }
            _ if !in_param => out.push(c),
            _ => {}
        }
    }
    out
}

#[test]
fn the_route_reader_reads_what_rustfmt_writes() {
    let (p, m) = parse_route(
        "\n            \"/api/v1/agent/inventory/{hash}\",\n            axum::routing::head(inventory_known).put(put_inventory),\n        ",
    )
    .expect("parses");
    assert_eq!(p, "/api/v1/agent/inventory/{hash}");
    assert_eq!(m, BTreeSet::from(["head".to_owned(), "put".to_owned()]));
    let (_, m) = parse_route("\"/healthz\", get(|| async { \"ok\" })").expect("parses");
    assert_eq!(m, BTreeSet::from(["get".to_owned()]));
    // A handler whose name contains a method is not that method.
    let (_, m) = parse_route("\"/x\", post(delete_thing)").expect("parses");
    assert_eq!(m, BTreeSet::from(["post".to_owned()]));
    assert!(parse_route("PATH, get(x)").is_none());
}
