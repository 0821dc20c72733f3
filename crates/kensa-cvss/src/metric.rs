//! What the three vector formats share: `METRIC:VALUE` fields joined by
//! `/`, each metric at most once, in any order on input and in the
//! specification's order on output.

use std::fmt;

use crate::CvssError;

/// One metric of a version: its abbreviation, its values (without the
/// "not defined" value) and whether the base score needs it.
pub(crate) struct Def {
    pub name: &'static str,
    pub values: &'static [&'static str],
    pub mandatory: bool,
}

pub(crate) const fn base(name: &'static str, values: &'static [&'static str]) -> Def {
    Def {
        name,
        values,
        mandatory: true,
    }
}

pub(crate) const fn opt(name: &'static str, values: &'static [&'static str]) -> Def {
    Def {
        name,
        values,
        mandatory: false,
    }
}

/// The metrics of a vector, by index into its version's table: `None` is
/// "not defined" (written `X`, or `ND` in v2, or left out).
pub(crate) type Slots<const N: usize> = [Option<u8>; N];

pub(crate) struct Table<const N: usize> {
    pub defs: [Def; N],
    /// How "not defined" is written: `X` (v3, v4) or `ND` (v2).
    pub unset: &'static str,
}

impl<const N: usize> Table<N> {
    pub(crate) fn index(&self, metric: &str) -> Option<usize> {
        self.defs.iter().position(|d| d.name == metric)
    }

    /// `body` is the vector without its version prefix; `vector` is the
    /// whole input, for the error messages.
    pub(crate) fn parse(&self, vector: &str, body: &str) -> Result<Slots<N>, CvssError> {
        let mut slots = [None; N];
        let mut seen = [false; N];
        for field in body.split('/') {
            let Some((metric, value)) = field.split_once(':') else {
                return Err(CvssError::Malformed {
                    vector: vector.to_owned(),
                    field: field.to_owned(),
                });
            };
            let Some(i) = self.index(metric) else {
                return Err(CvssError::UnknownMetric {
                    vector: vector.to_owned(),
                    metric: metric.to_owned(),
                });
            };
            if seen[i] {
                return Err(CvssError::Duplicate {
                    vector: vector.to_owned(),
                    metric: metric.to_owned(),
                });
            }
            seen[i] = true;
            slots[i] = self.value(vector, i, value)?;
        }
        if let Some(d) = self.defs.iter().zip(&slots).find_map(|(d, s)| {
            if d.mandatory && s.is_none() {
                Some(d)
            } else {
                None
            }
        }) {
            return Err(CvssError::Missing {
                vector: vector.to_owned(),
                metric: d.name,
            });
        }
        Ok(slots)
    }

    /// The slot value for `value` of metric `i`; `vector` names the input
    /// in the error.
    pub(crate) fn value(
        &self,
        vector: &str,
        i: usize,
        value: &str,
    ) -> Result<Option<u8>, CvssError> {
        let def = &self.defs[i];
        if let Some(v) = def.values.iter().position(|v| *v == value) {
            return Ok(Some(v as u8));
        }
        if value == self.unset && !def.mandatory {
            return Ok(None);
        }
        Err(CvssError::InvalidValue {
            vector: vector.to_owned(),
            metric: def.name,
            value: value.to_owned(),
        })
    }

    pub(crate) fn get(&self, slots: &Slots<N>, metric: &str) -> Option<&'static str> {
        let i = self.index(metric)?;
        slots[i].map(|v| self.defs[i].values[usize::from(v)])
    }

    /// Validate and store; `vector` renders the current vector for the
    /// error (only then: `set` is meant for loops over many vectors).
    pub(crate) fn set(
        &self,
        slots: &mut Slots<N>,
        vector: impl FnOnce(&Slots<N>) -> String,
        metric: &str,
        value: &str,
    ) -> Result<(), CvssError> {
        let Some(i) = self.index(metric) else {
            return Err(CvssError::UnknownMetric {
                vector: vector(slots),
                metric: metric.to_owned(),
            });
        };
        match self.value("", i, value) {
            Ok(v) => {
                slots[i] = v;
                Ok(())
            }
            Err(_) => Err(CvssError::InvalidValue {
                vector: vector(slots),
                metric: self.defs[i].name,
                value: value.to_owned(),
            }),
        }
    }

    pub(crate) fn write(&self, f: &mut fmt::Formatter<'_>, slots: &Slots<N>) -> fmt::Result {
        let mut first = true;
        for (d, s) in self.defs.iter().zip(slots) {
            if let Some(v) = s {
                if !first {
                    f.write_str("/")?;
                }
                first = false;
                write!(f, "{}:{}", d.name, d.values[usize::from(*v)])?;
            }
        }
        Ok(())
    }
}
