// SPDX-License-Identifier: MIT OR Apache-2.0
//! A tiny JSON writer: objects and arrays written in order into a
//! `String`, with correct string escaping (RFC 8259). Enough for
//! `list --json` and `monitor --json`; no parser, no dependencies.

use std::fmt::Write as _;

/// Append `s` as a JSON string literal.
pub fn string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// An object being written: `{"key":value,...}`.
pub struct Object<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> Object<'a> {
    /// Open an object at the end of `out`.
    pub fn new(out: &'a mut String) -> Self {
        out.push('{');
        Object { out, first: true }
    }

    fn key(&mut self, k: &str) -> &mut String {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        string(self.out, k);
        self.out.push(':');
        self.out
    }

    /// `"k":"v"`.
    pub fn str(&mut self, k: &str, v: &str) -> &mut Self {
        string(self.key(k), v);
        self
    }

    /// `"k":"v"` or `"k":null`.
    pub fn opt_str(&mut self, k: &str, v: Option<&str>) -> &mut Self {
        match v {
            Some(v) => self.str(k, v),
            None => self.raw(k, "null"),
        }
    }

    /// `"k":123`.
    pub fn num(&mut self, k: &str, v: u64) -> &mut Self {
        let _ = write!(self.key(k), "{v}");
        self
    }

    /// `"k":123` or `"k":null`.
    pub fn opt_num(&mut self, k: &str, v: Option<u64>) -> &mut Self {
        match v {
            Some(v) => self.num(k, v),
            None => self.raw(k, "null"),
        }
    }

    /// `"k":true`.
    pub fn bool(&mut self, k: &str, v: bool) -> &mut Self {
        self.raw(k, if v { "true" } else { "false" })
    }

    /// `"k":` followed by `json`, which must be valid JSON.
    pub fn raw(&mut self, k: &str, json: &str) -> &mut Self {
        self.key(k).push_str(json);
        self
    }

    /// `"k":[...]`, the elements written by `f` as objects.
    pub fn array<T>(
        &mut self,
        k: &str,
        items: &[T],
        mut f: impl FnMut(&mut Object<'_>, &T),
    ) -> &mut Self {
        let out = self.key(k);
        out.push('[');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let mut o = Object::new(out);
            f(&mut o, item);
            o.end();
        }
        out.push(']');
        self
    }

    /// Close the object.
    pub fn end(self) {
        self.out.push('}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        let mut s = String::new();
        string(&mut s, "a\"b\\c\nd\u{1}e\u{7f}é\u{2028}");
        assert_eq!(s, r#""a\"b\\c\nd\u0001e\u007fé\u2028""#);
    }

    #[test]
    fn objects_and_arrays() {
        let mut s = String::new();
        let mut o = Object::new(&mut s);
        o.str("name", "x")
            .num("port", 42)
            .opt_num("pid", None)
            .opt_str("p", Some("q"))
            .bool("retain", true)
            .array("items", &[1u64, 2], |o, n| {
                o.num("n", *n);
            })
            .array("none", &[] as &[u64], |_, _| {});
        o.end();
        assert_eq!(
            s,
            r#"{"name":"x","port":42,"pid":null,"p":"q","retain":true,"items":[{"n":1},{"n":2}],"none":[]}"#
        );
    }
}
