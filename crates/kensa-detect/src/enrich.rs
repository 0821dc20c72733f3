//! What a finding takes from the knowledge base's records about its
//! vulnerability (titles, descriptions, references, CVSS vectors, KEV,
//! EPSS), read without building whole records.
//!
//! Why not [`kensa_kb::base::KnowledgeBase::get`]: a scan of a big root reads the
//! records of tens of thousands of vulnerabilities, and a whole record
//! carries what a finding never shows (a tracker entry's affected
//! packages for every release, CWEs, modification dates). Building those
//! was most of the scan's allocations; here they are skipped while
//! parsing.
//!
//! Each CVSS vector is parsed and scored once per scan and thread, not
//! once per finding: a few hundred distinct vectors serve thousands of
//! findings.

use std::collections::HashMap;

use kensa_kb::base::KnowledgeBase;
use kensa_kb::model::{Feed, Severity};
use serde::Deserialize;
use serde::de::{IgnoredAny, MapAccess, Visitor};

use crate::error::Result;
use crate::finding::CvssScore;

#[derive(Deserialize)]
pub(crate) struct AdvisoryView {
    pub id: String,
    pub feed: Feed,
    pub published: Option<String>,
    pub summary: Option<String>,
    pub severity: Option<Severity>,
    #[serde(default)]
    pub cvss: Vec<String>,
    #[serde(default)]
    pub references: Vec<String>,
}

#[derive(Deserialize)]
pub(crate) struct CvssVectorView {
    pub source: String,
    pub vector: String,
}

#[derive(Deserialize)]
pub(crate) struct VulnerabilityView {
    pub id: String,
    pub description: Option<String>,
    pub published: Option<String>,
    #[serde(default)]
    pub references: Vec<String>,
    #[serde(default)]
    pub cvss: Vec<CvssVectorView>,
}

#[derive(Deserialize)]
pub(crate) struct KevView {
    pub cve: String,
    pub date_added: String,
    pub due_date: String,
    pub ransomware: bool,
    pub required_action: String,
}

#[derive(Deserialize)]
pub(crate) struct EpssView {
    pub cve: String,
    pub score: f64,
    pub percentile: f64,
    pub date: String,
}

/// One stored record (`{"Advisory": {...}}`, the knowledge base's
/// externally tagged `Record`), as much of it as enrichment reads. A kind
/// it does not read (end-of-life cycles, a kind added later) is `Other`.
pub(crate) enum RecordView {
    Advisory(AdvisoryView),
    Vulnerability(VulnerabilityView),
    Kev(KevView),
    Epss(EpssView),
    Other,
}

impl<'de> Deserialize<'de> for RecordView {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RecordView;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a record: an object with one key naming its kind")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<RecordView, A::Error> {
                let Some(kind) = map.next_key::<std::borrow::Cow<'de, str>>()? else {
                    return Err(serde::de::Error::custom("a record with no kind"));
                };
                let view = match kind.as_ref() {
                    "Advisory" => RecordView::Advisory(map.next_value()?),
                    "Vulnerability" => RecordView::Vulnerability(map.next_value()?),
                    "Kev" => RecordView::Kev(map.next_value()?),
                    "Epss" => RecordView::Epss(map.next_value()?),
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                        RecordView::Other
                    }
                };
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(view)
            }
        }
        d.deserialize_map(V)
    }
}

/// The records filed under `id`, as views.
pub(crate) fn records(store: &KnowledgeBase, id: &str) -> Result<Vec<RecordView>> {
    store
        .get_raw(id)?
        .iter()
        .map(|bytes| {
            serde_json::from_slice(bytes).map_err(|e| {
                crate::error::DetectError::from(kensa_kb::KbError::Format {
                    path: store.generation().join("records.bin").display().to_string(),
                    message: format!("a record of {id}: {e}"),
                })
            })
        })
        .collect()
}

/// A vector's scores, which do not depend on who published it.
#[derive(Clone)]
struct Scored {
    version: String,
    base: f64,
    temporal: Option<f64>,
    environmental: Option<f64>,
}

/// Parsed and scored vectors, by their text: one parse per distinct
/// vector.
#[derive(Default)]
pub(crate) struct VectorCache {
    scored: HashMap<String, Option<Scored>>,
}

impl VectorCache {
    /// [`crate::score::score_vector`], remembered.
    pub fn score(&mut self, source: &str, vector: &str) -> Option<CvssScore> {
        let vector = vector.trim();
        let s = match self.scored.get(vector) {
            Some(s) => s.clone(),
            None => {
                let s = crate::score::score_vector(source, vector).map(|c| Scored {
                    version: c.version,
                    base: c.base_score,
                    temporal: c.temporal_score,
                    environmental: c.environmental_score,
                });
                self.scored.insert(vector.to_owned(), s.clone());
                s
            }
        }?;
        Some(CvssScore {
            source: source.to_owned(),
            version: s.version,
            vector: vector.to_owned(),
            base_score: s.base,
            temporal_score: s.temporal,
            environmental_score: s.environmental,
        })
    }
}
