//! SUSE and Oracle Linux OVAL: the criteria trees of their definitions
//! into [`Advisory`] records (feed `Oval`). The file is read by
//! [`super::oval`] (its two streaming passes); this module reads the shape
//! each vendor gives its criteria.
//!
//! A definition's criteria are expanded into conjunctions (every way the
//! tree can be true); each conjunction names a product (the platform), a
//! package bound and possibly a host architecture or a Ksplice gate:
//!
//! - SUSE (`suse.linux.enterprise.server.15.xml`, CVE definitions, and the
//!   `-patch` files' `SUSE-SU` definitions): the product is a test on
//!   `sles-release` / `sles-ltss-release` / `sled-release` whose state has
//!   a `version` (`== 15.1`, SP1), giving `sles:15.1` as Kensa's inventory
//!   names SLES 15 SP1 (`VERSION_ID`). Module, SAP, HPC and extension
//!   products are not releases Kensa identifies: a conjunction under them
//!   only is skipped, and a definition with nothing else is counted as
//!   skipped. When one release has both a plain and an LTSS product, the
//!   plain product's fixes are kept (the ones every installation gets).
//!   A package whose state is `version == 0` ("is not affected") is
//!   `NotAffected`. An `evr` state with an operation OVAL does not define
//!   (vunnel's extract has `operation="6"`) is read as "less than" only
//!   when the test's own comment says `is <` that same version; else the
//!   definition is an error. `SUSE-RU`/`-FU`/`-OU` definitions are not
//!   security advisories and are skipped. A product test missing from the
//!   file (vunnel's extract is cut) is read from its comment (`SUSE Linux
//!   Enterprise Server 15 SP1 is installed`); a package test missing under
//!   a product Kensa does not identify does not matter, under one it does
//!   it is an error of the definition.
//! - Oracle (`com.oracle.elsa-all.xml`): the product is `oraclelinux-release`
//!   with a `version` pattern `^8` (`ol:8`); a test of that package's
//!   `arch` is the host's architecture (ELSAs respun per architecture at
//!   different revisions carry one fix per architecture); the signing-key
//!   test is not a condition Kensa checks (its vendor check does that).
//!   A test of the package's `release` matching `ksplice` means the fix is
//!   for Ksplice's userspace builds only (`…ksplice1.el8`, epoch 2): the
//!   row gets the stream `ksplice`, which detection gives only to installed
//!   builds whose release says `ksplice`, so that a Ksplice fix is never
//!   applied to an ordinary package (whose lower epoch would always look
//!   older). The id is the ELSA; `ELBA`/`ELEA` are skipped. Oracle writes
//!   every criterion's comment in one fixed grammar (`Oracle Linux 7 is
//!   installed`, `Oracle Linux arch is x86_64`, `rsyslog is earlier than
//!   0:8.24.0-57.0.1.el7_9.3`, `… is signed with the Oracle Linux 7 key`,
//!   `… is ksplice-based`): a test the file does not hold whole (an
//!   extract of definitions only, or one cut short) is read from its
//!   comment.
//!
//! Negated criteria, `extend_definition` and operators other than AND/OR
//! are errors of the definition: Kensa would rather say it could not read
//! a record than guess.

use std::collections::{BTreeMap, BTreeSet};

use super::oval::{Definition, Tables};
use crate::model::{
    Advisory, Affected, Event, Feed, FeedReport, FixStatus, Record, Severity, Sink,
    is_non_security_erratum,
};

/// A criteria tree as written.
pub(crate) enum Node {
    Criteria {
        /// `None`: an operator Kensa does not evaluate (ONE, XOR).
        and: Option<bool>,
        negate: bool,
        children: Vec<Node>,
    },
    Criterion {
        test: String,
        comment: Option<String>,
        negate: bool,
    },
    Unsupported(&'static str),
}

fn is_true(v: Option<&str>) -> bool {
    v.is_some_and(|v| v.trim() == "true" || v.trim() == "1")
}

impl Node {
    pub(crate) fn criteria(operator: Option<&str>, negate: Option<&str>) -> Node {
        let and = match operator.map(str::trim) {
            None | Some("AND") => Some(true),
            Some("OR") => Some(false),
            Some(_) => None,
        };
        Node::Criteria {
            and,
            negate: is_true(negate),
            children: Vec::new(),
        }
    }

    pub(crate) fn criterion(test: &str, comment: Option<String>, negate: Option<&str>) -> Node {
        Node::Criterion {
            test: test.to_owned(),
            comment,
            negate: is_true(negate),
        }
    }

    pub(crate) fn unsupported(what: &'static str) -> Node {
        Node::Unsupported(what)
    }
}

/// Adds a leaf to the innermost open `criteria` (or makes it the root).
pub(crate) fn push_leaf(open: &mut [Node], root: &mut Option<Node>, leaf: Node) {
    match open.last_mut() {
        Some(Node::Criteria { children, .. }) => children.push(leaf),
        _ => {
            if root.is_none() {
                *root = Some(leaf);
            }
        }
    }
}

/// A `criteria` ended: it belongs to its parent, or is the root.
pub(crate) fn close(open: &mut [Node], root: &mut Option<Node>, node: Node) {
    push_leaf(open, root, node)
}

/// One leaf as the conjunction sees it.
#[derive(Clone, Copy)]
struct Leaf<'a> {
    test: &'a str,
    comment: Option<&'a str>,
}

/// Conjunctions past this many are an error, not an allocation storm.
const MAX_CONJUNCTIONS: usize = 100_000;

/// Every conjunction of leaves that makes the tree true.
fn conjunctions(node: &Node) -> Result<Vec<Vec<Leaf<'_>>>, String> {
    match node {
        Node::Unsupported(what) => Err(format!("<{what}> in criteria is not read")),
        Node::Criterion {
            test,
            comment,
            negate,
        } => {
            if *negate {
                return Err(format!("negated criterion {test} is not read"));
            }
            Ok(vec![vec![Leaf {
                test,
                comment: comment.as_deref(),
            }]])
        }
        Node::Criteria {
            and,
            negate,
            children,
        } => {
            if *negate {
                return Err("negated criteria are not read".to_owned());
            }
            let Some(and) = and else {
                return Err("a criteria operator other than AND/OR is not read".to_owned());
            };
            if *and {
                let mut acc: Vec<Vec<Leaf<'_>>> = vec![Vec::new()];
                for c in children {
                    let sub = conjunctions(c)?;
                    if acc.len().saturating_mul(sub.len()) > MAX_CONJUNCTIONS {
                        return Err(format!("criteria expand past {MAX_CONJUNCTIONS} cases"));
                    }
                    let mut next = Vec::with_capacity(acc.len() * sub.len());
                    for a in &acc {
                        for s in &sub {
                            let mut v: Vec<Leaf<'_>> = a.clone();
                            v.extend(s.iter().copied());
                            next.push(v);
                        }
                    }
                    acc = next;
                }
                Ok(acc)
            } else {
                let mut out = Vec::new();
                for c in children {
                    out.extend(conjunctions(c)?);
                    if out.len() > MAX_CONJUNCTIONS {
                        return Err(format!("criteria expand past {MAX_CONJUNCTIONS} cases"));
                    }
                }
                Ok(out)
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Vendor {
    Suse,
    Oracle,
}

/// What one test says.
enum Fact {
    /// A product release: `Some((distro, release, ltss))` when it is one
    /// Kensa identifies, `None` for other products (modules, SAP, HPC).
    Platform(Option<(&'static str, String, bool)>),
    /// The host's architecture (Oracle's per-architecture respins).
    HostArch(String),
    Package {
        name: String,
        op: String,
        evr: String,
        /// The package architectures the state allows (empty: all).
        arches: Vec<String>,
    },
    NotAffected(String),
    Signature,
    Ksplice,
    /// A test Kensa could not resolve, and why: an error of the definition
    /// unless its case is under a product Kensa does not identify anyway.
    Unreadable(String),
}

/// `(aarch64|ppc64le|s390x|x86_64)` → the four names; `x86_64` → itself.
fn arch_pattern(p: &str) -> Vec<String> {
    p.trim()
        .trim_start_matches('^')
        .trim_end_matches('$')
        .trim_start_matches('(')
        .trim_end_matches(')')
        .split('|')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `^8` → `8`.
fn major_pattern(p: &str) -> Option<String> {
    let digits: String = p
        .trim()
        .trim_start_matches('^')
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    (!digits.is_empty()).then_some(digits)
}

fn suse_product(object: &str, op: &str, version: &str) -> Result<Fact, String> {
    let (distro, ltss) = match object {
        "sles-release" => ("sles", false),
        "sles-ltss-release" => ("sles", true),
        "sled-release" => ("sled", false),
        _ => return Ok(Fact::Platform(None)),
    };
    if op != "equals" {
        return Err(format!(
            "{object}: version operation {op:?} is not a release Kensa can name"
        ));
    }
    Ok(Fact::Platform(Some((
        distro,
        version.trim().to_owned(),
        ltss,
    ))))
}

fn oracle_product(object: &str, op: &str, version: &str) -> Result<Fact, String> {
    if !matches!(object, "oraclelinux-release" | "enterprise-release") {
        return Ok(Fact::Platform(None));
    }
    let release = match op {
        "pattern match" => major_pattern(version),
        "equals" => Some(version.trim().to_owned()).filter(|v| !v.is_empty()),
        _ => None,
    };
    match release {
        Some(r) => Ok(Fact::Platform(Some(("ol", r, false)))),
        None => Err(format!(
            "{object}: version {op} {version:?} names no Oracle Linux release"
        )),
    }
}

/// Oracle's criterion comments, for a test missing from the file.
fn oracle_comment(comment: &str) -> Option<Fact> {
    let c = comment.trim();
    if let Some(rest) = c.strip_prefix("Oracle Linux arch is ") {
        return Some(Fact::HostArch(rest.trim().to_owned()));
    }
    if let Some(rest) = c.strip_prefix("Oracle Linux ")
        && let Some(major) = rest.strip_suffix(" is installed")
        && !major.is_empty()
        && major.bytes().all(|b| b.is_ascii_digit())
    {
        return Some(Fact::Platform(Some(("ol", major.to_owned(), false))));
    }
    if let Some((name, evr)) = c.split_once(" is earlier than ") {
        return Some(Fact::Package {
            name: name.trim().to_owned(),
            op: "less than".to_owned(),
            evr: evr.trim().to_owned(),
            arches: Vec::new(),
        });
    }
    if c.ends_with(" is ksplice-based") {
        return Some(Fact::Ksplice);
    }
    if c.contains(" is signed with the ") {
        return Some(Fact::Signature);
    }
    None
}

/// The `evr` operation of a state, as OVAL names it. SUSE's extract has a
/// state with `operation="6"`; its test's comment (`krb5 is <1.15.2-4.25`)
/// says what was meant, and is the only thing trusted to say it.
fn evr_operation(op: &str, evr: &str, comment: Option<&str>) -> Option<&'static str> {
    match op {
        "less than" => Some("less than"),
        "less than or equal" => Some("less than or equal"),
        "greater than" => Some("greater than"),
        "greater than or equal" => Some("greater than or equal"),
        _ => {
            let bare = evr.split_once(':').map_or(evr, |(_, v)| v);
            let c = comment?;
            (c.ends_with(&format!(" is <{bare}")) || c.ends_with(&format!(" is <{evr}")))
                .then_some("less than")
        }
    }
}

/// SUSE's product comments (`SUSE Linux Enterprise Server 15 SP1-LTSS is
/// installed`), for a product test missing from the file: SLES and SLED
/// releases as their `*-release` state would name them (`15.1`); any
/// other product (modules, SAP, HPC, extensions) is one Kensa does not
/// identify.
fn suse_comment(comment: &str) -> Option<Fact> {
    let product = comment.trim().strip_suffix(" is installed")?;
    let rest = product.strip_prefix("SUSE Linux Enterprise ")?;
    let (distro, rest) = if let Some(r) = rest.strip_prefix("Server ") {
        ("sles", r)
    } else if let Some(r) = rest.strip_prefix("Desktop ") {
        ("sled", r)
    } else {
        return Some(Fact::Platform(None));
    };
    let (rest, ltss) = match rest.strip_suffix("-LTSS") {
        Some(r) => (r, true),
        None => (rest, false),
    };
    let mut words = rest.split(' ');
    // "Server for SAP Applications 15": another product.
    let Some(major) = words
        .next()
        .filter(|m| !m.is_empty() && m.bytes().all(|b| b.is_ascii_digit()))
    else {
        return Some(Fact::Platform(None));
    };
    let release = match words.next() {
        None => major.to_owned(),
        Some(sp) => {
            let n = sp.strip_prefix("SP")?;
            if !n.bytes().all(|b| b.is_ascii_digit()) || words.next().is_some() {
                return Some(Fact::Platform(None));
            }
            format!("{major}.{n}")
        }
    };
    Some(Fact::Platform(Some((distro, release, ltss))))
}

fn classify(tables: &Tables, leaf: &Leaf<'_>, vendor: Vendor) -> Fact {
    match resolve(tables, leaf, vendor) {
        Ok(f) => f,
        // A test the file does not hold whole (an extract): the vendor's
        // comment, when its grammar says what the test checks.
        Err(why) => {
            let by_comment = leaf.comment.and_then(|c| match vendor {
                Vendor::Oracle => oracle_comment(c),
                Vendor::Suse => suse_comment(c),
            });
            by_comment.unwrap_or(Fact::Unreadable(why))
        }
    }
}

fn resolve(tables: &Tables, leaf: &Leaf<'_>, vendor: Vendor) -> Result<Fact, String> {
    let t = leaf.test;
    let Some(test) = tables.tests.get(t) else {
        return Err(format!("test {t} is missing"));
    };
    let (Some(obj), Some(ste)) = (&test.object, &test.state) else {
        return Err(format!("test {t} has no object or state"));
    };
    let Some(name) = tables.objects.get(obj) else {
        return Err(format!("object {obj} of test {t} is missing"));
    };
    let Some(state) = tables.states.get(ste) else {
        return Err(format!("state {ste} of test {t} is missing"));
    };
    if state.signature.is_some() {
        return Ok(Fact::Signature);
    }
    if let Some((_, pattern)) = &state.release
        && state.evr.is_none()
    {
        if pattern.contains("ksplice") {
            return Ok(Fact::Ksplice);
        }
        return Err(format!("state {ste}: release {pattern:?} is not read"));
    }
    if let Some((op, evr)) = &state.evr {
        let comment = test.comment.as_deref().or(leaf.comment);
        let Some(op) = evr_operation(op, evr, comment) else {
            return Err(format!(
                "state {ste}: evr operation {op:?} is not an OVAL comparison (test {t})"
            ));
        };
        let arches = state
            .arch
            .as_ref()
            .map(|(_, p)| arch_pattern(p))
            .unwrap_or_default();
        return Ok(Fact::Package {
            name: name.clone(),
            op: op.to_owned(),
            evr: evr.trim().to_owned(),
            arches,
        });
    }
    if let Some((op, version)) = &state.version {
        if name.ends_with("-release") {
            return match vendor {
                Vendor::Suse => suse_product(name, op, version),
                Vendor::Oracle => oracle_product(name, op, version),
            };
        }
        if op == "equals" && version.trim() == "0" {
            return Ok(Fact::NotAffected(name.clone()));
        }
        return Err(format!(
            "state {ste}: version {op} {version:?} of {name} is not read"
        ));
    }
    if let Some((_, pattern)) = &state.arch {
        return Ok(Fact::HostArch(pattern.trim().to_owned()));
    }
    Err(format!(
        "state {ste} of test {t} checks nothing Kensa reads"
    ))
}

/// One (namespace, package, bound, Ksplice) the definition fixes.
#[derive(PartialEq, Eq, PartialOrd, Ord, Clone)]
struct Key {
    namespace: String,
    package: String,
    lower: Vec<String>,
    /// (operation, evr); `None`: not affected.
    upper: Option<(String, String)>,
    ksplice: bool,
}

/// Architectures a key holds for: `None` is every architecture.
#[derive(Default)]
struct Entry {
    arches: Option<BTreeSet<String>>,
    /// Whether every conjunction behind it was under an LTSS product.
    ltss_only: bool,
    any: bool,
}

/// A package's bounds in one case: lower bounds, the upper bound
/// (operation, evr) and the architectures its state allows.
type Bounds = (Vec<String>, Option<(String, String)>, Vec<String>);

/// What one definition's conjunctions amount to.
#[derive(Default)]
struct Collected {
    entries: BTreeMap<Key, Entry>,
    host_arches: BTreeSet<String>,
    /// Conjunctions under products Kensa does not identify.
    foreign: usize,
}

fn collect(d: &Definition, tables: &Tables, vendor: Vendor) -> Result<Collected, String> {
    let Some(root) = &d.criteria else {
        return Err("no criteria".to_owned());
    };
    let mut out = Collected::default();
    for conj in conjunctions(root)? {
        let mut platform: Option<Option<(&'static str, String, bool)>> = None;
        let mut host_arch: Option<String> = None;
        let mut ksplice = false;
        // package → (lower bounds, upper bound, state arches)
        let mut packages: BTreeMap<String, Bounds> = BTreeMap::new();
        let mut not_affected: Vec<String> = Vec::new();
        let mut unreadable: Option<String> = None;
        for leaf in &conj {
            match classify(tables, leaf, vendor) {
                Fact::Unreadable(why) => unreadable = unreadable.or(Some(why)),
                Fact::Platform(p) => {
                    if let Some(Some(prev)) = &platform
                        && p.as_ref().is_some_and(|q| q.0 != prev.0 || q.1 != prev.1)
                    {
                        return Err(format!(
                            "one case names two releases ({}:{} and test {})",
                            prev.0, prev.1, leaf.test
                        ));
                    }
                    if platform.as_ref().is_none_or(Option::is_none) {
                        platform = Some(p);
                    }
                }
                Fact::HostArch(a) => {
                    out.host_arches.insert(a.clone());
                    host_arch = Some(a);
                }
                Fact::Package {
                    name,
                    op,
                    evr,
                    arches,
                } => {
                    let e = packages.entry(name.clone()).or_default();
                    e.2.extend(arches);
                    if op.starts_with("less") {
                        if e.1.is_some() {
                            return Err(format!("two upper bounds for {name} in one case"));
                        }
                        e.1 = Some((op, evr));
                    } else if !is_zero(&evr) {
                        e.0.push(evr);
                    }
                }
                Fact::NotAffected(n) => not_affected.push(n),
                Fact::Signature => {}
                Fact::Ksplice => ksplice = true,
            }
        }
        if let Some(Some(_)) | None = platform
            && let Some(why) = unreadable
        {
            return Err(why);
        }
        let Some(platform) = platform else {
            return Err(format!(
                "a case names no product release (tests {})",
                conj.iter().map(|l| l.test).collect::<Vec<_>>().join(", ")
            ));
        };
        let Some((distro, release, ltss)) = platform else {
            out.foreign += 1;
            continue;
        };
        let namespace = format!("{distro}:{release}");
        let arch_gate: Option<BTreeSet<String>> = host_arch.map(|a| BTreeSet::from([a]));
        let mut add = |key: Key, state_arches: Vec<String>| {
            let arches = match (&arch_gate, state_arches.is_empty()) {
                (Some(g), _) => Some(g.clone()),
                (None, false) => Some(state_arches.into_iter().collect()),
                (None, true) => None,
            };
            let e = out.entries.entry(key).or_insert_with(|| Entry {
                ltss_only: true,
                ..Entry::default()
            });
            e.arches = match (e.any, e.arches.take(), arches) {
                (false, _, new) => new,
                (true, Some(mut a), Some(b)) => {
                    a.extend(b);
                    Some(a)
                }
                _ => None,
            };
            e.ltss_only &= ltss;
            e.any = true;
        };
        for (package, (lower, upper, arches)) in packages {
            add(
                Key {
                    namespace: namespace.clone(),
                    package,
                    lower,
                    upper,
                    ksplice,
                },
                arches,
            );
        }
        for package in not_affected {
            add(
                Key {
                    namespace: namespace.clone(),
                    package,
                    lower: Vec::new(),
                    upper: None,
                    ksplice,
                },
                Vec::new(),
            );
        }
    }
    Ok(out)
}

/// `0:0` and `0`: the lower bound of every version.
fn is_zero(evr: &str) -> bool {
    let v = evr.split_once(':').map_or(evr, |(_, v)| v);
    v.split(['.', '-']).all(|p| p.bytes().all(|b| b == b'0'))
}

/// Multilib: Oracle's x86_64 gate tests the host, whose i686 packages are
/// updated by the same erratum.
fn package_arches(host: &BTreeSet<String>) -> Vec<String> {
    let mut out: BTreeSet<String> = host.clone();
    if host.contains("x86_64") {
        out.insert("i686".to_owned());
    }
    out.into_iter().collect()
}

fn affected_of(c: Collected, vendor: Vendor) -> Vec<Affected> {
    // Namespaces that have fixes from a plain (non-LTSS) product.
    let plain: BTreeSet<String> = c
        .entries
        .iter()
        .filter(|(_, e)| !e.ltss_only)
        .map(|(k, _)| k.namespace.clone())
        .collect();
    let fixed_packages: BTreeSet<(String, String)> = c
        .entries
        .keys()
        .filter(|k| k.upper.is_some())
        .map(|k| (k.namespace.clone(), k.package.clone()))
        .collect();
    let mut out = Vec::new();
    for (k, e) in c.entries {
        if e.ltss_only && plain.contains(&k.namespace) {
            continue;
        }
        let arches = match e.arches {
            None => Vec::new(),
            Some(a) if vendor == Vendor::Oracle && a == c.host_arches => Vec::new(),
            Some(a) if vendor == Vendor::Oracle => package_arches(&a),
            Some(a) => a.into_iter().collect(),
        };
        let module = k.ksplice.then(|| "ksplice".to_owned());
        let Some((op, evr)) = k.upper else {
            if fixed_packages.contains(&(k.namespace.clone(), k.package.clone())) {
                continue;
            }
            out.push(Affected {
                namespace: k.namespace,
                package: k.package,
                status: FixStatus::NotAffected,
                ranges: Vec::new(),
                versions: Vec::new(),
                fixed: None,
                note: None,
                module,
                arches,
            });
            continue;
        };
        let mut events: Vec<Event> = if k.lower.is_empty() {
            vec![Event::Introduced("0".to_owned())]
        } else {
            k.lower.into_iter().map(Event::Introduced).collect()
        };
        let (status, fixed) = if op == "less than" {
            events.push(Event::Fixed(evr.clone()));
            (FixStatus::Fixed, Some(evr))
        } else {
            events.push(Event::LastAffected(evr));
            (FixStatus::Affected, None)
        };
        out.push(Affected {
            namespace: k.namespace,
            package: k.package,
            status,
            ranges: vec![events],
            versions: Vec::new(),
            fixed,
            note: None,
            module,
            arches,
        });
    }
    out
}

/// The leading id of a title: `SUSE-SU-2024:0001-1: …` → `SUSE-SU-2024:0001-1`,
/// `ELSA-2022-4803:  rsyslog …` → `ELSA-2022-4803`, `CVE-2021-29154` → itself.
fn title_id(title: &str) -> Option<String> {
    let first = title.split_whitespace().next()?.trim_end_matches(':');
    let shaped = first.len() > 4
        && first.contains('-')
        && first.bytes().any(|b| b.is_ascii_digit())
        && first
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b':' | b'.'));
    shaped.then(|| first.to_owned())
}

fn emit(
    d: Definition,
    tables: &Tables,
    file: &str,
    vendor: Vendor,
    sink: &mut dyn Sink,
    report: &mut FeedReport,
) {
    let title = d.title.as_deref().map(str::trim).unwrap_or_default();
    let id = match vendor {
        Vendor::Oracle => d.vendor_id.clone().or_else(|| title_id(title)),
        Vendor::Suse => title_id(title),
    }
    .unwrap_or_else(|| d.id.clone());
    if is_non_security_erratum(&id) {
        report.skip("non-security erratum");
        return;
    }
    let collected = match collect(&d, tables, vendor) {
        Ok(c) => c,
        Err(msg) => {
            report.error(file, Some(format!("{id} ({})", d.id)), msg);
            return;
        }
    };
    let foreign = collected.foreign;
    let affected = affected_of(collected, vendor);
    if affected.is_empty() {
        if foreign > 0 {
            report.skip("no product release Kensa identifies");
        } else {
            report.error(
                file,
                Some(format!("{id} ({})", d.id)),
                "no package criterion",
            );
        }
        return;
    }
    let aliases: Vec<String> = d.cves.into_iter().filter(|c| *c != id).collect();
    let source = match vendor {
        Vendor::Suse => "suse",
        Vendor::Oracle => "oracle",
    };
    sink.record(Record::Advisory(Advisory {
        id,
        feed: Feed::Oval,
        aliases,
        published: d.advisory_date,
        modified: None,
        summary: d.title.map(|t| t.trim().to_owned()),
        severity: d.severity.map(|value| Severity {
            source: source.to_owned(),
            value: value.trim().to_owned(),
        }),
        cvss: Vec::new(),
        references: d.urls,
        affected,
    }));
    report.records += 1;
}

pub(crate) fn emit_suse(
    d: Definition,
    tables: &Tables,
    file: &str,
    sink: &mut dyn Sink,
    report: &mut FeedReport,
) {
    emit(d, tables, file, Vendor::Suse, sink, report)
}

pub(crate) fn emit_oracle(
    d: Definition,
    tables: &Tables,
    file: &str,
    sink: &mut dyn Sink,
    report: &mut FeedReport,
) {
    emit(d, tables, file, Vendor::Oracle, sink, report)
}
