//! Names people own, without accounts.
//!
//! A client may claim a free name: the server hands it a random secret token
//! and keeps only the token's SHA-256. From then on the name needs the token;
//! without it the connection gets `name_taken`. Every tab of one browser
//! shares the token, so one person with several tabs is one user. A short,
//! single-use transfer code moves a name to another device. Claims unused for
//! the configured time are released.
//!
//! Clients that never claim (protocol v1 clients) keep working with any name
//! nobody has claimed, exactly as before.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::clock::now_millis;
use crate::ids::{UserId, hex, random_bytes};
use crate::protocol::{ErrorCode, Refusal};
use crate::store::{Change, ClaimRecord, Store};
use crate::sync::lock;
use crate::username::look_alike_key;

/// How long a transfer code stays valid.
const TRANSFER_CODE_LIFETIME: Duration = Duration::from_secs(10 * 60);
/// Transfer codes use letters and digits that cannot be mistaken for each
/// other when read off a screen.
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
const CODE_LENGTH: usize = 8;

/// What a connecting client offers to prove who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// Nothing: a v1 client, or one using a name it does not own.
    None,
    /// "I want to own this name": claim it if it is free.
    Claim,
    /// The token from an earlier claim.
    Token(String),
    /// A transfer code shown on the owner's other device.
    TransferCode(String),
}

/// The outcome of checking a name against its claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// Nobody owns the name and the client did not ask to.
    Anonymous,
    /// The client owns the name, as user `user_id`. `issued` is a token it
    /// must keep, when this connection created or moved the claim.
    Owner {
        user_id: UserId,
        issued: Option<String>,
    },
}

/// Why a name cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("\"{0}\" belongs to someone else; pick another name")]
    Owned(String),
    #[error("that looks too much like \"{0}\", a name someone owns; pick another name")]
    LooksLike(String),
    #[error("that transfer code is wrong or has expired")]
    BadCode,
}

impl Refused {
    /// The refusal a client is told: `name_taken` (with the name it is
    /// taken as, or looks like) or `invalid_code`.
    pub fn refusal(&self) -> Refusal {
        let refusal = match self {
            Refused::Owned(_) | Refused::LooksLike(_) => {
                Refusal::new(ErrorCode::NameTaken, self.to_string())
            }
            Refused::BadCode => Refusal::new(ErrorCode::InvalidCode, self.to_string()),
        };
        match self {
            Refused::Owned(name) => refusal.detail("owned").param("name", name.as_str()),
            Refused::LooksLike(name) => refusal.detail("looks_like").param("name", name.as_str()),
            Refused::BadCode => refusal,
        }
    }
}

struct Claim {
    /// Stable across renames and device moves.
    user_id: UserId,
    name: String,
    token_hash: [u8; 32],
    last_seen: i64,
    /// An outstanding transfer code and when it expires.
    transfer: Option<(String, i64)>,
}

/// Handle to the claims. Cheap to clone.
#[derive(Clone)]
pub struct Identity {
    inner: Arc<Inner>,
}

struct Inner {
    /// Held only for map lookups and updates, never across I/O: writes to
    /// disk are queued to the store.
    claims: Mutex<Claims>,
    store: Store,
    ttl: Duration,
}

impl Identity {
    /// Loads the claims the store kept, dropping those unused for `ttl`.
    pub fn load(store: Store, records: Vec<ClaimRecord>, ttl: Duration) -> Identity {
        let identity = Identity {
            inner: Arc::new(Inner {
                claims: Mutex::new(Claims::default()),
                store,
                ttl,
            }),
        };
        {
            let mut claims = identity.claims();
            records
                .into_iter()
                .for_each(|r| claims.insert(Claim::from_record(r)));
        }
        identity.release_expired();
        identity
    }

    /// Takes in what another instance changed: the claims on the names in
    /// `only` (lowercased; every name when `None`) become what `records`
    /// says; those missing from it are released. A name in `only` that
    /// `may_replace` refuses (one this instance changed meanwhile) is left
    /// as it is and returned, to be read again.
    pub fn refresh(
        &self,
        only: Option<&[String]>,
        records: Vec<ClaimRecord>,
        may_replace: impl Fn(&str) -> bool,
    ) -> Vec<String> {
        let mut claims = self.claims();
        let mut skipped = Vec::new();
        let old: Vec<Claim> = match only {
            Some(only) => only
                .iter()
                .filter(|name| {
                    let replace = may_replace(name);
                    if !replace {
                        skipped.push((*name).clone());
                    }
                    replace
                })
                .filter_map(|name| claims.remove(name))
                .collect(),
            None => std::mem::take(&mut *claims).by_name.into_values().collect(),
        };
        for record in records {
            if skipped.contains(&key(&record.name)) {
                continue;
            }
            let mut claim = Claim::from_record(record);
            // A transfer code shown here stays valid while the name stays
            // with its owner.
            claim.transfer = old
                .iter()
                .find(|old| old.user_id == claim.user_id && key(&old.name) == key(&claim.name))
                .and_then(|old| old.transfer.clone());
            claims.insert(claim);
        }
        skipped
    }

    fn claims(&self) -> MutexGuard<'_, Claims> {
        lock(&self.inner.claims)
    }

    /// Decides whether `credential` may use `name`, claiming or moving the
    /// claim as asked.
    pub fn check(&self, name: &str, credential: &Credential) -> Result<Standing, Refused> {
        let now = now_millis();
        let mut claims = self.claims();
        if let Some(owned) = claims.look_alike(name) {
            return Err(Refused::LooksLike(owned.to_owned()));
        }
        let existing = claims.by_name.get_mut(&key(name));
        let standing = match (existing, credential) {
            (None, Credential::None) => return Ok(Standing::Anonymous),
            (None, Credential::TransferCode(_)) => return Err(Refused::BadCode),
            (None, Credential::Claim) => {
                let token = new_token();
                let claim = Claim::new(name, &token, now);
                let user_id = claim.user_id.clone();
                claims.insert(claim);
                Standing::Owner {
                    user_id,
                    issued: Some(token),
                }
            }
            // A token for a free name: its claim expired or was never saved
            // (a crash right after issuing it). Take the name back with it.
            (None, Credential::Token(token)) => {
                let claim = Claim::new(name, token, now);
                let user_id = claim.user_id.clone();
                claims.insert(claim);
                Standing::Owner {
                    user_id,
                    issued: None,
                }
            }
            (Some(claim), Credential::Token(token)) if hash(token) == claim.token_hash => {
                claim.last_seen = now;
                Standing::Owner {
                    user_id: claim.user_id.clone(),
                    issued: None,
                }
            }
            (Some(claim), Credential::TransferCode(code)) => {
                let valid = claim.transfer.as_ref().is_some_and(|(expected, expires)| {
                    expected == &normalize_code(code) && *expires > now
                });
                if !valid {
                    return Err(Refused::BadCode);
                }
                // The name moves: the new device gets a fresh token and the
                // old device's token stops working.
                let token = new_token();
                claim.token_hash = hash(&token);
                claim.transfer = None;
                claim.last_seen = now;
                Standing::Owner {
                    user_id: claim.user_id.clone(),
                    issued: Some(token),
                }
            }
            (Some(claim), _) => return Err(Refused::Owned(claim.name.clone())),
        };
        if let Some(claim) = claims.by_name.get(&key(name)) {
            self.inner.store.save(Change::SaveClaim(claim.record()));
        }
        Ok(standing)
    }

    /// Whose token this is, for requests that carry only the token (file
    /// uploads and downloads): the user and their current name. A scan, not
    /// an index: it compares one hash per claim, and tokens change on a
    /// device move, where an index would have to follow.
    pub fn user_by_token(&self, token: &str) -> Option<(UserId, String)> {
        let wanted = hash(token);
        let claims = self.claims();
        let claim = claims
            .by_name
            .values()
            .find(|claim| claim.token_hash == wanted)?;
        Some((claim.user_id.clone(), claim.name.clone()))
    }

    /// `name` as its owner spells it, if someone owns it (any letter case).
    pub fn owned_name(&self, name: &str) -> Option<String> {
        self.claims()
            .by_name
            .get(&key(name))
            .map(|claim| claim.name.clone())
    }

    /// The user who owns `name`, if anyone does.
    pub fn user_of(&self, name: &str) -> Option<UserId> {
        self.claims()
            .by_name
            .get(&key(name))
            .map(|claim| claim.user_id.clone())
    }

    /// The current name of each user id (unknown ids are left out).
    pub fn names_of(&self, users: &[UserId]) -> Vec<String> {
        let claims = self.claims();
        users
            .iter()
            .filter_map(|user| {
                claims
                    .by_name
                    .values()
                    .find(|claim| &claim.user_id == user)
                    .map(|claim| claim.name.clone())
            })
            .collect()
    }

    /// Moves `from`'s claim (if any) to `to`, which must be unclaimed unless
    /// it is the same name in another case.
    pub fn rename(&self, from: &str, to: &str) -> Result<(), Refused> {
        let mut claims = self.claims();
        if key(from) != key(to) && claims.by_name.contains_key(&key(to)) {
            return Err(Refused::Owned(to.to_owned()));
        }
        if let Some(owned) = claims.look_alike(to)
            && key(owned) != key(from)
        {
            return Err(Refused::LooksLike(owned.to_owned()));
        }
        if let Some(mut claim) = claims.remove(&key(from)) {
            self.inner
                .store
                .save(Change::DeleteClaim(claim.name.clone()));
            claim.name = to.to_owned();
            claim.last_seen = now_millis();
            self.inner.store.save(Change::SaveClaim(claim.record()));
            claims.insert(claim);
        }
        Ok(())
    }

    /// A fresh single-use code that moves `name` to another device, and when
    /// it expires (ms since the epoch). Only for owned names.
    pub fn transfer_code(&self, name: &str) -> Option<(String, i64)> {
        let mut claims = self.claims();
        let claim = claims.by_name.get_mut(&key(name))?;
        let code = new_code();
        let expires = now_millis() + TRANSFER_CODE_LIFETIME.as_millis() as i64;
        claim.transfer = Some((code.clone(), expires));
        Some((code, expires))
    }

    /// Notes that the owner of `name` was here now, so the claim stays.
    pub fn touch(&self, name: &str) {
        let mut claims = self.claims();
        if let Some(claim) = claims.by_name.get_mut(&key(name)) {
            claim.last_seen = now_millis();
            self.inner.store.save(Change::SaveClaim(claim.record()));
        }
    }

    /// Releases claims unused for longer than the configured time.
    pub fn release_expired(&self) -> usize {
        let cutoff = now_millis() - self.inner.ttl.as_millis() as i64;
        let mut claims = self.claims();
        let expired: Vec<String> = claims
            .by_name
            .iter()
            .filter(|(_, claim)| claim.last_seen < cutoff)
            .map(|(key, _)| key.clone())
            .collect();
        for key in &expired {
            if let Some(claim) = claims.remove(key) {
                log::info!("released the unused name \"{}\"", claim.name);
                self.inner
                    .store
                    .save(Change::DeleteClaim(claim.name.clone()));
            }
        }
        expired.len()
    }
}

/// Every claim, by lowercased name (so "Alice" and "alice" are one claim),
/// and which claim each look ([`look_alike_key`]) belongs to.
#[derive(Default)]
struct Claims {
    by_name: HashMap<String, Claim>,
    by_look: HashMap<String, String>,
}

impl Claims {
    fn insert(&mut self, claim: Claim) {
        let name_key = key(&claim.name);
        self.by_look
            .insert(look_alike_key(&claim.name), name_key.clone());
        self.by_name.insert(name_key, claim);
    }

    fn remove(&mut self, name_key: &str) -> Option<Claim> {
        let claim = self.by_name.remove(name_key)?;
        let look = look_alike_key(&claim.name);
        if self
            .by_look
            .get(&look)
            .is_some_and(|owner| owner == name_key)
        {
            self.by_look.remove(&look);
        }
        Some(claim)
    }

    /// The owned name that `name` looks like, if that is another name.
    fn look_alike(&self, name: &str) -> Option<&str> {
        let owner = self.by_look.get(&look_alike_key(name))?;
        if *owner == key(name) {
            return None;
        }
        self.by_name.get(owner).map(|claim| claim.name.as_str())
    }
}

impl Claim {
    fn from_record(record: ClaimRecord) -> Claim {
        Claim {
            user_id: Arc::from(record.user_id),
            name: record.name,
            token_hash: record.token_hash,
            last_seen: record.last_seen,
            transfer: None,
        }
    }

    fn new(name: &str, token: &str, now: i64) -> Claim {
        Claim {
            user_id: Arc::from(uuid::Uuid::new_v4().to_string()),
            name: name.to_owned(),
            token_hash: hash(token),
            last_seen: now,
            transfer: None,
        }
    }

    fn record(&self) -> ClaimRecord {
        ClaimRecord {
            user_id: self.user_id.to_string(),
            name: self.name.clone(),
            token_hash: self.token_hash,
            last_seen: self.last_seen,
        }
    }
}

fn key(name: &str) -> String {
    name.to_lowercase()
}

fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// 128 random bits, as hex: enough for an invite link.
pub fn new_secret() -> String {
    hex(&random_bytes::<16>())
}

/// 256 random bits, as hex: a name's token.
fn new_token() -> String {
    hex(&random_bytes::<32>())
}

fn new_code() -> String {
    random_bytes::<CODE_LENGTH>()
        .iter()
        .map(|b| CODE_ALPHABET[usize::from(*b) % CODE_ALPHABET.len()] as char)
        .collect()
}

/// Codes are shown as "ABCD-EFGH" and typed in any case.
fn normalize_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}
