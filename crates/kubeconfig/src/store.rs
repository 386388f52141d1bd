//! The user's kubeconfig file(s): read the merged view, or change them under the lock.

use std::path::Path;
use std::time::Duration;

use crate::document::{Document, Section};
use crate::error::{Error, Result};
use crate::location::Location;
use crate::lock::{self, DEFAULT_LOCK_TIMEOUT};
use crate::model::{Entry, Kubeconfig};
use crate::persist::{read_optional, write_file};
use crate::standalone;

/// Whether adding an entry also makes it kubectl's current context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CurrentContext {
    /// Set current-context to the new entry (what `clusterctl create` does by default).
    Switch,
    /// Leave current-context as it is.
    Keep,
}

/// The kubeconfig file(s) of a [`Location`], read and changed the way kubectl does.
#[derive(Debug, Clone)]
pub struct Store {
    location: Location,
    lock_timeout: Duration,
}

impl Store {
    /// A store over the files of `location`.
    pub fn new(location: Location) -> Self {
        Self {
            location,
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
        }
    }

    /// The store kubectl would use: `explicit` (`--kubeconfig`), else `$KUBECONFIG`, else
    /// `~/.kube/config`.
    pub fn open(explicit: Option<&Path>) -> Result<Self> {
        Location::resolve(explicit).map(Self::new)
    }

    /// The same store, waiting at most `timeout` for another process's lock (default 10 s).
    pub fn with_lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// The files this store reads and writes.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// The merged view of all files: the first file to define a name wins. Missing files count
    /// as empty.
    pub fn load(&self) -> Result<Kubeconfig> {
        let mut merged = Kubeconfig::default();
        for path in self.location.files() {
            let doc = Document::parse(path, read_optional(path)?)?;
            merged.merge_missing(doc.typed()?);
        }
        Ok(merged)
    }

    /// The context names of the merged view, in file order.
    pub fn contexts(&self) -> Result<Vec<String>> {
        Ok(self.load()?.contexts.into_iter().map(|c| c.name).collect())
    }

    /// The current context of the merged view, if one is set.
    pub fn current_context(&self) -> Result<Option<String>> {
        Ok(self.load()?.current_context().map(str::to_owned))
    }

    /// Adds or replaces the cluster, user and context named `entry.name` (merge), optionally
    /// switching to it. An existing item is replaced in the file that holds it; a new one goes
    /// to [`Location::write_target`]. Nothing else in any file changes.
    pub fn upsert(&self, entry: &Entry, current: CurrentContext) -> Result<()> {
        let target = self.location.write_target().to_owned();
        self.modify(|docs| {
            let target = docs
                .iter()
                .position(|d| d.0 == target.as_path())
                .unwrap_or(0);
            let name = entry.name.as_str();
            let home = |docs: &[(&Path, Document)], section| -> Result<usize> {
                for (i, (_, doc)) in docs.iter().enumerate() {
                    if doc.has_item(section, name)? {
                        return Ok(i);
                    }
                }
                Ok(target)
            };
            let i = home(docs, Section::Clusters)?;
            docs[i]
                .1
                .upsert_item(Section::Clusters, name, &entry.named_cluster())?;
            let i = home(docs, Section::Users)?;
            docs[i]
                .1
                .upsert_item(Section::Users, name, &entry.named_user())?;
            let i = home(docs, Section::Contexts)?;
            docs[i]
                .1
                .upsert_item(Section::Contexts, name, &entry.named_context())?;
            if current == CurrentContext::Switch
                && docs[target].1.current_context()?.as_deref() != Some(name)
            {
                docs[target].1.set_current_context(name)?;
            }
            Ok(())
        })
    }

    /// Deletes the cluster, user and context named `context` from every file that holds them,
    /// and unsets current-context (to `""`) where it pointed at `context`. Other entries, even
    /// ones the context referred to under other names, are left alone. Returns whether anything
    /// was removed.
    pub fn remove(&self, context: &str) -> Result<bool> {
        self.modify(|docs| {
            let mut removed = false;
            for (_, doc) in docs.iter_mut() {
                for section in [Section::Contexts, Section::Clusters, Section::Users] {
                    removed |= doc.remove_items(section, context)?;
                }
                if doc.current_context()?.as_deref() == Some(context) {
                    doc.set_current_context("")?;
                    removed = true;
                }
            }
            Ok(removed)
        })
    }

    /// The context `context` with its cluster and user, alone in a kubeconfig document that has
    /// it as current context (what `clusterctl kubeconfig write --output FILE` writes). Entries
    /// are copied as they are in the file, fields clusterctl does not model included.
    pub fn render_standalone(&self, context: &str) -> Result<String> {
        let mut texts = Vec::with_capacity(self.location.files().len());
        for path in self.location.files() {
            let doc = Document::parse(path, read_optional(path)?)?;
            texts.push((path.clone(), doc.text().to_owned()));
        }
        standalone::extract(&texts, context).map_err(|missing| match missing {
            standalone::Missing::Context => Error::ContextNotFound {
                name: context.to_owned(),
                files: self.location.describe(),
            },
            standalone::Missing::Entry { kind, name } => Error::DanglingReference {
                context: context.to_owned(),
                kind,
                name,
                files: self.location.describe(),
            },
            standalone::Missing::Failed(e) => e,
        })
    }

    /// Runs `edit` on every file of the location under their locks, then writes back the files
    /// whose text changed. A failing edit writes nothing.
    fn modify<R>(&self, edit: impl FnOnce(&mut [(&Path, Document)]) -> Result<R>) -> Result<R> {
        let files = self.location.files();
        let _locks = lock::acquire_all(files, self.lock_timeout)?;
        let mut docs = Vec::with_capacity(files.len());
        for path in files {
            docs.push((path.as_path(), Document::parse(path, read_optional(path)?)?));
        }
        let before: Vec<String> = docs.iter().map(|(_, d)| d.contents()).collect();
        let result = edit(&mut docs)?;
        for ((path, doc), old) in docs.iter().zip(&before) {
            let contents = doc.contents();
            if contents != *old {
                doc.typed().map_err(|e| Error::EditFailed {
                    path: path.to_path_buf(),
                    message: e.to_string(),
                })?;
                write_file(path, &contents)?;
            }
        }
        Ok(result)
    }
}
