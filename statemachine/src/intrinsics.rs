//! The intrinsic functions this engine supports (`States.Format`, `States.JsonToString`,
//! `States.StringToJson`, `States.Array`, `States.MathAdd`, `States.UUID`); any other function
//! is refused when the definition is loaded.

use crate::paths::Path;
use serde_json::Value;

// Escaped braces inside string literals are kept apart from real placeholders until
// States.Format has split its template; these private-use characters stand in for them.
const OPEN: char = '\u{E000}';
const CLOSE: char = '\u{E001}';

/// A supported intrinsic function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    /// `States.Format`.
    Format,
    /// `States.JsonToString`.
    JsonToString,
    /// `States.StringToJson`.
    StringToJson,
    /// `States.Array`.
    Array,
    /// `States.MathAdd`.
    MathAdd,
    /// `States.UUID`.
    Uuid,
}

/// An argument of an intrinsic call.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    /// A literal (string, number, boolean, null).
    Literal(Value),
    /// A path into the input or context object.
    Path(Path),
    /// A nested call.
    Call(Box<Expr>),
}

/// A parsed intrinsic call.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// The function called.
    pub func: Func,
    /// Its arguments.
    pub args: Vec<Arg>,
}

impl Expr {
    /// Whether some path argument (at any depth) starts with `prefix`.
    pub fn mentions(&self, prefix: &str) -> bool {
        self.args.iter().any(|a| match a {
            Arg::Path(p) => p.as_str().starts_with(prefix),
            Arg::Call(e) => e.mentions(prefix),
            Arg::Literal(_) => false,
        })
    }
}

struct Parser<'a> {
    chars: Vec<char>,
    pos: usize,
    src: &'a str,
}

impl Parser<'_> {
    fn err(&self, what: &str) -> String {
        format!("invalid intrinsic function '{}': {what}", self.src)
    }

    fn skip_ws(&mut self) {
        while self.pos < self.chars.len() && self.chars[self.pos].is_whitespace() {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn call(&mut self) -> Result<Expr, String> {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '.')
        {
            self.pos += 1;
        }
        let name: String = self.chars[start..self.pos].iter().collect();
        let func = match name.as_str() {
            "States.Format" => Func::Format,
            "States.JsonToString" => Func::JsonToString,
            "States.StringToJson" => Func::StringToJson,
            "States.Array" => Func::Array,
            "States.MathAdd" => Func::MathAdd,
            "States.UUID" => Func::Uuid,
            other => {
                return Err(format!(
                    "intrinsic function '{other}' is not supported by the local engine"
                ))
            }
        };
        self.skip_ws();
        if self.peek() != Some('(') {
            return Err(self.err("expected '('"));
        }
        self.pos += 1;
        let mut args = Vec::new();
        self.skip_ws();
        if self.peek() == Some(')') {
            self.pos += 1;
        } else {
            loop {
                self.skip_ws();
                args.push(self.arg()?);
                self.skip_ws();
                match self.peek() {
                    Some(',') => self.pos += 1,
                    Some(')') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(self.err("expected ',' or ')'")),
                }
            }
        }
        let arity_ok = match func {
            Func::Format => !args.is_empty(),
            Func::JsonToString | Func::StringToJson => args.len() == 1,
            Func::Array => true,
            Func::MathAdd => args.len() == 2,
            Func::Uuid => args.is_empty(),
        };
        if !arity_ok {
            return Err(self.err(&format!("wrong number of arguments for {name}")));
        }
        Ok(Expr { func, args })
    }

    fn arg(&mut self) -> Result<Arg, String> {
        match self.peek() {
            Some('\'') => {
                self.pos += 1;
                let mut s = String::new();
                loop {
                    match self.peek() {
                        None => return Err(self.err("unterminated string")),
                        Some('\\') => {
                            let c = self
                                .chars
                                .get(self.pos + 1)
                                .copied()
                                .ok_or_else(|| self.err("dangling escape"))?;
                            s.push(match c {
                                '{' => OPEN,
                                '}' => CLOSE,
                                other => other,
                            });
                            self.pos += 2;
                        }
                        Some('\'') => {
                            self.pos += 1;
                            break;
                        }
                        Some(c) => {
                            s.push(c);
                            self.pos += 1;
                        }
                    }
                }
                Ok(Arg::Literal(Value::String(s)))
            }
            Some('$') => {
                // A path runs to the next top-level ',' or ')'; brackets and parentheses
                // (filters) nest, and quotes protect their content.
                let start = self.pos;
                let mut depth = 0i32;
                let mut quote: Option<char> = None;
                while let Some(c) = self.peek() {
                    match (quote, c) {
                        (Some(q), c) if c == q => quote = None,
                        (Some(_), _) => {}
                        (None, '\'' | '"') => quote = Some(c),
                        (None, '[' | '(') => depth += 1,
                        (None, ']') => depth -= 1,
                        (None, ')') if depth == 0 => break,
                        (None, ')') => depth -= 1,
                        (None, ',') if depth == 0 => break,
                        _ => {}
                    }
                    self.pos += 1;
                }
                let raw: String = self.chars[start..self.pos].iter().collect();
                Ok(Arg::Path(Path::parse(raw.trim())?))
            }
            Some(c) if c.is_ascii_alphabetic() => {
                let rest: String = self.chars[self.pos..].iter().collect();
                for (word, v) in [
                    ("true", Value::Bool(true)),
                    ("false", Value::Bool(false)),
                    ("null", Value::Null),
                ] {
                    if rest.starts_with(word)
                        && !rest[word.len()..].starts_with(|c: char| c.is_ascii_alphanumeric())
                    {
                        self.pos += word.len();
                        return Ok(Arg::Literal(v));
                    }
                }
                Ok(Arg::Call(Box::new(self.call()?)))
            }
            Some(c) if c == '-' || c.is_ascii_digit() => {
                let start = self.pos;
                self.pos += 1;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
                {
                    self.pos += 1;
                }
                let raw: String = self.chars[start..self.pos].iter().collect();
                let v: Value = serde_json::from_str(&raw)
                    .map_err(|_| self.err(&format!("bad number {raw}")))?;
                Ok(Arg::Literal(v))
            }
            _ => Err(self.err("unexpected character")),
        }
    }
}

/// Parses an intrinsic call such as `States.Format('x {}', $.a)`.
pub fn parse(src: &str) -> Result<Expr, String> {
    let mut p = Parser {
        chars: src.chars().collect(),
        pos: 0,
        src,
    };
    p.skip_ws();
    let e = p.call()?;
    p.skip_ws();
    if p.pos != p.chars.len() {
        return Err(p.err("trailing characters after the call"));
    }
    Ok(e)
}

fn unescape(s: &str) -> String {
    s.replace(OPEN, "{").replace(CLOSE, "}")
}

fn arg_value(arg: &Arg, input: &Value, ctx: &Value) -> Result<Value, String> {
    match arg {
        Arg::Literal(Value::String(s)) => Ok(Value::String(unescape(s))),
        Arg::Literal(v) => Ok(v.clone()),
        Arg::Path(p) => p.eval_invalid_path(input, ctx),
        Arg::Call(e) => eval(e, input, ctx),
    }
}

/// Renders a value the way AWS's States.Format does (Java `toString` of the JSON value).
fn java_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Object(m) => {
            let parts: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{k}={}", java_string(v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        Value::Array(a) => {
            let parts: Vec<String> = a.iter().map(java_string).collect();
            format!("[{}]", parts.join(", "))
        }
        other => other.to_string(),
    }
}

/// Java's `Math.round`, which AWS applies to each MathAdd argument.
fn java_round(v: &Value) -> Result<i64, String> {
    let f = v
        .as_f64()
        .ok_or_else(|| format!("States.MathAdd expects numbers, got {v}"))?;
    Ok((f + 0.5).floor() as i64)
}

/// Evaluates a call; `Err` describes why it failed.
pub fn eval(expr: &Expr, input: &Value, ctx: &Value) -> Result<Value, String> {
    match expr.func {
        Func::Format => {
            let template = match expr.args.first() {
                Some(Arg::Literal(Value::String(s))) => s.clone(),
                Some(a) => match arg_value(a, input, ctx)? {
                    Value::String(s) => s,
                    other => {
                        return Err(format!(
                            "States.Format template must be a string, got {other}"
                        ))
                    }
                },
                None => return Err("States.Format needs a template".into()),
            };
            let pieces: Vec<&str> = template.split("{}").collect();
            let values = expr.args[1..]
                .iter()
                .map(|a| arg_value(a, input, ctx))
                .collect::<Result<Vec<_>, _>>()?;
            if pieces.len() - 1 != values.len() {
                return Err(format!(
                    "States.Format template has {} placeholders but {} arguments were given",
                    pieces.len() - 1,
                    values.len()
                ));
            }
            let mut out = String::new();
            for (i, piece) in pieces.iter().enumerate() {
                out.push_str(&unescape(piece));
                if let Some(v) = values.get(i) {
                    out.push_str(&java_string(v));
                }
            }
            Ok(Value::String(out))
        }
        Func::JsonToString => {
            let v = arg_value(&expr.args[0], input, ctx)?;
            Ok(Value::String(v.to_string()))
        }
        Func::StringToJson => match arg_value(&expr.args[0], input, ctx)? {
            Value::String(s) if s.trim().is_empty() => Ok(Value::Null),
            Value::String(s) => serde_json::from_str(&s)
                .map_err(|e| format!("States.StringToJson could not parse '{s}': {e}")),
            other => Err(format!("States.StringToJson expects a string, got {other}")),
        },
        Func::Array => Ok(Value::Array(
            expr.args
                .iter()
                .map(|a| arg_value(a, input, ctx))
                .collect::<Result<_, _>>()?,
        )),
        Func::MathAdd => {
            let a = java_round(&arg_value(&expr.args[0], input, ctx)?)?;
            let b = java_round(&arg_value(&expr.args[1], input, ctx)?)?;
            a.checked_add(b)
                .map(Value::from)
                .ok_or_else(|| "States.MathAdd overflow".to_string())
        }
        Func::Uuid => Ok(Value::String(uuid::Uuid::new_v4().to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(src: &str, input: Value) -> Result<Value, String> {
        eval(
            &parse(src)?,
            &input,
            &json!({"Execution": {"Name": "exec"}}),
        )
    }

    #[test]
    fn format_like_aws() {
        assert_eq!(
            run(
                "States.Format('Formatting arguments fst={} and snd={}.', $.a, $.b)",
                json!({"a": {"Arg1": 1, "Arg2": []}, "b": null})
            ),
            Ok(json!(
                "Formatting arguments fst={Arg1=1, Arg2=[]} and snd=null."
            ))
        );
        assert_eq!(
            run("States.Format('\\{\\} {}', $$.Execution.Name)", json!({})),
            Ok(json!("{} exec"))
        );
        assert!(run("States.Format('{} {}', 1)", json!({})).is_err());
    }

    #[test]
    fn json_conversions() {
        assert_eq!(
            run(
                "States.JsonToString($.a)",
                json!({"a": {"Arg1": 1, "Arg2": []}})
            ),
            Ok(json!("{\"Arg1\":1,\"Arg2\":[]}"))
        );
        assert_eq!(
            run("States.StringToJson($.a)", json!({"a": "[1, 2, \"x\"]"})),
            Ok(json!([1, 2, "x"]))
        );
        assert_eq!(
            run("States.StringToJson($.a)", json!({"a": " "})),
            Ok(json!(null))
        );
    }

    #[test]
    fn array_math_uuid() {
        assert_eq!(
            run("States.Array('a', 1, true, $.x)", json!({"x": [1]})),
            Ok(json!(["a", 1, true, [1]]))
        );
        assert_eq!(
            run("States.MathAdd($.a, $.b)", json!({"a": -1.49, "b": -1.5})),
            Ok(json!(-2))
        );
        assert_eq!(run("States.MathAdd(1.5, 1.51)", json!({})), Ok(json!(4)));
        let u = run("States.UUID()", json!({})).expect("uuid");
        assert_eq!(u.as_str().map(str::len), Some(36));
        assert_eq!(
            run("States.Array(States.Format('{}', $.x))", json!({"x": 3})),
            Ok(json!(["3"]))
        );
    }

    #[test]
    fn unsupported_functions_are_refused() {
        let err = parse("States.Hash($.a, 'MD5')").expect_err("refused");
        assert!(err.contains("States.Hash"), "{err}");
    }
}
