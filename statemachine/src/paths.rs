//! JSONPath as Step Functions uses it: definite paths give one value (or a `States.Runtime`
//! error worded like AWS's), indefinite ones (wildcards, filters, slices, `..`) give an array of
//! matches, found with the RFC 9535 crate `serde_json_path`. Also the ResultPath setter, which
//! creates missing objects, and payload templates (`Parameters`, `ResultSelector`).

use crate::intrinsics::{self, Expr};
use serde_json::{Map, Value};
use serde_json_path::JsonPath;

/// One step of a definite path.
#[derive(Debug, Clone, PartialEq)]
pub enum Segment {
    /// `.name` or `['name']`.
    Key(String),
    /// `[n]`.
    Index(usize),
}

/// A definite ("reference") path: `$` then names and indexes only.
#[derive(Debug, Clone, PartialEq)]
pub struct RefPath {
    segments: Vec<Segment>,
}

fn render(segments: &[Segment]) -> String {
    let mut out = String::from("$");
    for s in segments {
        match s {
            Segment::Key(k) => out.push_str(&format!("['{k}']")),
            Segment::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

impl RefPath {
    /// Parses `$`, `$.a.b`, `$['a'][0]`; `None` if the path is not definite (or not a path).
    pub fn parse(path: &str) -> Option<RefPath> {
        let rest = path.strip_prefix('$')?;
        let chars: Vec<char> = rest.chars().collect();
        let mut i = 0;
        let mut segments = Vec::new();
        while i < chars.len() {
            match chars[i] {
                '.' => {
                    i += 1;
                    let start = i;
                    while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                        i += 1;
                    }
                    let name: String = chars[start..i].iter().collect();
                    // `..` (descendants) and `.*` (wildcard) are not definite.
                    if name.is_empty() || name == "*" {
                        return None;
                    }
                    segments.push(Segment::Key(name));
                }
                '[' => {
                    let close = chars[i..].iter().position(|c| *c == ']')? + i;
                    let inner: String = chars[i + 1..close].iter().collect();
                    let inner = inner.trim();
                    if let Some(q) = inner
                        .strip_prefix('\'')
                        .and_then(|s| s.strip_suffix('\''))
                        .or_else(|| inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')))
                    {
                        segments.push(Segment::Key(q.to_string()));
                    } else if !inner.is_empty() && inner.chars().all(|c| c.is_ascii_digit()) {
                        segments.push(Segment::Index(inner.parse().ok()?));
                    } else {
                        return None;
                    }
                    i = close + 1;
                }
                _ => return None,
            }
        }
        Some(RefPath { segments })
    }

    /// The segments of this path.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Reads the single node, with AWS's (Jayway's) wording when it is missing.
    pub fn get<'v>(&self, root: &'v Value) -> Result<&'v Value, String> {
        let mut cur = root;
        let last = self.segments.len().saturating_sub(1);
        for (n, seg) in self.segments.iter().enumerate() {
            let next = match (seg, cur) {
                (Segment::Key(k), Value::Object(m)) => m.get(k),
                (Segment::Index(i), Value::Array(a)) => a.get(*i),
                _ => None,
            };
            match next {
                Some(v) => cur = v,
                None if n == last => {
                    return Err(format!("No results for path: {}", render(&self.segments)))
                }
                None => {
                    return Err(format!(
                        "Missing property in path {}",
                        render(&self.segments[..=n])
                    ))
                }
            }
        }
        Ok(cur)
    }

    /// Returns `root` with `value` placed at this path, creating missing objects on the way.
    pub fn set(&self, root: Value, value: Value) -> Result<Value, String> {
        fn put(
            node: Value,
            segs: &[Segment],
            value: Value,
            full: &[Segment],
        ) -> Result<Value, String> {
            let Some((first, rest)) = segs.split_first() else {
                return Ok(value);
            };
            match first {
                Segment::Key(k) => {
                    let mut map = match node {
                        Value::Object(m) => m,
                        // A missing intermediate is created as an object, like AWS does.
                        Value::Null => Map::new(),
                        _ => {
                            return Err(format!(
                                "Unable to set a field on a non-object value at {}",
                                render(&full[..full.len() - segs.len()])
                            ))
                        }
                    };
                    let child = map.remove(k).unwrap_or(Value::Null);
                    let child = put(child, rest, value, full)?;
                    map.insert(k.clone(), child);
                    Ok(Value::Object(map))
                }
                Segment::Index(i) => match node {
                    Value::Array(mut a) if *i < a.len() => {
                        let child = std::mem::take(&mut a[*i]);
                        a[*i] = put(child, rest, value, full)?;
                        Ok(Value::Array(a))
                    }
                    _ => Err(format!(
                        "Index out of bounds in path {}",
                        render(&full[..=full.len() - segs.len()])
                    )),
                },
            }
        }
        put(root, &self.segments, value, &self.segments)
    }
}

#[derive(Debug, Clone)]
enum PathKind {
    Definite(RefPath),
    Query(JsonPath),
}

/// A JSONPath over the state input (`$...`) or the context object (`$$...`).
#[derive(Debug, Clone)]
pub struct Path {
    raw: String,
    context: bool,
    kind: PathKind,
}

impl PartialEq for Path {
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw
    }
}

impl Path {
    /// Parses a path; `Err` carries a message for the load error.
    pub fn parse(raw: &str) -> Result<Path, String> {
        let (context, body) = match raw.strip_prefix("$$") {
            Some(rest) => (true, format!("${rest}")),
            None if raw.starts_with('$') => (false, raw.to_string()),
            None => return Err(format!("'{raw}' is not a JSONPath (must start with '$')")),
        };
        let kind = match RefPath::parse(&body) {
            Some(r) => PathKind::Definite(r),
            None => PathKind::Query(
                JsonPath::parse(&body).map_err(|e| format!("invalid JSONPath '{raw}': {e}"))?,
            ),
        };
        Ok(Path {
            raw: raw.to_string(),
            context,
            kind,
        })
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// Whether the path reads the context object (`$$.`).
    pub fn is_context(&self) -> bool {
        self.context
    }

    /// Whether the path names exactly one node (a reference path).
    pub fn reference(&self) -> Option<&RefPath> {
        match &self.kind {
            PathKind::Definite(r) if !self.context => Some(r),
            _ => None,
        }
    }

    /// Evaluates against the input (or the context object for `$$`); the `Err` is the
    /// Jayway-style reason only (callers add "Invalid path ..." or the field wording).
    pub fn eval(&self, input: &Value, context: &Value) -> Result<Value, String> {
        let root = if self.context { context } else { input };
        match &self.kind {
            PathKind::Definite(r) => r.get(root).cloned(),
            PathKind::Query(q) => Ok(Value::Array(
                q.query(root).all().into_iter().cloned().collect(),
            )),
        }
    }

    /// Evaluates as InputPath/OutputPath/ResultPath-style: errors worded `Invalid path '...' : ...`.
    pub fn eval_invalid_path(&self, input: &Value, context: &Value) -> Result<Value, String> {
        self.eval(input, context)
            .map_err(|why| format!("Invalid path '{}' : {}", self.raw, why))
    }
}

/// A compiled payload template (`Parameters`, `ResultSelector`, Task `Parameters`).
#[derive(Debug, Clone, PartialEq)]
pub enum Template {
    /// A value copied as is.
    Literal(Value),
    /// An object whose fields are templates.
    Object(Vec<(String, Template)>),
    /// An array whose items are templates.
    Array(Vec<Template>),
    /// A `key.$` field holding a path; `field` is the key as written (with `.$`).
    Path {
        /// The key as written, for error messages.
        field: String,
        /// The path to read.
        path: Path,
    },
    /// A `key.$` field holding an intrinsic function call.
    Intrinsic {
        /// The key as written, for error messages.
        field: String,
        /// The parsed call.
        expr: Expr,
    },
}

impl Template {
    /// Compiles a template; `Err` is a message naming the offending field.
    pub fn compile(value: &Value) -> Result<Template, String> {
        match value {
            Value::Object(map) => {
                let mut fields = Vec::with_capacity(map.len());
                for (k, v) in map {
                    if let Some(name) = k.strip_suffix(".$") {
                        let Value::String(s) = v else {
                            return Err(format!(
                                "the value of field '{k}' must be a JSONPath or intrinsic function string"
                            ));
                        };
                        let t = if s.starts_with('$') {
                            Template::Path {
                                field: k.clone(),
                                path: Path::parse(s).map_err(|e| format!("field '{k}': {e}"))?,
                            }
                        } else if s.starts_with("States.") {
                            Template::Intrinsic {
                                field: k.clone(),
                                expr: intrinsics::parse(s)
                                    .map_err(|e| format!("field '{k}': {e}"))?,
                            }
                        } else {
                            return Err(format!(
                                "the value of field '{k}' must be a JSONPath or intrinsic function, got '{s}'"
                            ));
                        };
                        fields.push((name.to_string(), t));
                    } else {
                        fields.push((k.clone(), Template::compile(v)?));
                    }
                }
                Ok(Template::Object(fields))
            }
            Value::Array(items) => Ok(Template::Array(
                items
                    .iter()
                    .map(Template::compile)
                    .collect::<Result<_, _>>()?,
            )),
            other => Ok(Template::Literal(other.clone())),
        }
    }

    /// Whether any path in the template reads `$$.Task.Token`.
    pub fn mentions_task_token(&self) -> bool {
        match self {
            Template::Literal(_) => false,
            Template::Object(f) => f.iter().any(|(_, t)| t.mentions_task_token()),
            Template::Array(a) => a.iter().any(Template::mentions_task_token),
            Template::Path { path, .. } => path.as_str().starts_with("$$.Task.Token"),
            Template::Intrinsic { expr, .. } => expr.mentions("$$.Task.Token"),
        }
    }

    /// The literal value at a top-level key of an object template, if it is a literal.
    pub fn field(&self, key: &str) -> Option<&Template> {
        match self {
            Template::Object(f) => f.iter().find(|(k, _)| k == key).map(|(_, t)| t),
            _ => None,
        }
    }

    /// Top-level keys of an object template (without `.$`).
    pub fn keys(&self) -> Vec<&str> {
        match self {
            Template::Object(f) => f.iter().map(|(k, _)| k.as_str()).collect(),
            _ => Vec::new(),
        }
    }

    /// Builds the value; `Err` is AWS's cause text (without the state prefix).
    pub fn eval(&self, input: &Value, context: &Value) -> Result<Value, String> {
        match self {
            Template::Literal(v) => Ok(v.clone()),
            Template::Object(fields) => {
                let mut out = Map::new();
                for (k, t) in fields {
                    out.insert(k.clone(), t.eval(input, context)?);
                }
                Ok(Value::Object(out))
            }
            Template::Array(items) => Ok(Value::Array(
                items
                    .iter()
                    .map(|t| t.eval(input, context))
                    .collect::<Result<_, _>>()?,
            )),
            Template::Path { field, path } => path.eval(input, context).map_err(|_| {
                let shown = if path.is_context() { context } else { input };
                format!(
                    "The JSONPath '{}' specified for the field '{}' could not be found in the input '{}'",
                    path.as_str(),
                    field,
                    shown
                )
            }),
            Template::Intrinsic { field, expr } => intrinsics::eval(expr, input, context)
                .map_err(|e| {
                    format!("The value for the field '{field}' must be a valid intrinsic function: {e}")
                }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn definite_paths_and_errors() {
        let input = json!({"a": {"b": [1, 2, 3]}, "s": "x"});
        let p = Path::parse("$.a.b[1]").expect("parses");
        assert_eq!(p.eval(&input, &json!({})), Ok(json!(2)));
        let p = Path::parse("$.nope").expect("parses");
        assert_eq!(
            p.eval_invalid_path(&input, &json!({})),
            Err("Invalid path '$.nope' : No results for path: $['nope']".to_string())
        );
        let p = Path::parse("$.no.such.path").expect("parses");
        assert_eq!(
            p.eval(&input, &json!({})),
            Err("Missing property in path $['no']".to_string())
        );
    }

    #[test]
    fn indefinite_paths_give_arrays() {
        let input = json!({"items": [{"id": 1, "ok": true}, {"id": 2, "ok": false}]});
        let p = Path::parse("$.items[*].id").expect("parses");
        assert_eq!(p.eval(&input, &json!({})), Ok(json!([1, 2])));
        let p = Path::parse("$.items[?(@.ok == true)].id").expect("parses");
        assert_eq!(p.eval(&input, &json!({})), Ok(json!([1])));
    }

    #[test]
    fn result_path_creates_objects() {
        let r = RefPath::parse("$.a.b.c").expect("definite");
        assert_eq!(
            r.set(json!({"x": 1}), json!(5)),
            Ok(json!({"x": 1, "a": {"b": {"c": 5}}}))
        );
        let r = RefPath::parse("$").expect("definite");
        assert_eq!(r.set(json!({"x": 1}), json!(5)), Ok(json!(5)));
        let r = RefPath::parse("$.x.y").expect("definite");
        assert!(r.set(json!({"x": 1}), json!(5)).is_err());
    }

    #[test]
    fn templates_resolve_paths_and_context() {
        let t = Template::compile(
            &json!({"a.$": "$.v", "b": {"c.$": "$$.Execution.Name"}, "d": [{"e.$": "$.v"}]}),
        )
        .expect("compiles");
        let out = t.eval(&json!({"v": 7}), &json!({"Execution": {"Name": "n"}}));
        assert_eq!(out, Ok(json!({"a": 7, "b": {"c": "n"}, "d": [{"e": 7}]})));
        let err = Template::compile(&json!({"a.$": "$.missing"}))
            .expect("compiles")
            .eval(&json!({"v": 1}), &json!({}))
            .expect_err("missing");
        assert_eq!(
            err,
            "The JSONPath '$.missing' specified for the field 'a.$' could not be found in the input '{\"v\":1}'"
        );
    }
}
