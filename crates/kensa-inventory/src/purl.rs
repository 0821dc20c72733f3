//! Package URLs (purl-spec): `pkg:type/namespace/name@version?qualifiers`.
//! Only the encoding rules Kensa needs: percent-encoding of each component,
//! qualifiers sorted by key, empty qualifiers left out.

/// Build a purl. `namespace` may contain `/` (it is encoded per segment);
/// qualifiers with an empty value are dropped, the rest sorted by key.
pub fn purl(
    ty: &str,
    namespace: Option<&str>,
    name: &str,
    version: &str,
    qualifiers: &[(&str, &str)],
) -> String {
    let mut s = String::with_capacity(32 + name.len() + version.len());
    s.push_str("pkg:");
    s.push_str(ty);
    s.push('/');
    if let Some(ns) = namespace.filter(|n| !n.is_empty()) {
        for (i, seg) in ns.split('/').filter(|x| !x.is_empty()).enumerate() {
            if i > 0 {
                s.push('/');
            }
            encode(seg, &mut s);
        }
        s.push('/');
    }
    encode(name, &mut s);
    if !version.is_empty() {
        s.push('@');
        encode(version, &mut s);
    }
    let mut q: Vec<_> = qualifiers.iter().filter(|(_, v)| !v.is_empty()).collect();
    q.sort();
    for (i, (k, v)) in q.iter().enumerate() {
        s.push(if i == 0 { '?' } else { '&' });
        s.push_str(k);
        s.push('=');
        encode(v, &mut s);
    }
    s
}

/// Percent-encode everything but the unreserved characters (and `:`, which
/// the purl spec leaves unencoded, as in Debian epochs `1:2.0`).
fn encode(text: &str, out: &mut String) {
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b':') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::purl;

    #[test]
    fn encodes_and_sorts() {
        assert_eq!(
            purl(
                "deb",
                Some("debian"),
                "libc6",
                "2.36-9+deb12u4",
                &[("distro", "debian-12"), ("arch", "amd64")]
            ),
            "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12"
        );
        assert_eq!(
            purl("npm", Some("@babel"), "core", "7.0.0", &[]),
            "pkg:npm/%40babel/core@7.0.0"
        );
        assert_eq!(
            purl(
                "golang",
                Some("github.com/a/b"),
                "c",
                "v1.0.0",
                &[("x", "")]
            ),
            "pkg:golang/github.com/a/b/c@v1.0.0"
        );
    }
}
