//! The request handlers' database connections: at most `max` open at once
//! per server process, so that a few servers fit in PostgreSQL's
//! `max_connections` (100 by default) and SQLite is not handed hundreds of
//! readers. A request waits up to `wait` for a connection, then is
//! answered 503 with `Retry-After` ([`crate::kit::with_db`]); the permit is
//! taken before the request occupies a blocking thread, so that a queue of
//! requests costs tasks, not threads.
//!
//! The migration check ran once when the server started: connections
//! opened here skip it ([`Db::connect`]).

use std::ops::Deref;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use kensa_store::{Backend, Db};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub struct Pool {
    backend: Backend,
    idle: Mutex<Vec<Db>>,
    permits: Arc<Semaphore>,
    max: usize,
    wait: Duration,
}

/// Why no connection was handed out.
pub enum PoolError {
    /// Every connection stayed busy for the whole wait.
    Busy { max: usize, wait: Duration },
    /// Opening a connection failed.
    KnowledgeBase(kensa_store::StoreError),
}

impl Pool {
    pub fn new(backend: Backend, max: usize, wait: Duration) -> Arc<Pool> {
        let max = max.max(1);
        Arc::new(Pool {
            backend,
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(max)),
            max,
            wait,
        })
    }

    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// Waits (asynchronously) for a free slot, up to the pool's wait.
    pub async fn permit(&self) -> Result<OwnedSemaphorePermit, PoolError> {
        let busy = || PoolError::Busy {
            max: self.max,
            wait: self.wait,
        };
        match tokio::time::timeout(self.wait, Arc::clone(&self.permits).acquire_owned()).await {
            Ok(Ok(p)) => Ok(p),
            // Timed out, or the semaphore was closed (never done).
            _ => Err(busy()),
        }
    }

    /// A connection for the holder of `permit`: an idle one, else a new
    /// one (there are never more than `max`, one per permit).
    pub fn get(self: &Arc<Self>, permit: OwnedSemaphorePermit) -> Result<Pooled, PoolError> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let db = match idle {
            Some(db) => db,
            None => Db::connect(&self.backend).map_err(PoolError::KnowledgeBase)?,
        };
        Ok(Pooled {
            db: Some(db),
            pool: Arc::clone(self),
            _permit: permit,
        })
    }
}

/// A connection that goes back to the pool when dropped, and frees its
/// slot after that.
pub struct Pooled {
    db: Option<Db>,
    pool: Arc<Pool>,
    // Declared last: dropped after the connection is back in the pool.
    _permit: OwnedSemaphorePermit,
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
            // A connection the database dropped (a restart) is not kept:
            // the next request opens a fresh one.
            if db.is_closed() {
                return;
            }
            let mut idle = self
                .pool
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if idle.len() < self.pool.max {
                idle.push(db);
            }
        }
    }
}
