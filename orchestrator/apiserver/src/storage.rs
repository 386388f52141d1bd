//! The datastore as the API server uses it: the chosen backend, with Secrets encrypted at rest
//! (AES-256-GCM, upstream's `aesgcm` provider format) when the server was asked to.
//!
//! Encryption is off by default, like upstream. With it on, Secrets are written as
//! `k8s:enc:aesgcm:v1:key1:<nonce><ciphertext+tag>`; encrypted values are read back whenever the key
//! file exists, so turning encryption off later keeps old Secrets readable.

use std::path::Path;

use bytes::Bytes;
use clusterd_store::{
    AnyStore, Event, KeyValue, ListOptions, ListResult, Result, Store, WatchStream,
};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};

/// The prefix of encrypted values.
const PREFIX: &[u8] = b"k8s:enc:aesgcm:v1:key1:";
/// The keys whose values are encrypted.
const SECRETS: &str = "/registry/core/secrets/";

/// The AES-256-GCM key Secrets are encrypted with.
pub struct SecretCipher {
    key: LessSafeKey,
    rng: SystemRandom,
    encrypt: bool,
}

impl std::fmt::Debug for SecretCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretCipher")
            .field("encrypt", &self.encrypt)
            .finish_non_exhaustive()
    }
}

impl SecretCipher {
    /// Loads the 32-byte key at `path`, creating it (mode 0600) when `encrypt` is on and it is
    /// missing. `None` when encryption is off and there is no key (nothing to encrypt or decrypt).
    pub fn load_or_create(path: &Path, encrypt: bool) -> crate::Result<Option<Self>> {
        let io = |operation, source| crate::Error::Io {
            operation,
            path: path.to_owned(),
            source,
        };
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !encrypt => return Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                SystemRandom::new().fill(&mut key).map_err(|_| {
                    io(
                        "generate secrets encryption key",
                        std::io::Error::other("no randomness"),
                    )
                })?;
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| io("create directory for", e))?;
                }
                use std::io::Write as _;
                use std::os::unix::fs::OpenOptionsExt as _;
                let mut file = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(path)
                    .map_err(|e| io("create secrets encryption key", e))?;
                file.write_all(&key)
                    .and_then(|()| file.sync_all())
                    .map_err(|e| io("write secrets encryption key", e))?;
                key.to_vec()
            }
            Err(e) => return Err(io("read secrets encryption key", e)),
        };
        let key = UnboundKey::new(&AES_256_GCM, &bytes).map_err(|_| {
            io(
                "use secrets encryption key",
                std::io::Error::other("the key must be 32 bytes"),
            )
        })?;
        Ok(Some(Self {
            key: LessSafeKey::new(key),
            rng: SystemRandom::new(),
            encrypt,
        }))
    }

    fn seal(&self, value: &[u8]) -> Option<Bytes> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).ok()?;
        let mut data = value.to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut data)
            .ok()?;
        let mut out = PREFIX.to_vec();
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&data);
        Some(Bytes::from(out))
    }

    fn open(&self, value: &[u8]) -> Option<Bytes> {
        let rest = value.strip_prefix(PREFIX)?;
        if rest.len() < NONCE_LEN {
            return None;
        }
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut data = sealed.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::empty(), &mut data)
            .ok()?;
        Some(Bytes::copy_from_slice(plain))
    }
}

/// The store every handler goes through.
#[derive(Debug, Clone)]
pub struct ObjectStore {
    inner: AnyStore,
    cipher: Option<std::sync::Arc<SecretCipher>>,
}

impl ObjectStore {
    /// `inner`, encrypting Secrets with `cipher` when given (and asked to).
    pub fn new(inner: AnyStore, cipher: Option<SecretCipher>) -> Self {
        Self {
            inner,
            cipher: cipher.map(std::sync::Arc::new),
        }
    }

    /// The backend itself (for maintenance such as compaction).
    pub fn backend(&self) -> &AnyStore {
        &self.inner
    }

    fn write_value(&self, key: &str, value: Bytes) -> Bytes {
        match &self.cipher {
            Some(cipher) if cipher.encrypt && key.starts_with(SECRETS) => {
                cipher.seal(&value).unwrap_or(value)
            }
            _ => value,
        }
    }

    fn read_kv(&self, mut kv: KeyValue) -> KeyValue {
        if kv.value.starts_with(PREFIX) {
            if let Some(plain) = self.cipher.as_ref().and_then(|c| c.open(&kv.value)) {
                kv.value = plain;
            }
        }
        kv
    }

    /// See [`Store::current_revision`].
    pub async fn current_revision(&self) -> Result<i64> {
        self.inner.current_revision().await
    }

    /// See [`Store::get`].
    pub async fn get(&self, key: &str) -> Result<Option<KeyValue>> {
        Ok(self.inner.get(key).await?.map(|kv| self.read_kv(kv)))
    }

    /// See [`Store::list`].
    pub async fn list(&self, prefix: &str, opts: ListOptions) -> Result<ListResult> {
        let mut page = self.inner.list(prefix, opts).await?;
        page.items = page.items.into_iter().map(|kv| self.read_kv(kv)).collect();
        Ok(page)
    }

    /// See [`Store::create`].
    pub async fn create(&self, key: &str, value: Bytes) -> Result<i64> {
        self.inner.create(key, self.write_value(key, value)).await
    }

    /// See [`Store::update`].
    pub async fn update(&self, key: &str, value: Bytes, expected_mod_revision: i64) -> Result<i64> {
        self.inner
            .update(key, self.write_value(key, value), expected_mod_revision)
            .await
    }

    /// See [`Store::delete`].
    pub async fn delete(
        &self,
        key: &str,
        expected_mod_revision: Option<i64>,
    ) -> Result<(i64, KeyValue)> {
        let (revision, kv) = self.inner.delete(key, expected_mod_revision).await?;
        Ok((revision, self.read_kv(kv)))
    }

    /// See [`Store::watch`]; values arrive decrypted.
    pub async fn watch(&self, prefix: &str, from_revision: i64) -> Result<ObjectWatch> {
        Ok(ObjectWatch {
            inner: self.inner.watch(prefix, from_revision).await?,
            store: self.clone(),
        })
    }

    /// See [`Store::compact`].
    pub async fn compact(&self, revision: i64) -> Result<()> {
        self.inner.compact(revision).await
    }

    /// See [`Store::close`].
    pub async fn close(&self) -> Result<()> {
        self.inner.close().await
    }
}

/// A watch whose values arrive decrypted.
#[derive(Debug)]
pub struct ObjectWatch {
    inner: WatchStream,
    store: ObjectStore,
}

impl ObjectWatch {
    /// The next change, or `None` once the watch has ended.
    pub async fn next(&mut self) -> Option<Result<Event>> {
        let event = self.inner.next().await?;
        Some(event.map(|event| match event {
            Event::Put { kv, prev } => Event::Put {
                kv: self.store.read_kv(kv),
                prev: prev.map(|p| self.store.read_kv(p)),
            },
            Event::Delete { kv, prev } => Event::Delete {
                kv: self.store.read_kv(kv),
                prev: prev.map(|p| self.store.read_kv(p)),
            },
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_with_the_same_key_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("enc/aesgcm.key");
        assert!(
            SecretCipher::load_or_create(&path, false)
                .unwrap()
                .is_none(),
            "off and no key: nothing to do"
        );
        let cipher = SecretCipher::load_or_create(&path, true).unwrap().unwrap();
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&path).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
        let sealed = cipher
            .seal(b"{\"data\":{\"password\":\"czNjcjN0\"}}")
            .unwrap();
        assert!(sealed.starts_with(PREFIX));
        assert!(!String::from_utf8_lossy(&sealed).contains("czNjcjN0"));
        let reloaded = SecretCipher::load_or_create(&path, false).unwrap().unwrap();
        assert_eq!(
            reloaded.open(&sealed).unwrap().as_ref(),
            b"{\"data\":{\"password\":\"czNjcjN0\"}}"
        );
        let other = SecretCipher::load_or_create(&dir.path().join("other.key"), true)
            .unwrap()
            .unwrap();
        assert!(other.open(&sealed).is_none());
    }
}
