//! The PDF object model (ISO 32000-2 §7.3).

use std::fmt;

/// An indirect reference `num gen R`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjRef {
    pub num: u32,
    pub gen: u16,
}

impl ObjRef {
    pub const fn new(num: u32, gen: u16) -> Self {
        ObjRef { num, gen }
    }
}

impl fmt::Display for ObjRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} R", self.num, self.gen)
    }
}

/// The text of a token as it was written in the file it was read from (`595.303937007874`,
/// `/A#20B`, `(a\(b\))`, `<48656c6c6f>`), kept so that writing an unchanged value back
/// reproduces it byte for byte ([`write_object`](crate::writer::write_object) emits it when
/// lexing it again gives the value the object holds now, and the canonical form otherwise).
///
/// A lexeme takes no part in comparisons: it is equal to every other lexeme and hashes to
/// nothing, so objects compare and hash by value, whatever their spelling.
#[derive(Clone, Default)]
pub struct Lexeme(Option<Box<[u8]>>);

impl Lexeme {
    /// No source text: the value is written in kyso's canonical form.
    pub const NONE: Lexeme = Lexeme(None);

    pub fn new(text: &[u8]) -> Self {
        Lexeme(Some(text.into()))
    }

    pub fn get(&self) -> Option<&[u8]> {
        self.0.as_deref()
    }
}

impl PartialEq for Lexeme {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl Eq for Lexeme {}
impl std::hash::Hash for Lexeme {
    fn hash<H: std::hash::Hasher>(&self, _: &mut H) {}
}
impl PartialOrd for Lexeme {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Lexeme {
    fn cmp(&self, _: &Self) -> std::cmp::Ordering {
        std::cmp::Ordering::Equal
    }
}
impl fmt::Debug for Lexeme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(t) => write!(f, "Lexeme({})", String::from_utf8_lossy(t)),
            None => write!(f, "Lexeme(-)"),
        }
    }
}

/// A real number: its value and, when read from a file, its text (see [`Lexeme`]), so that
/// `595.303937007874` is written back with every digit. Compares by value.
#[derive(Clone, PartialEq, Default, Debug)]
pub struct Real {
    value: f64,
    lexeme: Lexeme,
}

impl Real {
    pub fn new(value: f64) -> Self {
        Real {
            value,
            lexeme: Lexeme::NONE,
        }
    }
    /// A real read from `text`.
    pub fn with_lexeme(value: f64, text: &[u8]) -> Self {
        Real {
            value,
            lexeme: Lexeme::new(text),
        }
    }
    pub fn value(&self) -> f64 {
        self.value
    }
    pub fn lexeme(&self) -> &Lexeme {
        &self.lexeme
    }
}

impl From<f64> for Real {
    fn from(v: f64) -> Self {
        Real::new(v)
    }
}

/// A PDF name, stored decoded (without the slash, `#xx` escapes resolved); names read from a
/// file with escapes keep their text (see [`Lexeme`]). Compares by the decoded bytes.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name(pub Vec<u8>, Lexeme);

impl Name {
    pub fn new(s: &str) -> Self {
        Name(s.as_bytes().to_vec(), Lexeme::NONE)
    }
    /// A name of decoded bytes `bytes` (no source text).
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Name(bytes, Lexeme::NONE)
    }
    /// A name read from the file as `text` (with its slash).
    pub fn with_lexeme(bytes: Vec<u8>, text: &[u8]) -> Self {
        Name(bytes, Lexeme::new(text))
    }
    pub fn lexeme(&self) -> &Lexeme {
        &self.1
    }
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
    /// The name as text, lossily.
    pub fn as_str(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.0)
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/{}", self.as_str())
    }
}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        self.0 == other.as_bytes()
    }
}

/// A dictionary. Key order is kept so that re-serialising an object is faithful.
#[derive(Clone, Default, PartialEq)]
pub struct Dict(pub Vec<(Name, Object)>);

impl Dict {
    pub fn new() -> Self {
        Dict(Vec::new())
    }
    pub fn get(&self, key: &str) -> Option<&Object> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
    /// Insert or replace `key`.
    pub fn set(&mut self, key: &str, value: impl Into<Object>) {
        let value = value.into();
        if let Some(slot) = self.0.iter_mut().find(|(k, _)| k == key) {
            slot.1 = value;
        } else {
            self.0.push((Name::new(key), value));
        }
    }
    pub fn remove(&mut self, key: &str) -> Option<Object> {
        let idx = self.0.iter().position(|(k, _)| k == key)?;
        Some(self.0.remove(idx).1)
    }
    pub fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn iter(&self) -> impl Iterator<Item = (&Name, &Object)> {
        self.0.iter().map(|(k, v)| (k, v))
    }
    /// `/Type` of this dictionary, when it is a name.
    pub fn type_name(&self) -> Option<&Name> {
        self.get("Type").and_then(Object::as_name)
    }
    pub fn get_name(&self, key: &str) -> Option<&Name> {
        self.get(key).and_then(Object::as_name)
    }
    pub fn get_int(&self, key: &str) -> Option<i64> {
        self.get(key).and_then(Object::as_int)
    }
}

impl fmt::Debug for Dict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(k, v)| (k, v)))
            .finish()
    }
}

/// A stream object: its dictionary and where its raw (still encoded) data lies in the file.
#[derive(Clone, PartialEq)]
pub struct Stream {
    pub dict: Dict,
    pub data: StreamData,
}

/// Where a stream's encoded bytes are.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamData {
    /// `len` bytes at absolute `offset` in the source file (read lazily).
    InFile { offset: u64, len: u64 },
    /// Bytes held in memory (objects we create, or streams extracted from object streams).
    Owned(Vec<u8>),
}

impl fmt::Debug for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.data {
            StreamData::InFile { offset, len } => {
                write!(f, "Stream({:?}, {len} bytes at {offset})", self.dict)
            }
            StreamData::Owned(v) => write!(f, "Stream({:?}, {} bytes)", self.dict, v.len()),
        }
    }
}

/// Any PDF object.
#[derive(Clone, PartialEq)]
pub enum Object {
    Null,
    Bool(bool),
    Int(i64),
    Real(Real),
    /// A string; `hex` records whether it was written `<...>`, `lexeme` its text in the file
    /// (both kept for faithful output; neither changes what the string is).
    String {
        bytes: Vec<u8>,
        hex: bool,
        lexeme: Lexeme,
    },
    Name(Name),
    Array(Vec<Object>),
    Dict(Dict),
    Stream(Stream),
    Ref(ObjRef),
}

impl fmt::Debug for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Object::Null => write!(f, "null"),
            Object::Bool(b) => write!(f, "{b}"),
            Object::Int(i) => write!(f, "{i}"),
            Object::Real(r) => write!(f, "{}", r.value()),
            Object::String { bytes, .. } => write!(f, "({})", String::from_utf8_lossy(bytes)),
            Object::Name(n) => write!(f, "{n:?}"),
            Object::Array(a) => f.debug_list().entries(a).finish(),
            Object::Dict(d) => write!(f, "{d:?}"),
            Object::Stream(s) => write!(f, "{s:?}"),
            Object::Ref(r) => write!(f, "{r}"),
        }
    }
}

impl Object {
    pub fn name(s: &str) -> Object {
        Object::Name(Name::new(s))
    }
    /// A real number (no source text).
    pub fn real(v: f64) -> Object {
        Object::Real(Real::new(v))
    }
    pub fn string(bytes: impl Into<Vec<u8>>) -> Object {
        Object::String {
            bytes: bytes.into(),
            hex: false,
            lexeme: Lexeme::NONE,
        }
    }
    pub fn hex_string(bytes: impl Into<Vec<u8>>) -> Object {
        Object::String {
            bytes: bytes.into(),
            hex: true,
            lexeme: Lexeme::NONE,
        }
    }
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Object::Int(i) => Some(*i),
            _ => None,
        }
    }
    /// A number (integer or real) as `f64`.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Object::Int(i) => Some(*i as f64),
            Object::Real(r) => Some(r.value()),
            _ => None,
        }
    }
    pub fn as_name(&self) -> Option<&Name> {
        match self {
            Object::Name(n) => Some(n),
            _ => None,
        }
    }
    pub fn as_dict(&self) -> Option<&Dict> {
        match self {
            Object::Dict(d) => Some(d),
            Object::Stream(s) => Some(&s.dict),
            _ => None,
        }
    }
    pub fn as_array(&self) -> Option<&[Object]> {
        match self {
            Object::Array(a) => Some(a),
            _ => None,
        }
    }
    pub fn as_ref(&self) -> Option<ObjRef> {
        match self {
            Object::Ref(r) => Some(*r),
            _ => None,
        }
    }
    pub fn as_string(&self) -> Option<&[u8]> {
        match self {
            Object::String { bytes, .. } => Some(bytes),
            _ => None,
        }
    }
    pub fn as_stream(&self) -> Option<&Stream> {
        match self {
            Object::Stream(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Object::Bool(b) => Some(*b),
            _ => None,
        }
    }
    /// A short name of the type, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Object::Null => "null",
            Object::Bool(_) => "boolean",
            Object::Int(_) => "integer",
            Object::Real(_) => "real",
            Object::String { .. } => "string",
            Object::Name(_) => "name",
            Object::Array(_) => "array",
            Object::Dict(_) => "dictionary",
            Object::Stream(_) => "stream",
            Object::Ref(_) => "reference",
        }
    }
}

impl From<i64> for Object {
    fn from(v: i64) -> Self {
        Object::Int(v)
    }
}
impl From<i32> for Object {
    fn from(v: i32) -> Self {
        Object::Int(v.into())
    }
}
impl From<u32> for Object {
    fn from(v: u32) -> Self {
        Object::Int(v.into())
    }
}
impl From<f64> for Object {
    fn from(v: f64) -> Self {
        Object::Real(Real::new(v))
    }
}
impl From<Real> for Object {
    fn from(v: Real) -> Self {
        Object::Real(v)
    }
}
impl From<bool> for Object {
    fn from(v: bool) -> Self {
        Object::Bool(v)
    }
}
impl From<ObjRef> for Object {
    fn from(v: ObjRef) -> Self {
        Object::Ref(v)
    }
}
impl From<Dict> for Object {
    fn from(v: Dict) -> Self {
        Object::Dict(v)
    }
}
impl From<Name> for Object {
    fn from(v: Name) -> Self {
        Object::Name(v)
    }
}
impl From<Vec<Object>> for Object {
    fn from(v: Vec<Object>) -> Self {
        Object::Array(v)
    }
}
