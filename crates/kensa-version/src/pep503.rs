//! PyPI project names as PEP 503 normalises them: runs of `-`, `_` and `.`
//! become one `-`, letters are lower-cased (`Jinja2` → `jinja2`,
//! `zope.interface` → `zope-interface`). pip treats every spelling as one
//! project, so the knowledge base keys PyPI advisories this way and the
//! inventory's purls and detection's lookups spell names the same way.
//! Equal to `packaging.utils.canonicalize_name` (tested against it).

/// The normalised form of a PyPI project name.
pub fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_sep {
                out.push('-');
            }
            in_sep = true;
        } else {
            out.push(c.to_ascii_lowercase());
            in_sep = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn runs_of_separators_become_one_hyphen() {
        assert_eq!(normalize("Jinja2"), "jinja2");
        assert_eq!(normalize("jw.util"), "jw-util");
        assert_eq!(normalize("zope__interface"), "zope-interface");
        assert_eq!(normalize("a-_.b"), "a-b");
        // As `re.sub(r"[-_.]+", "-", name).lower()`: leading and trailing
        // separators stay.
        assert_eq!(normalize("-A__b."), "-a-b-");
    }
}
