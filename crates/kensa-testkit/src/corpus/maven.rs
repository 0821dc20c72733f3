//! Maven versions. Maven has no invalid versions (`ComparableVersion`
//! orders any string), so this corpus is every version string within reach,
//! Java ones first: this machine's Debian Maven repository
//! (`/usr/share/maven-repo`, version directories and the `<version>`s the
//! POMs name), the endoflife.date pages of Java middleware (Tomcat, Kafka,
//! Spring, Jetty, ...), then every other corpus (PyPI, Go, RPM, apk,
//! RustSec, dpkg, RubyGems candidates) and every other endoflife.date page.
//! The non-Java strings exercise the tokeniser on shapes Java projects
//! rarely use (`+local`, `~rc`, epochs, pseudo-versions).

use std::path::{Path, PathBuf};

/// endoflife.date products that ship Java artifacts or Java runtimes.
const JAVA_PRODUCTS: &[&str] = &[
    "tomcat",
    "apache-kafka",
    "spring-framework",
    "spring-boot",
    "spring-security",
    "spring-cloud",
    "eclipse-jetty",
    "apache-activemq",
    "apache-artemis",
    "apache-camel",
    "apache-cassandra",
    "apache-flink",
    "apache-groovy",
    "apache-hadoop",
    "apache-hop",
    "apache-lucene",
    "apache-maven",
    "apache-nifi",
    "apache-pulsar",
    "apache-spark",
    "apache-struts",
    "apache-ant",
    "elasticsearch",
    "gradle",
    "grails",
    "hibernate-orm",
    "jenkins",
    "jruby",
    "keycloak",
    "kotlin",
    "log4j",
    "micronaut",
    "quarkus-framework",
    "scala",
    "solr",
    "zookeeper",
    "amazon-corretto",
    "alibaba-dragonwell",
    "microsoft-build-of-openjdk",
    "openjdk-builds-from-oracle",
    "oracle-jdk",
    "red-hat-build-of-openjdk",
];

/// Versions of Java software only: the Maven repository on this host and
/// the endoflife.date pages of Java products.
pub fn java_versions() -> Vec<String> {
    let mut out = maven_repo_versions(Path::new("/usr/share/maven-repo"));
    out.extend(eol_versions(|p| JAVA_PRODUCTS.contains(&p)));
    out
}

pub fn versions() -> Vec<String> {
    let mut out = maven_repo_versions(Path::new("/usr/share/maven-repo"));
    out.extend(eol_versions(|p| JAVA_PRODUCTS.contains(&p)));
    out.extend(super::pypi::versions());
    out.extend(super::semver::go_versions());
    out.extend(super::rpm::versions());
    out.extend(super::apk::versions());
    out.extend(super::semver::rustsec_versions());
    out.extend(super::dpkg::versions());
    out.extend(super::rubygems::candidates());
    out.extend(eol_versions(|p| !JAVA_PRODUCTS.contains(&p)));
    out.retain(|v| !v.is_empty() && !v.contains(['\t', '\n']));
    out
}

/// The `releaseCycle` and `latest` values of the endoflife.date product
/// pages whose name (file stem) `want` accepts, page by page in name order.
pub fn eol_versions(want: impl Fn(&str) -> bool) -> Vec<String> {
    let dir = crate::data_path("eol/products");
    let mut pages: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .filter(|p| p.file_stem().and_then(|s| s.to_str()).is_some_and(&want))
        .collect();
    pages.sort();
    let mut out = Vec::new();
    for page in pages {
        let text = std::fs::read_to_string(&page).unwrap();
        for line in text.lines() {
            let body = line.trim_start().trim_start_matches("- ");
            let value = ["releaseCycle:", "latest:"]
                .iter()
                .find_map(|key| body.strip_prefix(key));
            if let Some(value) = value.map(yaml_scalar).filter(|v| !v.is_empty()) {
                out.push(value.to_owned());
            }
        }
    }
    out
}

/// A one-line YAML scalar: quoted, or plain up to a ` #` comment.
fn yaml_scalar(raw: &str) -> &str {
    let raw = raw.trim();
    for quote in ['"', '\''] {
        if let Some(rest) = raw.strip_prefix(quote) {
            return rest.split(quote).next().unwrap_or("");
        }
    }
    raw.split(" #").next().unwrap_or("").trim()
}

/// Version directories (those holding a `.pom`) and the `<version>`
/// elements of the POMs in a Maven repository, if it exists on this host.
fn maven_repo_versions(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    if !root.is_dir() {
        return out;
    }
    let mut stack = vec![root.to_path_buf()];
    let mut poms = Vec::new();
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut entries: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "pom") {
                poms.push(p);
            }
        }
    }
    poms.sort();
    for pom in poms {
        if let Some(dir) = pom
            .parent()
            .and_then(|d| d.file_name())
            .and_then(|d| d.to_str())
        {
            out.push(dir.to_owned());
        }
        let Ok(text) = std::fs::read_to_string(&pom) else {
            continue;
        };
        for chunk in text.split("<version>").skip(1) {
            if let Some((v, _)) = chunk.split_once("</version>") {
                let v = v.trim();
                // Property references are not versions.
                if !v.is_empty() && !v.contains("${") && !v.contains('<') {
                    out.push(v.to_owned());
                }
            }
        }
    }
    out
}
