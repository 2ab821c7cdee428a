//! Keys on PKCS#11 devices — the USB PKI tokens officials carry, smart cards, HSMs — through
//! the vendor's module (a `.so`/`.dll`), with the `cryptoki` crate. The private key never leaves
//! the device: kyso finds it, logs in with the user's PIN and asks the device for signatures
//! over digests.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsPssParams};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{
    Attribute, AttributeInfo, AttributeType, CertificateType, KeyType, ObjectClass, ObjectHandle,
};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use der::asn1::{Any, OctetString, Uint};
use der::Encode;
use spki::AlgorithmIdentifierOwned;

use kyso_cms::{DigestAlgorithm, SignRequest, SignatureAlgorithm, Signer};
use kyso_x509::{Cert, KeyKind};

use crate::{Error, Result, Secret};

/// Largest certificate read from a token (its `CKA_VALUE`).
pub const MAX_TOKEN_CERT_BYTES: usize = 64 * 1024;
/// At most this many objects of one class are read from a token.
const MAX_OBJECTS: usize = 256;

/// A loaded and initialized PKCS#11 module. Loaded once per path and process (PKCS#11 allows
/// one `C_Initialize` per process); shared by every signer opened from it.
pub struct Pkcs11Module {
    ctx: Pkcs11,
    path: PathBuf,
}

impl std::fmt::Debug for Pkcs11Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Module")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// The state of a token as its flags tell it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenFlags {
    pub login_required: bool,
    pub user_pin_initialized: bool,
    /// A wrong PIN was entered since the last successful login.
    pub pin_count_low: bool,
    /// One more wrong PIN locks the token.
    pub pin_final_try: bool,
    pub pin_locked: bool,
    pub pin_to_be_changed: bool,
    /// The PIN is typed on the device's own keypad.
    pub protected_authentication_path: bool,
    pub write_protected: bool,
}

/// A certificate stored on a token.
#[derive(Debug, Clone)]
pub struct TokenCertificate {
    /// `CKA_LABEL`.
    pub label: String,
    /// `CKA_ID`: the key with the same id is the certificate's private key.
    pub id: Vec<u8>,
    pub cert: Cert,
}

impl TokenCertificate {
    /// `CKA_ID` in lower-case hex.
    pub fn id_hex(&self) -> String {
        hex(&self.id)
    }
}

/// A slot with a token in it.
#[derive(Debug, Clone)]
pub struct TokenInfo {
    pub slot_id: u64,
    pub label: String,
    pub serial: String,
    pub manufacturer: String,
    pub model: String,
    pub flags: TokenFlags,
    /// The token has been initialized (a blank token has no label, PIN nor keys; listings
    /// leave it out).
    pub initialized: bool,
    /// The certificates readable without logging in.
    pub certificates: Vec<TokenCertificate>,
    /// Certificates that were on the token but could not be read (too large, not X.509 DER).
    pub unreadable_certificates: usize,
}

fn modules() -> &'static Mutex<HashMap<PathBuf, Arc<Pkcs11Module>>> {
    static LOADED: OnceLock<Mutex<HashMap<PathBuf, Arc<Pkcs11Module>>>> = OnceLock::new();
    LOADED.get_or_init(|| Mutex::new(HashMap::new()))
}

impl Pkcs11Module {
    /// Load and initialize the module at `path` (OS threads and locking allowed), or return the
    /// one already loaded from that path in this process.
    pub fn load(path: &Path) -> Result<Arc<Pkcs11Module>> {
        let key = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        let mut loaded = modules().lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(m) = loaded.get(&key) {
            return Ok(m.clone());
        }
        let fail = |reason: String| Error::ModuleLoad {
            path: path.display().to_string(),
            reason,
        };
        if !path.is_file() {
            return Err(fail("no such file".into()));
        }
        let ctx = Pkcs11::new(path).map_err(|e| fail(e.to_string()))?;
        match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
            Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
            Err(e) => return Err(fail(ck_name(&e))),
        }
        let module = Arc::new(Pkcs11Module {
            ctx,
            path: path.to_path_buf(),
        });
        loaded.insert(key, module.clone());
        Ok(module)
    }

    /// The module's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every slot holding a token, with the token's description and the certificates readable
    /// without a PIN (read-only session, no login).
    pub fn tokens(&self) -> Result<Vec<TokenInfo>> {
        let slots = self
            .ctx
            .get_slots_with_token()
            .map_err(|e| map_ck(e, "C_GetSlotList"))?;
        let mut out = Vec::with_capacity(slots.len());
        for slot in slots {
            let mut info = match self.token_info(slot) {
                Ok(i) => i,
                // A token pulled out while we list: skip it.
                Err(Error::TokenRemoved { .. }) => continue,
                Err(e) => return Err(e),
            };
            if !info.initialized {
                continue;
            }
            let session = match self.ctx.open_ro_session(slot) {
                Ok(s) => s,
                Err(e) => match map_ck(e, "C_OpenSession") {
                    Error::TokenRemoved { .. } => continue,
                    other => return Err(other),
                },
            };
            let (certs, unreadable) = certificates(&session)?;
            info.certificates = certs.into_iter().map(|(_, c)| c).collect();
            info.unreadable_certificates = unreadable;
            out.push(info);
        }
        Ok(out)
    }

    fn token_info(&self, slot: Slot) -> Result<TokenInfo> {
        let t = self
            .ctx
            .get_token_info(slot)
            .map_err(|e| map_ck(e, "C_GetTokenInfo"))?;
        Ok(TokenInfo {
            slot_id: slot.id(),
            label: t.label().trim().to_owned(),
            serial: t.serial_number().trim().to_owned(),
            manufacturer: t.manufacturer_id().trim().to_owned(),
            model: t.model().trim().to_owned(),
            flags: TokenFlags {
                login_required: t.login_required(),
                user_pin_initialized: t.user_pin_initialized(),
                pin_count_low: t.user_pin_count_low(),
                pin_final_try: t.user_pin_final_try(),
                pin_locked: t.user_pin_locked(),
                pin_to_be_changed: t.user_pin_to_be_changed(),
                protected_authentication_path: t.protected_authentication_path(),
                write_protected: t.write_protected(),
            },
            initialized: t.token_initialized(),
            certificates: Vec::new(),
            unreadable_certificates: 0,
        })
    }

    /// The slot of the token whose label or serial number is `token`.
    fn find_token(&self, token: &str) -> Result<(Slot, TokenInfo)> {
        let slots = self
            .ctx
            .get_slots_with_token()
            .map_err(|e| map_ck(e, "C_GetSlotList"))?;
        let mut found = Vec::new();
        for slot in slots {
            if let Ok(info) = self.token_info(slot) {
                if info.initialized {
                    found.push((slot, info));
                }
            }
        }
        let by_serial: Vec<_> = found.iter().filter(|(_, i)| i.serial == token).collect();
        if let [one] = by_serial.as_slice() {
            return Ok((*one).clone());
        }
        let by_label: Vec<_> = found.iter().filter(|(_, i)| i.label == token).collect();
        match by_label.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(Error::TokenNotFound {
                wanted: token.to_owned(),
                available: found
                    .iter()
                    .map(|(_, i)| format!("{} (serial {})", i.label, i.serial))
                    .collect(),
            }),
            many => Err(Error::AmbiguousToken {
                wanted: token.to_owned(),
                serials: many.iter().map(|(_, i)| i.serial.clone()).collect(),
            }),
        }
    }

    /// Log in to the token `token` (its label or serial number) with `pin` and open the signing
    /// key `key` (its label or `CKA_ID` in hex; `None`: the only key that has a certificate).
    ///
    /// PKCS#11 logs in a whole application: while another signer of this process has the
    /// token open, the token is already logged in and does not check `pin` again. Callers that
    /// must check a PIN on every use keep one signer open at a time (as `kyso agent` does).
    pub fn open_signer(
        self: &Arc<Self>,
        token: &str,
        key: Option<&str>,
        pin: &Secret,
    ) -> Result<Pkcs11Signer> {
        let (slot, info) = self.find_token(token)?;
        if info.flags.pin_locked {
            return Err(Error::PinLocked);
        }
        let session = self
            .ctx
            .open_ro_session(slot)
            .map_err(|e| map_ck(e, "C_OpenSession"))?;
        self.login(&session, slot, &info, pin)?;

        let keys = private_keys(&session)?;
        let (certs, _) = certificates(&session)?;
        let pairs: Vec<(&PrivateKey, &TokenCertificate)> = keys
            .iter()
            .filter_map(|k| {
                certs
                    .iter()
                    .find(|(_, c)| !k.id.is_empty() && c.id == k.id)
                    .map(|(_, c)| (k, c))
            })
            .collect();
        let names = |list: &[(&PrivateKey, &TokenCertificate)]| -> Vec<String> {
            let mut n: Vec<String> = list.iter().map(|(k, _)| k.display()).collect();
            n.sort();
            n
        };
        let chosen: Vec<_> = match key {
            Some(wanted) => {
                let wanted_id = wanted.replace(':', "").to_ascii_lowercase();
                pairs
                    .iter()
                    .filter(|(k, _)| k.label == wanted || hex(&k.id) == wanted_id)
                    .copied()
                    .collect()
            }
            None => pairs.clone(),
        };
        let (pk, tc) = match chosen.as_slice() {
            [one] => *one,
            [] => {
                return Err(Error::KeyNotFound {
                    wanted: key.map(str::to_owned),
                    available: if pairs.is_empty() {
                        let mut n: Vec<String> = keys.iter().map(PrivateKey::display).collect();
                        n.sort();
                        n
                    } else {
                        names(&pairs)
                    },
                })
            }
            many => {
                return Err(Error::AmbiguousKey {
                    labels: names(many),
                })
            }
        };
        let cert = tc.cert.clone();
        let kind = cert.key_kind();
        match (pk.key_type, kind) {
            (Some(KeyType::RSA), KeyKind::Rsa { .. })
            | (Some(KeyType::EC), KeyKind::EcP256 | KeyKind::EcP384) => {}
            (_, KeyKind::Rsa { .. } | KeyKind::EcP256 | KeyKind::EcP384) => {
                return Err(Error::KeyMismatch)
            }
            _ => {
                return Err(Error::Unsupported(
                    "key type (RSA, ECDSA P-256 and P-384 are supported)",
                ))
            }
        }
        let algorithm = SignatureAlgorithm::default_for(kind)?;
        let chain = chain_of(&cert, certs.iter().map(|(_, c)| &c.cert));
        Ok(Pkcs11Signer {
            module: self.clone(),
            slot,
            key: pk.handle,
            key_label: pk.display(),
            token_label: info.label,
            token_serial: info.serial,
            cert,
            chain,
            algorithm,
            login: Mutex::new(session),
            spare: Mutex::new(Vec::new()),
            max_sessions: DEFAULT_SESSIONS,
        })
    }

    fn login(&self, session: &Session, slot: Slot, info: &TokenInfo, pin: &Secret) -> Result<()> {
        let result = if info.flags.protected_authentication_path && pin.expose().is_empty() {
            session.login(UserType::User, None)
        } else {
            let auth = AuthPin::from(pin.expose());
            session.login(UserType::User, Some(&auth))
        };
        match result {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(()),
            Err(CkError::Pkcs11(RvError::PinIncorrect | RvError::PinLenRange, _)) => {
                // The flags after the failure say how many tries are left, when the token
                // tells.
                let flags = self.token_info(slot).map(|i| i.flags).unwrap_or_default();
                Err(wrong_pin(flags))
            }
            Err(e) => Err(map_ck(e, "C_Login")),
        }
    }
}

/// What [`Pkcs11Module::import_pkcs12`] wrote.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The key's certificate.
    pub cert: Cert,
    /// `CKA_ID` of the key and its certificate.
    pub id: Vec<u8>,
    /// CA certificates written beside it (those already on the token are not written again).
    pub ca_certificates: usize,
}

impl Pkcs11Module {
    /// Write the key, certificate and CA certificates of a PKCS#12 bundle to the token
    /// `token` (label or serial): the private key as a sensitive, non-extractable token object
    /// that may only sign, under `label` and `id` (default: the certificate's subject key
    /// identifier). The key material is wiped from memory once written.
    pub fn import_pkcs12(
        &self,
        token: &str,
        pin: &Secret,
        p12: &[u8],
        password: &Secret,
        label: &str,
        id: Option<&[u8]>,
    ) -> Result<Imported> {
        let (pkcs8, certs) = crate::pkcs12::read_pkcs12(p12, password)?;
        let mut certs = certs.into_iter();
        let cert = certs.next().ok_or(Error::NoKey)?;
        let id = match id {
            Some(i) => i.to_vec(),
            None => cert
                .subject_key_id()
                .unwrap_or_else(|| cert.serial_bytes().to_vec()),
        };
        let mut key = private_key_template(&pkcs8, cert.key_kind())?;
        key.extend([
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
            Attribute::Decrypt(false),
            Attribute::Unwrap(false),
            Attribute::Derive(false),
            Attribute::Label(label.as_bytes().to_vec()),
            Attribute::Id(id.clone()),
            Attribute::Subject(cert.subject_der()?),
        ]);

        let (slot, info) = self.find_token(token)?;
        if info.flags.pin_locked {
            return Err(Error::PinLocked);
        }
        let session = self
            .ctx
            .open_rw_session(slot)
            .map_err(|e| map_ck(e, "C_OpenSession"))?;
        self.login(&session, slot, &info, pin)?;
        let created = session.create_object(&key);
        wipe(&mut key);
        created.map_err(|e| map_ck(e, "C_CreateObject"))?;

        let present: Vec<Vec<u8>> = certificates(&session)?
            .0
            .into_iter()
            .map(|(_, c)| c.cert.der().to_vec())
            .collect();
        let write_cert = |c: &Cert, id: &[u8], label: &str| -> Result<()> {
            session
                .create_object(&[
                    Attribute::Class(ObjectClass::CERTIFICATE),
                    Attribute::CertificateType(CertificateType::X_509),
                    Attribute::Token(true),
                    Attribute::Private(false),
                    Attribute::Label(label.as_bytes().to_vec()),
                    Attribute::Id(id.to_vec()),
                    Attribute::Subject(c.subject_der()?),
                    Attribute::Issuer(c.issuer_der()?),
                    Attribute::SerialNumber(der_integer(c.serial_bytes())?),
                    Attribute::Value(c.der().to_vec()),
                ])
                .map(|_| ())
                .map_err(|e| map_ck(e, "C_CreateObject"))
        };
        write_cert(&cert, &id, label)?;
        let mut cas = 0;
        for ca in certs.filter(|c| c.is_ca()) {
            if present.iter().any(|d| d.as_slice() == ca.der()) {
                continue;
            }
            let ca_id = ca
                .subject_key_id()
                .unwrap_or_else(|| ca.serial_bytes().to_vec());
            let ca_label = ca.common_name().unwrap_or_else(|| "CA".to_owned());
            write_cert(&ca, &ca_id, &ca_label)?;
            cas += 1;
        }
        Ok(Imported {
            cert,
            id,
            ca_certificates: cas,
        })
    }
}

/// `CKA_SERIAL_NUMBER` is the DER INTEGER, not its content octets.
fn der_integer(serial: &[u8]) -> Result<Vec<u8>> {
    Ok(Uint::new(serial)
        .and_then(|u| u.to_der())
        .map_err(kyso_cms::Error::from)?)
}

/// The key-type attributes of a PKCS#8 private key (RFC 5208/5958): RSA components
/// (RFC 8017 `RSAPrivateKey`) or the EC curve and private value (RFC 5915 `ECPrivateKey`).
fn private_key_template(pkcs8: &[u8], kind: KeyKind) -> Result<Vec<Attribute>> {
    use der::Decode;
    #[derive(der::Sequence)]
    struct PrivateKeyInfo {
        version: u8,
        algorithm: AlgorithmIdentifierOwned,
        private_key: OctetString,
        #[asn1(
            context_specific = "0",
            tag_mode = "IMPLICIT",
            optional = "true",
            constructed = "true"
        )]
        attributes: Option<der::asn1::SetOfVec<Any>>,
        #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
        public_key: Option<der::asn1::BitString>,
    }
    #[derive(der::Sequence)]
    struct RsaPrivateKey {
        version: u8,
        n: Uint,
        e: Uint,
        d: Uint,
        p: Uint,
        q: Uint,
        dp: Uint,
        dq: Uint,
        qinv: Uint,
    }
    #[derive(der::Sequence)]
    struct EcPrivateKey {
        version: u8,
        private_key: OctetString,
        #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
        parameters: Option<der::asn1::ObjectIdentifier>,
        #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
        public_key: Option<der::asn1::BitString>,
    }
    let bad = |_| Error::Malformed("private key (PKCS#8)".into());
    let info = PrivateKeyInfo::from_der(pkcs8).map_err(bad)?;
    let inner = info.private_key.as_bytes();
    let v = |u: &Uint| u.as_bytes().to_vec();
    match kind {
        KeyKind::Rsa { .. } => {
            let k = RsaPrivateKey::from_der(inner).map_err(bad)?;
            Ok(vec![
                Attribute::KeyType(KeyType::RSA),
                Attribute::Modulus(v(&k.n)),
                Attribute::PublicExponent(v(&k.e)),
                Attribute::PrivateExponent(v(&k.d)),
                Attribute::Prime1(v(&k.p)),
                Attribute::Prime2(v(&k.q)),
                Attribute::Exponent1(v(&k.dp)),
                Attribute::Exponent2(v(&k.dq)),
                Attribute::Coefficient(v(&k.qinv)),
            ])
        }
        KeyKind::EcP256 | KeyKind::EcP384 => {
            let k = EcPrivateKey::from_der(inner).map_err(bad)?;
            let curve = match (&info.algorithm.parameters, &k.parameters) {
                (Some(p), _) => p.to_der().map_err(kyso_cms::Error::from)?,
                (None, Some(oid)) => oid.to_der().map_err(kyso_cms::Error::from)?,
                (None, None) => return Err(Error::Malformed("EC key without its curve".into())),
            };
            Ok(vec![
                Attribute::KeyType(KeyType::EC),
                Attribute::EcParams(curve),
                Attribute::Value(k.private_key.as_bytes().to_vec()),
            ])
        }
        _ => Err(Error::Unsupported(
            "key type (RSA, ECDSA P-256 and P-384 are supported)",
        )),
    }
}

/// Overwrite the secret parts of a key template.
fn wipe(template: &mut [Attribute]) {
    use zeroize::Zeroize;
    for a in template {
        match a {
            Attribute::PrivateExponent(v)
            | Attribute::Prime1(v)
            | Attribute::Prime2(v)
            | Attribute::Exponent1(v)
            | Attribute::Exponent2(v)
            | Attribute::Coefficient(v)
            | Attribute::Value(v) => v.zeroize(),
            _ => {}
        }
    }
}

fn wrong_pin(flags: TokenFlags) -> Error {
    if flags.pin_locked {
        return Error::PinLocked;
    }
    Error::WrongPin {
        attempts_left: flags.pin_final_try.then_some(1),
        count_low: flags.pin_count_low,
    }
}

struct PrivateKey {
    handle: ObjectHandle,
    label: String,
    id: Vec<u8>,
    key_type: Option<KeyType>,
}

impl PrivateKey {
    fn display(&self) -> String {
        match (self.label.is_empty(), self.id.is_empty()) {
            (false, false) => format!("{} (id {})", self.label, hex(&self.id)),
            (false, true) => self.label.clone(),
            (true, _) => format!("id {}", hex(&self.id)),
        }
    }
}

fn find(session: &Session, template: &[Attribute]) -> Result<Vec<ObjectHandle>> {
    let mut out = Vec::new();
    for h in session
        .iter_objects(template)
        .map_err(|e| map_ck(e, "C_FindObjectsInit"))?
    {
        out.push(h.map_err(|e| map_ck(e, "C_FindObjects"))?);
        if out.len() >= MAX_OBJECTS {
            break;
        }
    }
    Ok(out)
}

fn label_id(attrs: &[Attribute]) -> (String, Vec<u8>) {
    let mut label = String::new();
    let mut id = Vec::new();
    for a in attrs {
        match a {
            Attribute::Label(l) => label = String::from_utf8_lossy(l).trim().to_owned(),
            Attribute::Id(i) => id.clone_from(i),
            _ => {}
        }
    }
    (label, id)
}

fn private_keys(session: &Session) -> Result<Vec<PrivateKey>> {
    let mut keys = Vec::new();
    for handle in find(session, &[Attribute::Class(ObjectClass::PRIVATE_KEY)])? {
        let attrs = session
            .get_attributes(
                handle,
                &[
                    AttributeType::Label,
                    AttributeType::Id,
                    AttributeType::KeyType,
                ],
            )
            .map_err(|e| map_ck(e, "C_GetAttributeValue"))?;
        let (label, id) = label_id(&attrs);
        let key_type = attrs.iter().find_map(|a| match a {
            Attribute::KeyType(t) => Some(*t),
            _ => None,
        });
        keys.push(PrivateKey {
            handle,
            label,
            id,
            key_type,
        });
    }
    Ok(keys)
}

/// The X.509 certificates on the token that can be read (and how many could not).
fn certificates(session: &Session) -> Result<(Vec<(ObjectHandle, TokenCertificate)>, usize)> {
    let template = [
        Attribute::Class(ObjectClass::CERTIFICATE),
        Attribute::CertificateType(CertificateType::X_509),
    ];
    let mut out = Vec::new();
    let mut unreadable = 0;
    for handle in find(session, &template)? {
        // Ask the size first: a token's data is untrusted.
        let size = session
            .get_attribute_info(handle, &[AttributeType::Value])
            .map_err(|e| map_ck(e, "C_GetAttributeValue"))?;
        match size.first() {
            Some(AttributeInfo::Available(n)) if *n <= MAX_TOKEN_CERT_BYTES => {}
            _ => {
                unreadable += 1;
                continue;
            }
        }
        let attrs = session
            .get_attributes(
                handle,
                &[
                    AttributeType::Label,
                    AttributeType::Id,
                    AttributeType::Value,
                ],
            )
            .map_err(|e| map_ck(e, "C_GetAttributeValue"))?;
        let (label, id) = label_id(&attrs);
        let cert = attrs.iter().find_map(|a| match a {
            Attribute::Value(v) => Cert::from_der(v).ok(),
            _ => None,
        });
        match cert {
            Some(cert) => out.push((handle, TokenCertificate { label, id, cert })),
            None => unreadable += 1,
        }
    }
    Ok((out, unreadable))
}

/// The CA certificates among `others` that certify `cert`, signer-first (issuer of `cert`,
/// then its issuer, …). Certificates that do not chain up are left out.
fn chain_of<'a>(cert: &Cert, others: impl Iterator<Item = &'a Cert> + Clone) -> Vec<Cert> {
    let mut chain: Vec<Cert> = Vec::new();
    let mut current = cert.clone();
    while !current.is_self_issued() && chain.len() < 8 {
        let next = others
            .clone()
            .find(|c| c.is_ca() && c.der() != current.der() && c.is_issuer_of(&current));
        match next {
            Some(n) if !chain.iter().any(|c| c.der() == n.der()) => {
                chain.push(n.clone());
                current = n.clone();
            }
            _ => break,
        }
    }
    chain
}

/// Sessions a signer opens at most for concurrent signing (plus the one holding the login).
pub const DEFAULT_SESSIONS: usize = 4;

/// A private key on a PKCS#11 token, logged in, with its certificate and chain.
///
/// Signing is safe from several threads: each signature uses a session of its own, taken from
/// a small pool of sessions of the logged-in token (PKCS#11 logs the whole application in, so
/// new sessions need no PIN). With `set_max_sessions(1)` every signature goes through the
/// session that logged in, one at a time.
pub struct Pkcs11Signer {
    module: Arc<Pkcs11Module>,
    slot: Slot,
    key: ObjectHandle,
    key_label: String,
    token_label: String,
    token_serial: String,
    cert: Cert,
    chain: Vec<Cert>,
    algorithm: SignatureAlgorithm,
    /// The session that logged in; closing it would log the application out.
    login: Mutex<Session>,
    spare: Mutex<Vec<Session>>,
    max_sessions: usize,
}

impl std::fmt::Debug for Pkcs11Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Signer")
            .field("token", &self.token_label)
            .field("key", &self.key_label)
            .field("subject", &self.cert.subject_display())
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl Pkcs11Signer {
    /// Use RSA-PSS (hash, MGF1 with the same hash, salt as long as the hash) instead of
    /// PKCS#1 v1.5 (RSA keys only).
    pub fn use_pss(&mut self) -> Result<()> {
        match self.algorithm {
            SignatureAlgorithm::RsaPkcs1(d) | SignatureAlgorithm::RsaPss(d) => {
                self.algorithm = SignatureAlgorithm::RsaPss(d);
                Ok(())
            }
            SignatureAlgorithm::Ecdsa(_) => Err(Error::Unsupported("PSS needs an RSA key")),
        }
    }

    /// How many sessions signatures may use at once (at least 1: the login session alone).
    pub fn set_max_sessions(&mut self, n: usize) {
        self.max_sessions = n.max(1);
    }

    /// The token's label.
    pub fn token_label(&self) -> &str {
        &self.token_label
    }

    /// The key's label and id.
    pub fn key_label(&self) -> &str {
        &self.key_label
    }

    /// Run `f` on a session of the logged-in token.
    fn with_session<T>(&self, f: impl Fn(&Session) -> Result<T>) -> Result<T> {
        if self.max_sessions <= 1 {
            let s = self.login.lock().unwrap_or_else(PoisonError::into_inner);
            return f(&s);
        }
        let taken = self
            .spare
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let session = match taken {
            Some(s) => s,
            None => self
                .module
                .ctx
                .open_ro_session(self.slot)
                .map_err(|e| map_ck(e, "C_OpenSession"))?,
        };
        let result = f(&session);
        // A session that failed because the token went away is dropped, not reused.
        if !matches!(result, Err(Error::TokenRemoved { .. })) {
            let mut spare = self.spare.lock().unwrap_or_else(PoisonError::into_inner);
            if spare.len() < self.max_sessions {
                spare.push(session);
            }
        }
        result
    }

    /// The signature value of `request` as CMS wants it.
    fn sign_digest(&self, request: &SignRequest<'_>) -> Result<Vec<u8>> {
        let digest = request.digest;
        let d = request.algorithm.digest();
        if d.is_weak() {
            return Err(Error::Unsupported("SHA-1 is not used for new signatures"));
        }
        if digest.len() != d.output_len() {
            return Err(Error::Unsupported(
                "digest length does not fit the algorithm",
            ));
        }
        match (request.algorithm, self.algorithm) {
            (SignatureAlgorithm::RsaPkcs1(_), SignatureAlgorithm::RsaPkcs1(_))
            | (SignatureAlgorithm::RsaPss(_), SignatureAlgorithm::RsaPss(_)) => {}
            (SignatureAlgorithm::Ecdsa(_), SignatureAlgorithm::Ecdsa(_)) => {}
            _ => {
                return Err(Error::Unsupported(
                    "the requested algorithm does not fit the key",
                ))
            }
        }
        match request.algorithm {
            SignatureAlgorithm::RsaPkcs1(d) => {
                let info = digest_info(d, digest)?;
                self.with_session(|s| {
                    s.sign(&Mechanism::RsaPkcs, self.key, &info)
                        .map_err(|e| map_ck(e, "C_Sign"))
                })
            }
            SignatureAlgorithm::RsaPss(d) => {
                let (hash_alg, mgf) = match d {
                    DigestAlgorithm::Sha256 => (MechanismType::SHA256, PkcsMgfType::MGF1_SHA256),
                    DigestAlgorithm::Sha384 => (MechanismType::SHA384, PkcsMgfType::MGF1_SHA384),
                    DigestAlgorithm::Sha512 => (MechanismType::SHA512, PkcsMgfType::MGF1_SHA512),
                    // Recognised only to verify legacy signatures; kyso never signs with it.
                    DigestAlgorithm::Sha1 => {
                        return Err(Error::Unsupported("SHA-1 is not used for new signatures"))
                    }
                };
                let params = PkcsPssParams {
                    hash_alg,
                    mgf,
                    s_len: (d.output_len() as std::ffi::c_ulong).into(),
                };
                self.with_session(|s| {
                    s.sign(&Mechanism::RsaPkcsPss(params), self.key, digest)
                        .map_err(|e| map_ck(e, "C_Sign"))
                })
            }
            SignatureAlgorithm::Ecdsa(_) => {
                let raw = self.with_session(|s| {
                    s.sign(&Mechanism::Ecdsa, self.key, digest)
                        .map_err(|e| map_ck(e, "C_Sign"))
                })?;
                ecdsa_raw_to_der(&raw)
            }
        }
    }
}

impl Pkcs11Signer {
    /// Whether the token this signer logged in to is still in its slot.
    fn token_present(&self) -> bool {
        let slots = match self.module.ctx.get_slots_with_token() {
            Ok(s) => s,
            Err(_) => return false,
        };
        slots.contains(&self.slot)
            && self
                .module
                .token_info(self.slot)
                .is_ok_and(|i| i.initialized && i.serial == self.token_serial)
    }

    /// A signing failure as the user needs it: modules report a pulled-out token in many ways
    /// (a vanished key handle, a device or general error), so unexplained failures are checked
    /// against the slot.
    fn explain(&self, e: Error) -> Error {
        match e {
            Error::Device { ref code, .. } if !self.token_present() => {
                Error::TokenRemoved { code: code.clone() }
            }
            Error::KeyGone if !self.token_present() => Error::TokenRemoved {
                code: "ObjectHandleInvalid".to_owned(),
            },
            other => other,
        }
    }
}

impl Signer for Pkcs11Signer {
    fn certificate(&self) -> &Cert {
        &self.cert
    }
    fn chain(&self) -> &[Cert] {
        &self.chain
    }
    fn algorithm(&self) -> SignatureAlgorithm {
        self.algorithm
    }
    fn sign(&self, request: &SignRequest<'_>) -> kyso_cms::Result<Vec<u8>> {
        self.sign_digest(request)
            .map_err(|e| kyso_cms::Error::Signer(kyso_cms::SignerFailure::new(self.explain(e))))
    }
}

/// DigestInfo (RFC 8017 §9.2): what CKM_RSA_PKCS signs for a PKCS#1 v1.5 signature.
fn digest_info(d: DigestAlgorithm, digest: &[u8]) -> Result<Vec<u8>> {
    #[derive(der::Sequence)]
    struct DigestInfo {
        algorithm: AlgorithmIdentifierOwned,
        digest: OctetString,
    }
    let info = DigestInfo {
        algorithm: AlgorithmIdentifierOwned {
            oid: d.oid(),
            parameters: Some(Any::null()),
        },
        digest: OctetString::new(digest).map_err(kyso_cms::Error::from)?,
    };
    Ok(info.to_der().map_err(kyso_cms::Error::from)?)
}

/// PKCS#11 ECDSA signatures are r‖s, each as long as the curve's order; CMS wants the DER
/// `ECDSA-Sig-Value` (SEQUENCE of two INTEGERs). Also used by the signing service, whose
/// callers' tokens answer r‖s.
pub fn ecdsa_raw_to_der(raw: &[u8]) -> Result<Vec<u8>> {
    #[derive(der::Sequence)]
    struct EcdsaSig {
        r: Uint,
        s: Uint,
    }
    if raw.is_empty() || !raw.len().is_multiple_of(2) || raw.len() > 2 * 66 {
        return Err(Error::Device {
            operation: "C_Sign",
            code: format!("ECDSA signature of {} bytes", raw.len()),
        });
    }
    let (r, s) = raw.split_at(raw.len() / 2);
    let sig = EcdsaSig {
        r: Uint::new(r).map_err(kyso_cms::Error::from)?,
        s: Uint::new(s).map_err(kyso_cms::Error::from)?,
    };
    Ok(sig.to_der().map_err(kyso_cms::Error::from)?)
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The name of a PKCS#11 failure (`CKR_…` as cryptoki names it), never its arguments.
fn ck_name(e: &CkError) -> String {
    match e {
        CkError::Pkcs11(rv, _) => format!("{rv:?}"),
        CkError::LibraryLoading(l) => l.to_string(),
        other => format!("{other:?}"),
    }
}

/// What a PKCS#11 failure means for the user.
pub(crate) fn map_ck(e: CkError, operation: &'static str) -> Error {
    match &e {
        CkError::Pkcs11(rv, _) => map_rv(rv, operation),
        CkError::LibraryLoading(l) => Error::ModuleLoad {
            path: String::new(),
            reason: l.to_string(),
        },
        _ => Error::Device {
            operation,
            code: ck_name(&e),
        },
    }
}

fn map_rv(rv: &RvError, operation: &'static str) -> Error {
    use RvError as R;
    match rv {
        R::DeviceRemoved
        | R::TokenNotPresent
        | R::TokenNotRecognized
        | R::SessionHandleInvalid
        | R::SessionClosed
        | R::DeviceError
        | R::SlotIdInvalid => Error::TokenRemoved {
            code: format!("{rv:?}"),
        },
        R::PinIncorrect | R::PinLenRange | R::PinInvalid => Error::WrongPin {
            attempts_left: None,
            count_low: false,
        },
        R::PinLocked => Error::PinLocked,
        R::PinExpired => Error::PinExpired,
        R::UserNotLoggedIn => Error::LoggedOut,
        R::FunctionCanceled | R::Cancel | R::FunctionRejected => Error::Cancelled,
        R::MechanismInvalid | R::MechanismParamInvalid | R::KeyTypeInconsistent => {
            Error::MechanismUnsupported
        }
        R::KeyFunctionNotPermitted => Error::KeyCannotSign,
        R::KeyHandleInvalid | R::ObjectHandleInvalid => Error::KeyGone,
        R::DeviceMemory | R::HostMemory => Error::Device {
            operation,
            code: format!("{rv:?}"),
        },
        _ => Error::Device {
            operation,
            code: format!("{rv:?}"),
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

    use super::*;
    use cryptoki::context::Function;

    fn ck(rv: RvError) -> Error {
        map_ck(CkError::Pkcs11(rv, Function::Sign), "C_Sign")
    }

    #[test]
    fn a_pulled_out_token_reads_as_removed_whatever_the_module_says() {
        for rv in [
            RvError::DeviceRemoved,
            RvError::TokenNotPresent,
            RvError::SessionHandleInvalid,
            RvError::SessionClosed,
            RvError::DeviceError,
        ] {
            assert!(
                matches!(ck(rv), Error::TokenRemoved { .. }),
                "{rv:?} → {:?}",
                ck(rv)
            );
        }
    }

    #[test]
    fn a_locked_pin_is_told_apart_from_a_wrong_one() {
        assert!(matches!(ck(RvError::PinLocked), Error::PinLocked));
        assert!(matches!(
            ck(RvError::PinIncorrect),
            Error::WrongPin {
                attempts_left: None,
                ..
            }
        ));
        assert!(matches!(ck(RvError::PinExpired), Error::PinExpired));
    }

    #[test]
    fn the_flags_after_a_wrong_pin_give_the_tries_left() {
        let mut f = TokenFlags::default();
        assert!(matches!(
            wrong_pin(f),
            Error::WrongPin {
                attempts_left: None,
                count_low: false
            }
        ));
        f.pin_count_low = true;
        assert!(matches!(
            wrong_pin(f),
            Error::WrongPin {
                attempts_left: None,
                count_low: true
            }
        ));
        f.pin_final_try = true;
        assert!(matches!(
            wrong_pin(f),
            Error::WrongPin {
                attempts_left: Some(1),
                ..
            }
        ));
        f.pin_locked = true;
        assert!(matches!(wrong_pin(f), Error::PinLocked));
    }

    #[test]
    fn other_failures_keep_the_ckr_name_and_the_operation() {
        match ck(RvError::GeneralError) {
            Error::Device { operation, code } => {
                assert_eq!(operation, "C_Sign");
                assert_eq!(code, "GeneralError");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            ck(RvError::MechanismInvalid),
            Error::MechanismUnsupported
        ));
        assert!(matches!(ck(RvError::FunctionCanceled), Error::Cancelled));
    }

    #[test]
    fn raw_ecdsa_output_becomes_a_der_sequence_of_two_integers() {
        let mut raw = vec![0u8; 64];
        raw[0] = 0x80; // high bit: needs a leading zero in DER
        raw[31] = 1;
        raw[63] = 2;
        let der = ecdsa_raw_to_der(&raw).unwrap();
        assert_eq!(der[0], 0x30);
        assert_eq!(der[2], 0x02);
        assert_eq!(der[3], 33);
        assert_eq!(der[4], 0x00);
        assert_eq!(der[5], 0x80);
        // s = 2 encodes minimally.
        assert_eq!(&der[der.len() - 3..], &[0x02, 0x01, 0x02]);
        assert!(ecdsa_raw_to_der(&[1, 2, 3]).is_err());
    }

    #[test]
    fn digest_info_has_the_rfc_8017_prefix() {
        let d = [7u8; 32];
        let info = digest_info(DigestAlgorithm::Sha256, &d).unwrap();
        let prefix = [
            0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x01, 0x05, 0x00, 0x04, 0x20,
        ];
        assert_eq!(&info[..prefix.len()], &prefix);
        assert_eq!(&info[prefix.len()..], &d);
    }

    #[test]
    fn a_missing_module_is_a_load_error_naming_the_path() {
        match Pkcs11Module::load(Path::new("/nonexistent/libvendor-pkcs11.so")) {
            Err(Error::ModuleLoad { path, .. }) => {
                assert_eq!(path, "/nonexistent/libvendor-pkcs11.so")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_signer_can_be_shared_between_threads() {
        fn is_send_sync<T: Send + Sync>() {}
        is_send_sync::<Pkcs11Signer>();
        is_send_sync::<Pkcs11Module>();
    }
}
