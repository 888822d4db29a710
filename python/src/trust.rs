//! `TrustStore`: the core's trust store, behind a mutex so that Python threads may
//! share one. Every loader is the core's (one PEM/DER splitter,
//! [`zairyu::verify::split_certificates`]); the simulator's CAs come from
//! [`zairyu_sim::add_test_anchors`].
//!
//! The anchors are held as an `Arc` and changed copy-on-write: a read takes a
//! reference to them as they are ([`TrustStore::snapshot`]), without copying them
//! and without holding the lock during card I/O.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use pyo3::prelude::*;
use zairyu::verify::{AnchorProfile, TrustStore as CoreTrustStore};

use crate::{errors, lock};

/// `(fingerprint_hex, profile, subject, origin, key_algorithm, not_before_unix, not_after_unix)`.
type AnchorTuple = (String, &'static str, String, String, String, i64, i64);

/// The trust anchors for the certificate-chain check.
#[pyclass(module = "zairyu._native", name = "TrustStore", frozen)]
pub struct TrustStore {
    inner: Mutex<Arc<CoreTrustStore>>,
}

impl TrustStore {
    /// The anchors as they are now, for one read (shared, never changed: a change
    /// makes a new copy for the store).
    pub fn snapshot(&self) -> Arc<CoreTrustStore> {
        lock(&self.inner).clone()
    }

    /// Changes the anchors: on a copy if a read holds them, in place otherwise.
    fn change<T>(&self, f: impl FnOnce(&mut CoreTrustStore) -> T) -> T {
        f(Arc::make_mut(&mut lock(&self.inner)))
    }
}

#[pymethods]
impl TrustStore {
    #[new]
    fn new() -> Self {
        TrustStore { inner: Mutex::new(Arc::new(CoreTrustStore::new())) }
    }

    /// Production roots from a directory; every certificate must be a pinned root.
    #[staticmethod]
    fn from_dir(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let store = TrustStore::new();
        store.add_production_dir(py, path)?;
        Ok(store)
    }

    /// Adds production roots from a directory (all pinned, all or nothing).
    fn add_production_dir(&self, py: Python<'_>, path: PathBuf) -> PyResult<usize> {
        self.change(|s| s.load_production_dir(&path)).map_err(|e| errors::to_py(py, &e.into()))
    }

    /// Adds test anchors: one certificate file (DER or PEM) or every certificate of a
    /// directory. All or nothing; returns the number of certificates read.
    fn add_test_anchor(&self, py: Python<'_>, path: PathBuf) -> PyResult<usize> {
        let added = self.change(|store| {
            if path.is_dir() { store.add_test_anchors_dir(&path) } else { store.add_test_anchors_file(&path) }
        });
        added.map_err(|e| errors::to_py(py, &e.into()))
    }

    /// Adds the simulator's two test CAs (first and second generation) as test anchors.
    fn add_simulator_test_anchors(&self) {
        self.change(zairyu_sim::add_test_anchors);
    }

    /// Every anchor, in the order added.
    fn anchors(&self) -> Vec<AnchorTuple> {
        lock(&self.inner)
            .anchors()
            .iter()
            .map(|a| {
                let profile = match a.profile() {
                    AnchorProfile::Production => "production",
                    AnchorProfile::Test => "test",
                };
                (
                    a.fingerprint_hex(),
                    profile,
                    a.subject().to_owned(),
                    a.origin().to_owned(),
                    a.key_algorithm(),
                    a.not_before_unix(),
                    a.not_after_unix(),
                )
            })
            .collect()
    }

    fn __len__(&self) -> usize {
        lock(&self.inner).anchors().len()
    }
}
