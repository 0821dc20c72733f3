//! What the server's integration tests share. The test server, the
//! databases and the knowledge base are `kensa_testkit`'s (one harness for
//! every crate); `Fleet` wraps the test server so that each test file can
//! add the calls it needs as methods.

#![allow(dead_code)]

use std::path::Path;

pub use kensa_testkit::db::{Backend, backends};
pub use kensa_testkit::server::{Auth, TestServer};

/// A test server; its methods are [`TestServer`]'s and each test file's.
pub struct Fleet(pub TestServer);

impl std::ops::Deref for Fleet {
    type Target = TestServer;
    fn deref(&self) -> &TestServer {
        &self.0
    }
}

/// A server on `backend` with the data folder's knowledge base.
pub fn start(backend: &Backend) -> Fleet {
    Fleet(TestServer::start(backend))
}

/// A server on `backend` with the knowledge base in `kb_dir`.
pub fn start_with(backend: &Backend, kb_dir: &Path) -> Fleet {
    Fleet(TestServer::builder(backend).kb(kb_dir).start())
}
