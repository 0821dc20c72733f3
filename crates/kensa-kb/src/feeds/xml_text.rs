//! Text and attribute values from quick-xml's reader, decoded exactly as
//! quick-xml 0.37 did.
//!
//! Since quick-xml 0.38 the reader no longer hands text with entity or
//! character references (`A &amp; B`, `&#x27;`) as one `Text` event: the
//! references arrive as their own `GeneralRef` events, between `Text` events
//! for the pieces around them, and the reader's `trim_text` trims each piece
//! (which would eat the spaces of `A &amp; B`). The importers therefore read
//! with trimming off and collect a run of `Text` and `GeneralRef` events
//! with [`TextRun`] until the next markup. The run is the text exactly as
//! written, so it is trimmed and unescaped the way 0.37's
//! `trim_text(true)` and `BytesText::unescape` did: XML whitespace trimmed
//! from the raw text, UTF-8 decoded, the five predefined entities and
//! numeric character references resolved, and an unknown entity, a lone
//! `&` or a bad character reference an error (the importer reports it for
//! the record, as before). Attribute values keep 0.37's `unescape_value`:
//! decoded and unescaped, without the whitespace normalization of 0.41's
//! `normalized_value`.

use std::borrow::Cow;

use quick_xml::encoding::EncodingError;
use quick_xml::escape::unescape;
use quick_xml::events::attributes::Attribute;
use quick_xml::events::{BytesRef, BytesText};

/// Configures a reader for [`TextRun`]: whole text runs, lone `&` kept in
/// the text (0.37 read it as text and failed at unescaping, a per-record
/// error, where 0.41 would stop the document).
pub(crate) fn configure<R>(reader: &mut quick_xml::Reader<R>) {
    let config = reader.config_mut();
    config.trim_text(false);
    config.allow_dangling_amp = true;
}

/// The raw text of consecutive `Text` and `GeneralRef` events.
#[derive(Default)]
pub(crate) struct TextRun {
    raw: Vec<u8>,
    /// Whether the run has any event (0.37 gave no event for text that was
    /// empty after trimming; an empty run is no text).
    any: bool,
}

impl TextRun {
    /// Appends a `Text` event as written.
    pub(crate) fn push_text(&mut self, t: &BytesText<'_>) {
        self.raw.extend_from_slice(t);
        self.any = true;
    }

    /// Appends a `GeneralRef` event as written (`&name;`, `&#x27;`).
    pub(crate) fn push_ref(&mut self, r: &BytesRef<'_>) {
        self.raw.push(b'&');
        self.raw.extend_from_slice(r);
        self.raw.push(b';');
        self.any = true;
    }

    /// The run's text, trimmed and unescaped, or `None` when it is empty
    /// after trimming (0.37 emitted no `Text` event then). The run is
    /// emptied.
    pub(crate) fn take(&mut self) -> Option<Result<String, quick_xml::Error>> {
        if !self.any {
            return None;
        }
        self.any = false;
        let raw = trim_xml(&self.raw);
        let out = if raw.is_empty() {
            None
        } else {
            Some(unescape_bytes(raw).map(Cow::into_owned))
        };
        self.raw.clear();
        out
    }
}

/// An attribute's value, decoded as UTF-8 and unescaped like 0.37's
/// `Attribute::unescape_value`.
pub(crate) fn attr_value<'a>(a: &'a Attribute<'_>) -> Result<Cow<'a, str>, quick_xml::Error> {
    unescape_bytes(&a.value)
}

fn unescape_bytes(raw: &[u8]) -> Result<Cow<'_, str>, quick_xml::Error> {
    let text = std::str::from_utf8(raw).map_err(EncodingError::Utf8)?;
    Ok(unescape(text)?)
}

/// `raw` without leading and trailing XML whitespace (space, tab, CR, LF),
/// as quick-xml's `trim_text` trims.
fn trim_xml(raw: &[u8]) -> &[u8] {
    let ws = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let start = raw.iter().position(|b| !ws(b)).unwrap_or(raw.len());
    let end = raw.iter().rposition(|b| !ws(b)).map_or(start, |i| i + 1);
    &raw[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use quick_xml::Reader;
    use quick_xml::events::Event;

    /// Each text run of `doc` as [`TextRun::take`] gives it.
    fn runs(doc: &str) -> Vec<Result<String, String>> {
        let mut r = Reader::from_str(doc);
        configure(&mut r);
        let mut run = TextRun::default();
        let mut out = Vec::new();
        loop {
            let ev = r.read_event().expect("well-formed");
            match &ev {
                Event::Text(t) => run.push_text(t),
                Event::GeneralRef(g) => run.push_ref(g),
                _ => {
                    if let Some(t) = run.take() {
                        out.push(t.map_err(|e| e.to_string()));
                    }
                }
            }
            if matches!(ev, Event::Eof) {
                return out;
            }
        }
    }

    #[test]
    fn text_runs_decode_like_quick_xml_0_37() {
        assert_eq!(
            runs("<a>  A &amp; B &lt;x&gt; &quot;q&quot; &apos;s&apos; &#x27;h&#39;d&#233; </a>"),
            [Ok("A & B <x> \"q\" 's' 'h'dé".to_owned())]
        );
        // Trimming applies to the text as written: a character reference
        // for a space is kept.
        assert_eq!(runs("<a>&#32;x&#x20;</a>"), [Ok(" x ".to_owned())]);
        assert_eq!(runs("<a> &amp; </a>"), [Ok("&".to_owned())]);
        // Whitespace-only runs are no text; markup ends a run.
        assert_eq!(
            runs("<a>\n  <b>x<!-- c -->y</b>\n</a>"),
            [Ok("x".to_owned()), Ok("y".to_owned())]
        );
        // Unknown entities, lone `&` and bad character references are
        // errors of the run, with 0.37's messages.
        assert_eq!(
            runs("<a>unknown &foo; entity</a><b>a & b</b><c>&#0;</c>"),
            [
                Err("at 9..12: unrecognized entity `foo`".to_owned()),
                Err(
                    "Error while escaping character at range 2..5: Cannot find ';' after '&'"
                        .to_owned()
                ),
                Err(
                    "invalid character reference: 0x0 character is not permitted in XML".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn attribute_values_are_unescaped_not_normalized() {
        let mut r = Reader::from_str("<a x=\"1&amp;2 &#x27;q&#39;\ttab\" y=\"&bar;\"/>");
        let Event::Empty(e) = r.read_event().expect("event") else {
            panic!("not an empty element")
        };
        let vals: Vec<_> = e
            .attributes()
            .map(|a| {
                attr_value(&a.expect("attribute"))
                    .map(Cow::into_owned)
                    .map_err(|e| e.to_string())
            })
            .collect();
        assert_eq!(
            vals,
            [
                Ok("1&2 'q'\ttab".to_owned()),
                Err("at 1..4: unrecognized entity `bar`".to_owned())
            ]
        );
    }
}
