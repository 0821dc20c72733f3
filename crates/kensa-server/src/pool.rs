//! A few database connections kept open for the request handlers: opening
//! one runs the migration check, which is not worth paying per request.

use std::ops::Deref;
use std::sync::{Arc, Mutex, PoisonError};

use kensa_store::{Backend, Db};

use crate::error::Result;

pub struct Pool {
    backend: Backend,
    idle: Mutex<Vec<Db>>,
    /// Connections kept idle at most; more are opened under load and
    /// closed when returned.
    keep: usize,
}

impl Pool {
    pub fn new(backend: Backend, keep: usize) -> Arc<Pool> {
        Arc::new(Pool {
            backend,
            idle: Mutex::new(Vec::new()),
            keep,
        })
    }

    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    pub fn get(self: &Arc<Self>) -> Result<Pooled> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let db = match idle {
            Some(db) => db,
            None => Db::open(&self.backend)?,
        };
        Ok(Pooled {
            db: Some(db),
            pool: Arc::clone(self),
        })
    }
}

/// A connection that goes back to the pool when dropped.
pub struct Pooled {
    db: Option<Db>,
    pool: Arc<Pool>,
}

impl Deref for Pooled {
    type Target = Db;

    fn deref(&self) -> &Db {
        // Always Some until drop.
        self.db
            .as_ref()
            .unwrap_or_else(|| unreachable!("pooled connection used after drop"))
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        if let Some(db) = self.db.take() {
            let mut idle = self
                .pool
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if idle.len() < self.pool.keep {
                idle.push(db);
            }
        }
    }
}
