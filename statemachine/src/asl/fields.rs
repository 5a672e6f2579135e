//! A cursor over one JSON object of the definition that remembers which fields were read, so
//! that every field the engine does not understand is refused with the state and field named.

use crate::paths::Path;
use serde_json::{Map, Value};
use std::collections::HashSet;

/// One object of the definition being read, with its location for error messages.
pub struct Obj<'a> {
    map: &'a Map<String, Value>,
    used: HashSet<String>,
    at: String,
}

impl<'a> Obj<'a> {
    /// Starts reading `map`, located at `at` (e.g. `state 'Check'`).
    pub fn new(map: &'a Map<String, Value>, at: impl Into<String>) -> Self {
        Obj {
            map,
            used: HashSet::new(),
            at: at.into(),
        }
    }

    /// A nested object, located at `field` below this one.
    pub fn child(&self, map: &'a Map<String, Value>, field: &str) -> Obj<'a> {
        Obj::new(map, format!("{}, field '{}'", self.at, field))
    }

    /// A message locating a problem at `field` (or at this object if `field` is empty).
    pub fn err(&self, field: &str, msg: &str) -> String {
        if field.is_empty() {
            format!("{}: {}", self.at, msg)
        } else {
            format!("{}, field '{}': {}", self.at, field, msg)
        }
    }

    /// Whether a field is present.
    pub fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    /// Reads a field and marks it as understood.
    pub fn take(&mut self, key: &str) -> Option<&'a Value> {
        let v = self.map.get(key)?;
        self.used.insert(key.to_string());
        Some(v)
    }

    /// Reads an optional string field.
    pub fn optional_str(&mut self, key: &str) -> Result<Option<&'a str>, String> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.err(key, "must be a string")),
        }
    }

    /// Reads a required string field.
    pub fn required_str(&mut self, key: &str) -> Result<&'a str, String> {
        self.optional_str(key)?
            .ok_or_else(|| self.err(key, "is required"))
    }

    /// Reads an optional non-negative integer field.
    pub fn optional_u64(&mut self, key: &str) -> Result<Option<u64>, String> {
        match self.take(key) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| self.err(key, "must be a non-negative integer")),
        }
    }

    /// Reads an optional number field.
    pub fn optional_f64(&mut self, key: &str) -> Result<Option<f64>, String> {
        match self.take(key) {
            None => Ok(None),
            Some(v) => v
                .as_f64()
                .map(Some)
                .ok_or_else(|| self.err(key, "must be a number")),
        }
    }

    /// Reads an optional JSONPath field.
    pub fn optional_path(&mut self, key: &str) -> Result<Option<Path>, String> {
        match self.optional_str(key)? {
            None => Ok(None),
            Some(s) => Path::parse(s).map(Some).map_err(|e| self.err(key, &e)),
        }
    }

    /// Reads a required JSONPath field.
    pub fn required_path(&mut self, key: &str) -> Result<Path, String> {
        self.optional_path(key)?
            .ok_or_else(|| self.err(key, "is required"))
    }

    /// Refuses every field that was not read.
    pub fn finish(&self) -> Result<(), String> {
        let mut unknown: Vec<&String> = self
            .map
            .keys()
            .filter(|k| !self.used.contains(*k))
            .collect();
        unknown.sort();
        match unknown.first() {
            None => Ok(()),
            Some(k) => Err(self.err(
                k,
                "is not supported by the local Step Functions engine (or is not valid here)",
            )),
        }
    }
}
