//! Every request field of Centrifugo 6.9.1's API definition, end to end.
//!
//! The test reads `src/methods/api.proto` with a parser of its own (not
//! cent-run's `methods/proto.rs`: an oracle must not share the code it
//! judges) and lists every request field path of every method of `service
//! CentrifugoApi`. From that list alone it builds:
//! - a valid corpus, two commands per method that between them use every
//!   path, each type at its extremes (int32 at 2147483647 and -2147483648,
//!   uint64 at 18446744073709551615, raw JSON holding a 30-digit integer,
//!   base64, maps, two-item lists, non-ASCII text and escapes; one command
//!   in block style, the other on one line). `check` passes it, PRO
//!   methods and fields only warned about; `plan` shows each command's
//!   params byte for byte as written; a real Centrifugo, configured with a
//!   map and a shared-poll namespace so those methods have somewhere to go,
//!   refuses none of it for a field or a format;
//! - mutants: for every integer field a value above its range and one below,
//!   for every field a value of the wrong type, for every message a misspelt
//!   field, for every field the server needs its absence. `check` refuses
//!   each at its own `FILE:LINE:COL` with a message naming what is wrong,
//!   reports nothing else, and `run` sends nothing.
//!
//! What the definition does not say — which fields the server needs
//! ([`NEEDS`]), which strings it takes from a closed list — comes from
//! Centrifugo's handlers (`internal/api/api.go`), cited where it is written.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

use base64::Engine;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::harness::{API_KEY, Server, Watch, cent_run, free_port, manifest, raw_http, root, unwrapped};

// ---------------------------------------------------------------------------
// The definition, read independently.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    One,
    Repeated,
    /// `map<string, T>`: the field's type is the value type.
    Map,
}

#[derive(Debug, Clone)]
struct Field {
    name: String,
    ty: String,
    shape: Shape,
    /// Its comment says "PRO only".
    pro: bool,
}

#[derive(Debug, Default)]
struct Proto {
    messages: BTreeMap<String, Vec<Field>>,
    enums: BTreeMap<String, Vec<String>>,
    /// The service's rpcs in order: (rpc name, request message).
    rpcs: Vec<(String, String)>,
}

struct Tok {
    text: String,
    line: usize,
}

fn tokens(src: &str) -> Vec<Tok> {
    let chars: Vec<char> = src.chars().collect();
    let (mut out, mut i, mut line) = (Vec::new(), 0, 1);
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c == '\n' {
            line += 1;
            i += 1;
            continue;
        } else if c.is_whitespace() {
            i += 1;
            continue;
        } else if c == '/' && chars.get(i + 1) == Some(&'/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += 1;
            }
            i += 1;
        } else if c.is_alphanumeric() || c == '_' || c == '.' {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '.') {
                i += 1;
            }
        } else {
            i += 1;
        }
        out.push(Tok { text: chars[start..i.min(chars.len())].iter().collect(), line });
    }
    out
}

/// A recursive-descent reader of the proto3 this file uses: messages
/// (nested ones too), enums, `repeated`, `map<,>`, `oneof`, `reserved`,
/// options, the service's rpcs, and comments (a field's own comment is the
/// one above it, or the one after it on its line).
struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    /// Line of the last token read, to tell a trailing comment from a leading one.
    line: usize,
    leading: Vec<String>,
    proto: Proto,
    /// The field just read: (message, index), for a comment after it on its line.
    last: Option<(String, usize)>,
}

impl Parser {
    fn parse(src: &str) -> Proto {
        let mut p =
            Parser { toks: tokens(src), pos: 0, line: 0, leading: Vec::new(), proto: Proto::default(), last: None };
        while let Some(t) = p.peek() {
            match t.as_str() {
                "message" => p.message(),
                "enum" => p.enumeration(),
                "service" => p.service(),
                _ => p.skip_statement(),
            }
        }
        p.proto
    }

    /// The next token that is not a comment; comments on the way are filed.
    fn peek(&mut self) -> Option<String> {
        while let Some(t) = self.toks.get(self.pos).filter(|t| t.text.starts_with("//")) {
            if t.line == self.line
                && let Some((m, i)) = &self.last
            {
                let f = &mut self.proto.messages.get_mut(m).unwrap()[*i];
                f.pro |= t.text.contains("PRO only");
            } else {
                self.leading.push(t.text.clone());
            }
            self.pos += 1;
        }
        self.toks.get(self.pos).map(|t| t.text.clone())
    }

    fn next(&mut self) -> String {
        let t = self.peek().expect("unexpected end of api.proto");
        self.line = self.toks[self.pos].line;
        self.pos += 1;
        // A comment after anything but a field's `;` is not that field's.
        self.last = None;
        t
    }

    fn expect(&mut self, want: &str) {
        let got = self.next();
        assert_eq!(got, want, "api.proto line {}", self.line);
    }

    /// Skips to the end of a statement, or past a `{ … }` block.
    fn skip_statement(&mut self) {
        let mut depth = 0;
        loop {
            match self.next().as_str() {
                ";" if depth == 0 => return,
                "{" => depth += 1,
                "}" => {
                    depth -= 1;
                    if depth == 0 {
                        return;
                    }
                }
                _ => {}
            }
        }
    }

    fn message(&mut self) {
        self.expect("message");
        let name = self.next();
        self.expect("{");
        self.leading.clear();
        self.proto.messages.entry(name.clone()).or_default();
        self.fields(&name);
    }

    /// Fields up to the closing brace (of a message or a `oneof`).
    fn fields(&mut self, msg: &str) {
        loop {
            match self.peek().expect("unclosed message").as_str() {
                "}" => {
                    self.next();
                    self.leading.clear();
                    return;
                }
                "message" => self.message(),
                "enum" => self.enumeration(),
                "oneof" => {
                    self.next();
                    self.next();
                    self.expect("{");
                    self.fields(msg);
                }
                "reserved" | "option" | "extensions" | ";" => {
                    self.skip_statement();
                    self.leading.clear();
                }
                _ => self.field(msg),
            }
        }
    }

    fn field(&mut self, msg: &str) {
        let mut shape = Shape::One;
        let mut ty = self.next();
        if ty == "repeated" || ty == "optional" {
            shape = if ty == "repeated" { Shape::Repeated } else { Shape::One };
            ty = self.next();
        }
        if ty == "map" {
            self.expect("<");
            self.next();
            self.expect(",");
            ty = self.next();
            self.expect(">");
            shape = Shape::Map;
        }
        // A qualified name (`pkg.Type`) is its last part: the file has one package.
        let ty = ty.rsplit('.').next().unwrap().to_owned();
        let name = self.next();
        self.expect("=");
        self.next();
        if self.peek().as_deref() == Some("[") {
            while self.next() != "]" {}
        }
        self.expect(";");
        let pro = std::mem::take(&mut self.leading).iter().any(|c| c.contains("PRO only"));
        let fields = self.proto.messages.get_mut(msg).unwrap();
        fields.push(Field { name, ty, shape, pro });
        self.last = Some((msg.to_owned(), fields.len() - 1));
    }

    fn enumeration(&mut self) {
        self.expect("enum");
        let name = self.next();
        self.expect("{");
        let mut values = Vec::new();
        loop {
            match self.next().as_str() {
                "}" => break,
                "option" | "reserved" => self.skip_statement(),
                value => {
                    values.push(value.to_owned());
                    while self.next() != ";" {}
                }
            }
        }
        self.proto.enums.insert(name, values);
    }

    fn service(&mut self) {
        self.expect("service");
        self.next();
        self.expect("{");
        loop {
            match self.next().as_str() {
                "}" => return,
                "rpc" => {
                    let name = self.next();
                    self.expect("(");
                    let mut request = self.next();
                    if request == "stream" {
                        request = self.next();
                    }
                    self.expect(")");
                    self.expect("returns");
                    while self.next() != ")" {}
                    if self.peek().as_deref() == Some("{") {
                        self.skip_statement();
                    } else {
                        self.expect(";");
                    }
                    self.proto.rpcs.push((name, request));
                }
                _ => self.skip_statement(),
            }
        }
    }
}

/// An rpc's name as the JSON API calls the method: `PresenceStats` →
/// `presence_stats`, `RPC` → `rpc` (a run of capitals is one word).
fn snake(rpc: &str) -> String {
    let c: Vec<char> = rpc.chars().collect();
    let mut out = String::new();
    for (i, &ch) in c.iter().enumerate() {
        let word_starts = i > 0
            && ch.is_uppercase()
            && (c[i - 1].is_lowercase() || (c[i - 1].is_uppercase() && c.get(i + 1).is_some_and(|n| n.is_lowercase())));
        if word_starts {
            out.push('_');
        }
        out.push(ch.to_ascii_lowercase());
    }
    out
}

impl Proto {
    fn load() -> Proto {
        Parser::parse(&std::fs::read_to_string(root().join("src/methods/api.proto")).unwrap())
    }

    /// (method, request message) of every method; `Batch` carries the others.
    fn methods(&self) -> Vec<(String, String)> {
        self.rpcs.iter().filter(|(rpc, _)| rpc != "Batch").map(|(rpc, req)| (snake(rpc), req.clone())).collect()
    }

    fn is_message(&self, ty: &str) -> bool {
        self.messages.contains_key(ty)
    }

    /// Every field path under `msg`; a message is not entered again inside
    /// itself (`FilterNode.nodes` is a path, its items' fields are not).
    fn paths(&self, msg: &str, prefix: &str, stack: &mut Vec<String>, out: &mut Vec<String>) {
        stack.push(msg.to_owned());
        for f in &self.messages[msg] {
            let path = format!("{prefix}.{}", f.name);
            out.push(path.clone());
            if self.is_message(&f.ty) && !stack.contains(&f.ty) {
                self.paths(&f.ty, &path, stack, out);
            }
        }
        stack.pop();
    }
}

// ---------------------------------------------------------------------------
// What the definition does not say, from Centrifugo 6.9.1's handlers.

/// Something a method's params must hold.
#[derive(Debug, Clone, Copy)]
enum Need {
    /// The field is there and not empty ("" or []).
    Filled(&'static str),
    /// The field is there and above zero.
    Positive(&'static str),
    /// One of the fields is there.
    AnyOf(&'static [&'static str]),
    /// One of the fields is there and not empty.
    AnyFilled(&'static [&'static str]),
}

const TARGET: &[&str] = &["user", "client", "session"];
const CHANNEL: &[Need] = &[Need::Filled("channel")];
const DATA: Need = Need::AnyOf(&["data", "b64data"]);

/// What each method needs. The server's own rules (api.go: `channel` of
/// publish l.204, broadcast's channels l.297 and each of them l.325, the
/// other channel methods' `channel`, rpc's `method` l.854, the map methods'
/// `channel` and `key` l.914/996, shared_poll_publish's `version` l.1276),
/// and the ones cent-run adds on top, each with its reason in
/// src/methods.rs: data to publish, unsubscribe's channel, and a target for
/// commands that would otherwise act on every anonymous connection. PRO
/// handlers are not open source: no rules for them.
const NEEDS: &[(&str, &[Need])] = &[
    ("publish", &[Need::Filled("channel"), DATA]),
    ("broadcast", &[Need::Filled("channels"), DATA]),
    ("subscribe", CHANNEL),
    ("unsubscribe", &[Need::Filled("channel"), Need::AnyFilled(TARGET)]),
    ("disconnect", &[Need::AnyFilled(TARGET)]),
    ("presence", CHANNEL),
    ("presence_stats", CHANNEL),
    ("history", CHANNEL),
    ("history_remove", CHANNEL),
    ("rpc", &[Need::Filled("method")]),
    ("refresh", &[Need::AnyFilled(TARGET)]),
    ("map_publish", &[Need::Filled("channel"), Need::Filled("key")]),
    ("map_remove", &[Need::Filled("channel"), Need::Filled("key")]),
    ("map_read_state", CHANNEL),
    ("map_read_stream", CHANNEL),
    ("map_stats", CHANNEL),
    ("map_clear", CHANNEL),
    ("shared_poll_publish", &[Need::Filled("channel"), Need::Filled("key"), Need::Positive("version")]),
];

fn needs(method: &str) -> &'static [Need] {
    NEEDS.iter().find(|(m, _)| *m == method).map_or(&[], |(_, n)| n)
}

/// Strings the server takes from a closed list (api.go:959: any other
/// `key_mode` is answered 107).
const SERVER_ENUMS: &[(&str, &[&str])] = &[("key_mode", &["if_new", "if_exists"])];

/// Errors the test server answers valid commands with, for reasons that are
/// not their fields' format: (method, code, why).
const SERVER_REFUSALS: &[(&str, u64, &str)] = &[
    // `since` and `revision_*` name stream positions these fresh streams
    // never had (offset 18446744073709551615, or 0 in another epoch).
    ("history", 112, "unrecoverable position"),
    ("map_read_state", 112, "unrecoverable position"),
];

// ---------------------------------------------------------------------------
// Values, and manifests that show where each one is.

/// A value as a manifest writes it and as JSON sends it.
#[derive(Debug, Clone)]
enum Node {
    /// A scalar as its JSON text (`"x"`, `5`, `true`), which YAML reads alike.
    Lit(String),
    /// A message: a block mapping, one field a line.
    Msg(Vec<(String, Node)>),
    /// A `map<,>` or a JSON object in raw JSON: keys quoted.
    Obj(Vec<(String, Node)>),
    List(Vec<Node>),
}

fn lit(text: impl Into<String>) -> Node {
    Node::Lit(text.into())
}

fn string(s: &str) -> Node {
    Node::Lit(serde_json::to_string(s).unwrap())
}

impl Node {
    /// The compact JSON a request carries: the texts as written.
    fn json(&self) -> String {
        let entries = |es: &[(String, Node)]| {
            let parts: Vec<String> =
                es.iter().map(|(k, v)| format!("{}:{}", serde_json::to_string(k).unwrap(), v.json())).collect();
            format!("{{{}}}", parts.join(","))
        };
        match self {
            Node::Lit(t) => t.clone(),
            Node::Msg(es) | Node::Obj(es) => entries(es),
            Node::List(items) => format!("[{}]", items.iter().map(Node::json).collect::<Vec<_>>().join(",")),
        }
    }

    /// Written on one line (flow style): it holds no message with fields.
    fn flat(&self) -> bool {
        match self {
            Node::Lit(_) => true,
            Node::Msg(es) => es.is_empty(),
            Node::Obj(es) => es.iter().all(|(_, v)| v.flat()),
            Node::List(items) => items.iter().all(Node::flat),
        }
    }

    fn entries_mut(&mut self) -> &mut Vec<(String, Node)> {
        match self {
            Node::Msg(es) | Node::Obj(es) => es,
            other => panic!("not a mapping: {other:?}"),
        }
    }

    fn at(&mut self, path: &[String]) -> &mut Node {
        let Some((first, rest)) = path.split_first() else { return self };
        let child = match self {
            Node::List(items) => &mut items[first.parse::<usize>().unwrap()],
            node => &mut node.entries_mut().iter_mut().find(|(k, _)| k == first).unwrap().1,
        };
        child.at(rest)
    }
}

/// Where something is in a manifest: 1-based line, and column in bytes as
/// the tool's diagnostics count it (the non-ASCII values test that).
type Pos = (usize, usize);

/// A manifest being written, with the position of every command, key and value.
struct Manifest {
    text: String,
    spots: HashMap<String, Pos>,
    commands: usize,
    /// How far `text` was counted: (bytes, line, byte where that line starts).
    counted: (usize, usize, usize),
}

fn spot(cmd: usize, path: &[String], what: &str) -> String {
    format!("{cmd}|{}|{what}", path.join("/"))
}

impl Manifest {
    fn new() -> Manifest {
        Manifest { text: "version: 1\ncommands:\n".into(), spots: HashMap::new(), commands: 0, counted: (0, 1, 0) }
    }

    fn here(&mut self) -> Pos {
        let (from, mut line, mut start) = self.counted;
        for (i, b) in self.text.bytes().enumerate().skip(from) {
            if b == b'\n' {
                line += 1;
                start = i + 1;
            }
        }
        self.counted = (self.text.len(), line, start);
        (line, self.text.len() - start + 1)
    }

    fn mark(&mut self, cmd: usize, path: &[String], what: &str) {
        let here = self.here();
        self.spots.insert(spot(cmd, path, what), here);
    }

    fn pos(&self, cmd: usize, path: &[String], what: &str) -> Pos {
        self.spots[&spot(cmd, path, what)]
    }

    /// Adds `- method: params`, all on one line when `one_line`; returns
    /// the command's index.
    fn command(&mut self, method: &str, params: &Node, one_line: bool) -> usize {
        let cmd = self.commands;
        self.commands += 1;
        self.text.push_str("  - ");
        self.mark(cmd, &[], "command");
        self.text.push_str(method);
        self.text.push(':');
        if one_line {
            self.text.push(' ');
            self.flow(cmd, params, &mut Vec::new());
            self.text.push('\n');
        } else {
            self.value(cmd, params, 6, &mut Vec::new());
        }
        cmd
    }

    /// A value after its `key:`; `indent`: its children's indentation.
    fn value(&mut self, cmd: usize, node: &Node, indent: usize, path: &mut Vec<String>) {
        if node.flat() {
            self.text.push(' ');
            self.flow(cmd, node, path);
            self.text.push('\n');
            return;
        }
        self.text.push('\n');
        match node {
            Node::Msg(es) | Node::Obj(es) => {
                self.text.push_str(&" ".repeat(indent));
                self.mark(cmd, path, "value");
                self.entries(cmd, es, matches!(node, Node::Obj(_)), indent, path);
            }
            Node::List(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.text.push_str(&" ".repeat(indent));
                    if i == 0 {
                        self.mark(cmd, path, "value");
                    }
                    self.text.push_str("- ");
                    path.push(i.to_string());
                    match item {
                        Node::Msg(es) if !item.flat() => {
                            self.mark(cmd, path, "value");
                            self.entries(cmd, es, false, indent + 2, path)
                        }
                        _ => {
                            self.flow(cmd, item, path);
                            self.text.push('\n');
                        }
                    }
                    path.pop();
                }
            }
            Node::Lit(_) => unreachable!("a scalar is flat"),
        }
    }

    /// Block mapping entries; the first one's indentation is already written.
    fn entries(&mut self, cmd: usize, es: &[(String, Node)], quoted: bool, indent: usize, path: &mut Vec<String>) {
        for (i, (k, v)) in es.iter().enumerate() {
            if i > 0 {
                self.text.push_str(&" ".repeat(indent));
            }
            path.push(k.clone());
            self.mark(cmd, path, "key");
            self.text.push_str(&if quoted { serde_json::to_string(k).unwrap() } else { k.clone() });
            self.text.push(':');
            self.value(cmd, v, indent + 2, path);
            path.pop();
        }
    }

    fn flow(&mut self, cmd: usize, node: &Node, path: &mut Vec<String>) {
        self.mark(cmd, path, "value");
        match node {
            Node::Lit(t) => self.text.push_str(t),
            Node::Msg(es) | Node::Obj(es) => {
                self.text.push('{');
                for (i, (k, v)) in es.iter().enumerate() {
                    if i > 0 {
                        self.text.push_str(", ");
                    }
                    path.push(k.clone());
                    self.mark(cmd, path, "key");
                    match node {
                        Node::Msg(_) => self.text.push_str(k),
                        _ => self.text.push_str(&serde_json::to_string(k).unwrap()),
                    }
                    self.text.push_str(": ");
                    self.flow(cmd, v, path);
                    path.pop();
                }
                self.text.push('}');
            }
            Node::List(items) => {
                self.text.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.text.push_str(", ");
                    }
                    path.push(i.to_string());
                    self.flow(cmd, item, path);
                    path.pop();
                }
                self.text.push(']');
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The valid corpus.

/// The integer types' ranges.
fn range(ty: &str) -> Option<(i128, i128)> {
    Some(match ty {
        "int32" | "sint32" | "sfixed32" => (i32::MIN.into(), i32::MAX.into()),
        "uint32" | "fixed32" => (0, u32::MAX.into()),
        "int64" | "sint64" | "sfixed64" => (i64::MIN.into(), i64::MAX.into()),
        "uint64" | "fixed64" => (0, u64::MAX.into()),
        _ => return None,
    })
}

/// Raw JSON (a `bytes` field of the JSON API): numbers no float can hold,
/// a trailing zero, an exponent, non-ASCII text, nesting.
fn raw_json(variant: usize) -> Node {
    if variant == 0 {
        Node::Obj(vec![
            ("big".into(), lit("123456789012345678901234567890")),
            ("negative".into(), lit("-98765432109876543210")),
            ("float".into(), lit("1.5")),
            ("fixed".into(), lit("1.50")),
            ("small".into(), lit("-2.5e-3")),
            ("text".into(), string("Grüße — 世界")),
            ("list".into(), Node::List(vec![lit("1"), lit("null"), lit("true")])),
            ("empty".into(), Node::Obj(vec![])),
        ])
    } else {
        Node::List(vec![
            lit("0.1"),
            string("ü"),
            Node::Obj(vec![("deep".into(), Node::Obj(vec![("n".into(), lit("18446744073709551616"))]))]),
        ])
    }
}

/// Builds the valid commands. Variant 0 writes each integer at its maximum,
/// booleans true and the JSON form of a payload, in block style; variant 1
/// the minimum (1 where the server needs more than 0), false, the base64
/// form and text with escapes, all on one line, so that places are also
/// found far along a line with non-ASCII text before them. The server keeps
/// only one form of a payload (api.go:211), so a command has one of them.
/// The items of a list and the entries of a map alternate the two.
struct Corpus<'a> {
    proto: &'a Proto,
    method: &'a str,
}

impl Corpus<'_> {
    fn params(&self, msg: &str, variant: usize) -> Node {
        self.message(msg, variant, &mut Vec::new(), false)
    }

    /// A message with its fields; `shallow` (a message inside itself)
    /// leaves out the message-typed ones, so the recursion ends.
    fn message(&self, msg: &str, v: usize, stack: &mut Vec<String>, shallow: bool) -> Node {
        let fields = &self.proto.messages[msg];
        let has = |name: &str| fields.iter().any(|f| f.name == name);
        stack.push(msg.to_owned());
        let mut out = Vec::new();
        for f in fields {
            let b64_form = f.name.strip_prefix("b64").is_some_and(has);
            let json_form = has(&format!("b64{}", f.name));
            if (b64_form && v == 0) || (json_form && v == 1) || (shallow && self.proto.is_message(&f.ty)) {
                continue;
            }
            let one = |k: usize, stack: &mut Vec<String>| self.one(f, (v + k) % 2, k, stack);
            let value = match f.shape {
                Shape::One => one(0, stack),
                Shape::Repeated => Node::List(vec![one(0, stack), one(1, stack)]),
                Shape::Map => {
                    Node::Obj(vec![(format!("{}-ü", f.name), one(0, stack)), (format!("{}-2", f.name), one(1, stack))])
                }
            };
            out.push((f.name.clone(), value));
        }
        stack.pop();
        Node::Msg(out)
    }

    /// One value of `f`'s type; `k`: which item of a list or map.
    fn one(&self, f: &Field, v: usize, k: usize, stack: &mut Vec<String>) -> Node {
        if self.proto.is_message(&f.ty) {
            let inside_itself = stack.contains(&f.ty);
            return self.message(&f.ty, v, stack, inside_itself);
        }
        if let Some(values) = self.proto.enums.get(&f.ty) {
            return string(&values[v % values.len()]);
        }
        if let Some((min, max)) = range(&f.ty) {
            let positive = needs(self.method).iter().any(|n| matches!(n, Need::Positive(p) if *p == f.name));
            return lit(match v {
                0 => max.to_string(),
                _ if positive => "1".to_owned(),
                _ => min.to_string(),
            });
        }
        match f.ty.as_str() {
            "bool" => lit(["true", "false"][v]),
            "double" | "float" => lit(["1.5", "-2.5e-3"][v]),
            "bytes" => raw_json(v),
            "string" => string(&self.text(&f.name, v, k)),
            other => panic!("api.proto type `{other}` has no value here"),
        }
    }

    fn text(&self, field: &str, v: usize, k: usize) -> String {
        if let Some((_, allowed)) = SERVER_ENUMS.iter().find(|(f, _)| *f == field) {
            return allowed[v % allowed.len()].to_owned();
        }
        if field.starts_with("b64") {
            return base64::engine::general_purpose::STANDARD.encode(format!("Grüße {field} {v}{k}"));
        }
        // Map commands go to the map namespace, shared-poll ones to the
        // shared-poll one: the server refuses them elsewhere (api.go:928).
        let namespace = match self.method {
            m if m.starts_with("map_") => "fmap:",
            m if m.starts_with("shared_poll_") => "fpoll:",
            _ => "",
        };
        match field {
            "channel" => format!("{namespace}fields-{}-{v}", self.method),
            "channels" => format!("{namespace}fields-{}-{v}-{k}", self.method),
            // JSON and YAML both escape `"`, `\\` and a tab alike.
            _ if v == 1 => format!("{field} \"ü\"\\\t{k}"),
            _ => format!("{field}-ü{v}{k}"),
        }
    }
}

/// The field paths a value uses: `method.field.sub`, list items and map
/// entries as their field.
fn used(node: &Node, prefix: &str, out: &mut Vec<String>) {
    match node {
        Node::Msg(es) => {
            for (k, v) in es {
                let p = format!("{prefix}.{k}");
                out.push(p.clone());
                used(v, &p, out);
            }
        }
        Node::List(items) => items.iter().for_each(|i| used(i, prefix, out)),
        Node::Obj(es) => es.iter().for_each(|(_, v)| used(v, prefix, out)),
        Node::Lit(_) => {}
    }
}

/// A valid command of the corpus.
struct Command {
    method: String,
    /// Its request message.
    msg: String,
    variant: usize,
    params: Node,
}

impl Command {
    /// A top-level field's JSON.
    fn field(&self, name: &str) -> Option<String> {
        let Node::Msg(es) = &self.params else { unreachable!("params are a message") };
        es.iter().find(|(k, _)| k == name).map(|(_, v)| v.json())
    }
}

struct Valid {
    proto: Proto,
    commands: Vec<Command>,
    paths: Vec<String>,
}

fn valid() -> Valid {
    let proto = Proto::load();
    let mut commands = Vec::new();
    let mut paths = Vec::new();
    for (method, msg) in proto.methods() {
        proto.paths(&msg, &method, &mut Vec::new(), &mut paths);
        let corpus = Corpus { proto: &proto, method: &method };
        for v in 0..2 {
            commands.push(Command {
                method: method.clone(),
                msg: msg.clone(),
                variant: v,
                params: corpus.params(&msg, v),
            });
        }
    }
    Valid { proto, commands, paths }
}

fn write_valid(v: &Valid) -> Manifest {
    let mut m = Manifest::new();
    for c in &v.commands {
        m.command(&c.method, &c.params, c.variant == 1);
    }
    m
}

// ---------------------------------------------------------------------------
// Running the tool.

/// A problem `check --format json` reported (and stderr showed, located).
#[derive(Debug)]
struct Problem {
    pos: Pos,
    error: bool,
    message: String,
    hint: String,
}

/// `cent-run check` of `text` as `name` in `dir`: exit code and problems.
fn check(dir: &std::path::Path, name: &str, text: &str) -> (Option<i32>, Vec<Problem>) {
    std::fs::write(dir.join(name), text).unwrap();
    let out =
        cent_run().current_dir(dir).args(["check", name, "--format", "json"]).env("NO_COLOR", "1").output().unwrap();
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("check --format json: {e}: {}", String::from_utf8_lossy(&out.stdout)));
    let stderr = unwrapped(&String::from_utf8_lossy(&out.stderr));
    let shown_lines: HashSet<&str> = stderr.lines().map(str::trim).collect();
    let problems = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let pos = (p["line"].as_u64().unwrap() as usize, p["column"].as_u64().unwrap() as usize);
            let error = p["severity"] == "error";
            let message = p["message"].as_str().unwrap().to_owned();
            // The located line a reader sees, `FILE:LINE:COL: message`.
            let shown = format!("{} {name}:{}:{}: {message}", if error { "×" } else { "⚠" }, pos.0, pos.1);
            assert!(shown_lines.contains(shown.as_str()), "stderr does not show `{shown}`:\n{stderr}");
            Problem { pos, error, message, hint: p["hint"].as_str().unwrap_or_default().to_owned() }
        })
        .collect();
    (out.status.code(), problems)
}

// ---------------------------------------------------------------------------
// The tests.

/// The list of paths is the definition's, not an empty or partial reading.
#[test]
fn the_oracle_reads_the_whole_definition() {
    let v = valid();
    // The service's rpcs, named as the JSON API names them, are the fields
    // of `message Command` (the batch's commands), in the same order.
    let methods: Vec<String> = v.proto.methods().into_iter().map(|(m, _)| m).collect();
    let commands: Vec<String> = v.proto.messages["Command"].iter().map(|f| f.name.clone()).collect();
    assert_eq!(methods, commands);
    assert!(
        methods.len() > 30 && methods.contains(&"presence_stats".to_owned()) && methods.contains(&"rpc".to_owned())
    );
    for p in ["publish.channel", "subscribe.override.presence.value", "device_register.meta", "history.since.epoch"] {
        assert!(v.paths.contains(&p.to_owned()), "{p} not among {} paths", v.paths.len());
    }
    let pro: Vec<String> =
        v.proto.messages["SubscribeRequest"].iter().filter(|f| f.pro).map(|f| f.name.clone()).collect();
    assert_eq!(pro, ["label_filter", "all_users"], "the PRO-only comments");
    assert!(!v.proto.messages["PublishRequest"].iter().any(|f| f.pro));
}

/// Every path is used by a valid command that `check` accepts, and `plan`
/// sends each command's params exactly as the manifest wrote them.
#[test]
fn every_field_path_is_accepted_and_sent_byte_exactly() {
    let started = Instant::now();
    let v = valid();
    let mut covered = Vec::new();
    for c in &v.commands {
        used(&c.params, &c.method, &mut covered);
    }
    let missing: Vec<&String> = v.paths.iter().filter(|p| !covered.contains(p)).collect();
    assert!(missing.is_empty(), "paths no valid command uses: {missing:?}");

    let m = write_valid(&v);
    let dir = tempfile::tempdir().unwrap();
    let (code, problems) = check(dir.path(), "valid.yaml", &m.text);
    let errors: Vec<&Problem> = problems.iter().filter(|p| p.error).collect();
    assert!(errors.is_empty() && code == Some(0), "exit {code:?}, errors {errors:#?}\n{}", m.text);
    // Each field the definition marks PRO-only is warned about at its first
    // use, and the warning counts the other commands that use it.
    let mut pro_uses: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, c) in v.commands.iter().enumerate() {
        for f in v.proto.messages[&c.msg].iter().filter(|f| f.pro) {
            pro_uses.entry(&f.name).or_default().push(i);
        }
    }
    assert!(!pro_uses.is_empty());
    for (field, uses) in &pro_uses {
        let at = m.pos(uses[0], &[field.to_string()], "value");
        let warning = problems.iter().find(|p| p.pos == at && p.message.contains(&format!("`{field}`")));
        let warning = warning.unwrap_or_else(|| panic!("no PRO warning for `{field}` at {at:?}: {problems:#?}"));
        assert!(!warning.error);
        assert!(names(&warning.hint, &(uses.len() - 1).to_string()), "{field} has {} uses: {warning:?}", uses.len());
    }

    let out = cent_run()
        .current_dir(dir.path())
        .args(["plan", "valid.yaml", "--api-key", "k", "--run-id", "r1", "--no-idempotency"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let plan = String::from_utf8(out.stdout).unwrap();
    let sent = sent_commands(&plan);
    assert_eq!(sent.len(), v.commands.len(), "{plan}");
    for (i, c) in v.commands.iter().enumerate() {
        let want = format!("{{{}:{}}}", serde_json::to_string(&c.method).unwrap(), c.params.json());
        assert_eq!(sent[&i], want, "command {i} ({}) is not sent as written", c.method);
    }
    eprintln!(
        "fields: {} methods, {} field paths, {} valid commands: accepted and sent byte-exactly in {:?}",
        v.proto.methods().len(),
        v.paths.len(),
        v.commands.len(),
        started.elapsed()
    );
}

/// The raw JSON text of each command in `plan`'s output, by command index.
fn sent_commands(plan: &str) -> HashMap<usize, String> {
    #[derive(serde::Deserialize)]
    struct Body<'a> {
        #[serde(borrow)]
        commands: Vec<&'a RawValue>,
    }
    let mut sent = HashMap::new();
    let mut indices: Vec<usize> = Vec::new();
    for line in plan.lines() {
        if let Some(list) = line.strip_prefix("# request ").and_then(|l| l.split_once(": commands ")) {
            indices = list.1.split(", ").map(|c| c.split(' ').next().unwrap().parse().unwrap()).collect();
        } else if line.starts_with("{\"commands\":") {
            let body: Body = serde_json::from_str(line).unwrap();
            assert_eq!(body.commands.len(), indices.len(), "{line}");
            for (i, c) in indices.iter().zip(body.commands) {
                sent.insert(*i, c.get().to_owned());
            }
        }
    }
    sent
}

/// A Centrifugo with the test config and a namespace of each kind the map
/// and shared-poll methods need (they are refused elsewhere, api.go:928).
fn server_with_maps() -> (tempfile::TempDir, Server) {
    let mut config: Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("tests/centrifugo/config.json")).unwrap()).unwrap();
    config["shared_poll"] = serde_json::json!({"hmac_secret_key": "fields-shared-poll"});
    // Shared polls need a refresh proxy; nothing here subscribes, so it is never called.
    config["channel"]["proxy"] = serde_json::json!({"shared_poll_refresh": {"endpoint": "http://127.0.0.1:9/refresh"}});
    let namespaces = config["channel"]["namespaces"].as_array_mut().unwrap();
    namespaces.push(serde_json::json!({
        "name": "fmap", "subscription_type": "map",
        "map": {"mode": "recoverable", "key_ttl": "60s", "stream_size": 100, "stream_ttl": "60s"}
    }));
    namespaces.push(serde_json::json!({
        "name": "fpoll", "subscription_type": "shared_poll",
        "shared_poll": {"mode": "versioned", "publish_enabled": true}
    }));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    std::fs::write(&path, config.to_string()).unwrap();
    let server = Server::start_with(free_port(), &path);
    (dir, server)
}

/// The real server refuses no valid command for its fields; the methods it
/// does not serve at all (104) are exactly the ones `check` warned about.
#[test]
fn a_real_server_refuses_no_valid_command_for_its_fields() {
    let started = Instant::now();
    let v = valid();
    let m = write_valid(&v);
    let (dir, server) = server_with_maps();
    std::fs::write(dir.path().join("valid.yaml"), &m.text).unwrap();
    let out = cent_run()
        .current_dir(dir.path())
        .args(["valid.yaml", "--url", &server.url, "--api-key", API_KEY, "--report-json", "r.json"])
        .output()
        .unwrap();
    let report: Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("r.json")).unwrap())
        .unwrap_or_else(|e| panic!("no report ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    let outcomes = report["commands"].as_array().unwrap();
    assert_eq!(outcomes.len(), v.commands.len());
    let (mut unserved, mut refused, mut wrong) = (Vec::new(), Vec::new(), Vec::new());
    for c in outcomes.iter().filter(|c| c["status"] != "ok") {
        let i = c["index"].as_u64().unwrap() as usize;
        let method = &v.commands[i].method;
        let code = c["error"]["code"].as_u64();
        if code == Some(104) {
            unserved.push(method.clone());
        } else if let Some(known) = SERVER_REFUSALS.iter().find(|(m, c, _)| m == method && Some(*c) == code) {
            refused.push(known);
        } else {
            wrong.push(format!("#{i} {method}: {} {}", c["status"], c["error"]));
        }
    }
    assert!(wrong.is_empty(), "refused by the server:\n{}\n{}", wrong.join("\n"), m.text);
    // The list of expected refusals holds no more than what happens.
    let stale: Vec<_> = SERVER_REFUSALS.iter().filter(|r| !refused.contains(r)).collect();
    assert!(stale.is_empty(), "refusals that no longer happen: {stale:?}");
    // What the server now holds is the payload as written, read back raw
    // (map state: the publishes of the corpus skip history in variant 0).
    let map = v.commands.iter().find(|c| c.method == "map_publish" && c.variant == 0).unwrap();
    let body = format!(r#"{{"channel":{},"limit":100}}"#, map.field("channel").unwrap());
    let (status, reply) =
        raw_http(server.port, "POST", "/api/map_read_state", &[("X-API-Key", API_KEY)], body.as_bytes()).unwrap();
    let reply = String::from_utf8(reply).unwrap();
    assert_eq!(status, 200, "{reply}");
    assert!(reply.contains(&format!(r#""data":{}"#, map.field("data").unwrap())), "map state holds {reply}");
    // An unserved method is answered 104 both times, and `check` says so at the command.
    let (_, problems) = check(dir.path(), "valid.yaml", &m.text);
    let mut warned: Vec<String> = (0..v.commands.len())
        .filter(|&i| problems.iter().any(|p| !p.error && p.pos == m.pos(i, &[], "command")))
        .map(|i| v.commands[i].method.clone())
        .collect();
    // Both commands of a method are answered alike; a warning is said once per method.
    assert_eq!(unserved.len() % 2, 0, "{unserved:?}");
    unserved.sort();
    unserved.dedup();
    warned.sort();
    warned.dedup();
    assert_eq!(unserved, warned, "methods answered 104 vs methods `check` warns about");
    eprintln!(
        "fields: {} valid commands run on a real Centrifugo, {} of {} methods served, in {:?}",
        v.commands.len(),
        v.proto.methods().len() - unserved.len(),
        v.proto.methods().len(),
        started.elapsed()
    );
}

// ---------------------------------------------------------------------------
// Mutants: one thing wrong in an otherwise valid command.

/// Where a mutant's problem must be reported.
#[derive(Debug, Clone)]
enum At {
    Value(Vec<String>),
    Key(Vec<String>),
    /// The command's method.
    Command,
}

#[derive(Debug, Clone)]
enum Edit {
    /// The values at these paths become these.
    Put(Vec<(Vec<String>, Node)>),
    /// The message at the path gets one more field.
    Add(Vec<String>, String, Node),
    /// These top-level fields go.
    Drop(Vec<&'static str>),
}

/// What a mutant breaks, for the tally.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    OutOfRange,
    WrongType,
    /// Bad base64, a value outside a closed list, both forms of a payload.
    BadValue,
    Unknown,
    Missing,
    Empty,
}

#[derive(Debug)]
struct Mutant {
    kind: Kind,
    /// The valid command it is made from.
    base: usize,
    edit: Edit,
    at: At,
    /// What the message must name: words, or whole numbers (a range's bound).
    says: Vec<String>,
    hint: Option<String>,
}

struct Mutator<'a> {
    proto: &'a Proto,
    base: usize,
    out: Vec<Mutant>,
}

fn with(path: &[String], seg: &str) -> Vec<String> {
    let mut p = path.to_vec();
    p.push(seg.to_owned());
    p
}

impl Mutator<'_> {
    fn push(&mut self, kind: Kind, edit: Edit, at: At, says: &[&str], hint: Option<String>) {
        let says = says.iter().map(|s| s.to_string()).collect();
        self.out.push(Mutant { kind, base: self.base, edit, at, says, hint });
    }

    /// The value at `path` replaced by `value`, reported there.
    fn put(&mut self, kind: Kind, path: &[String], value: Node, says: &[&str]) {
        self.push(kind, Edit::Put(vec![(path.to_vec(), value)]), At::Value(path.to_vec()), says, None);
    }

    fn message(&mut self, msg: &str, node: &Node, path: &mut Vec<String>) {
        let fields = &self.proto.messages[msg];
        // A misspelt field: the longest name with its last letter doubled.
        let (typo, hint) = match fields.iter().max_by_key(|f| f.name.len()) {
            Some(f) => (format!("{}{}", f.name, f.name.chars().last().unwrap()), format!("did you mean `{}`?", f.name)),
            None => ("chanel".to_owned(), "takes no fields".to_owned()),
        };
        let unknown = format!("unknown field `{typo}`");
        self.push(
            Kind::Unknown,
            Edit::Add(path.clone(), typo.clone(), lit("1")),
            At::Key(with(path, &typo)),
            &[&unknown],
            Some(hint),
        );
        let Node::Msg(entries) = node else { panic!("{msg} at {path:?} is not a message: {node:?}") };
        for (name, value) in entries {
            let f = fields.iter().find(|f| f.name == *name).unwrap();
            let here = with(path, name);
            // Both forms of a payload: the server would keep one and drop the other.
            if let Some(plain) = name.strip_prefix("b64").filter(|p| fields.iter().any(|f| f.name == *p)) {
                let edit = Edit::Add(path.clone(), plain.to_owned(), raw_json(0));
                self.push(
                    Kind::BadValue,
                    edit,
                    At::Value(here.clone()),
                    &[&format!("`{plain}`"), &format!("`{name}`")],
                    None,
                );
            }
            path.push(name.clone());
            self.field(f, value, path);
            path.pop();
        }
    }

    fn field(&mut self, f: &Field, node: &Node, path: &mut Vec<String>) {
        match (f.shape, node) {
            (Shape::One, _) => self.one(f, node, path),
            // The last item and entry: on a line, after the non-ASCII first one.
            (Shape::Repeated, Node::List(items)) => {
                self.put(Kind::WrongType, path, string("x"), &[&f.name, "list"]);
                path.push((items.len() - 1).to_string());
                self.one(f, items.last().unwrap(), path);
                path.pop();
            }
            (Shape::Map, Node::Obj(entries)) => {
                self.put(Kind::WrongType, path, string("x"), &[&f.name, "mapping"]);
                let (key, value) = entries.last().unwrap();
                path.push(key.clone());
                self.one(f, value, path);
                path.pop();
            }
            _ => panic!("{path:?}: {node:?} is not a {:?}", f.shape),
        }
    }

    /// Mutants of one value of `f`'s type (the field, an item, an entry).
    fn one(&mut self, f: &Field, node: &Node, path: &mut Vec<String>) {
        let name = f.name.as_str();
        if self.proto.is_message(&f.ty) {
            self.put(Kind::WrongType, path, string("x"), &[name, "mapping"]);
            return self.message(&f.ty, node, path);
        }
        if let Some((min, max)) = range(&f.ty) {
            self.put(Kind::WrongType, path, string("7"), &[name, "integer"]);
            self.put(Kind::WrongType, path, lit("1.5"), &[name, "integer"]);
            self.put(Kind::OutOfRange, path, lit((max + 1).to_string()), &[name, &max.to_string()]);
            self.put(Kind::OutOfRange, path, lit((min - 1).to_string()), &[name, &min.to_string()]);
            return;
        }
        match f.ty.as_str() {
            "bool" => self.put(Kind::WrongType, path, string("yes"), &[name, "boolean"]),
            "double" | "float" => self.put(Kind::WrongType, path, string("x"), &[name, "number"]),
            "string" => {
                self.put(Kind::WrongType, path, Node::Obj(vec![("a".into(), lit("1"))]), &[name, "string"]);
                if name.starts_with("b64") {
                    self.put(Kind::BadValue, path, string("not base64!"), &[name, "base64"]);
                }
                if let Some((_, allowed)) = SERVER_ENUMS.iter().find(|(e, _)| *e == name) {
                    let typo = format!("{}x", allowed[0]);
                    let mut says = vec![name];
                    says.extend(allowed.iter());
                    let hint = Some(format!("did you mean `{}`?", allowed[0]));
                    self.push(
                        Kind::BadValue,
                        Edit::Put(vec![(path.clone(), string(&typo))]),
                        At::Value(path.clone()),
                        &says,
                        hint,
                    );
                }
            }
            // Any JSON value is a valid raw JSON payload: nothing is of a wrong type.
            "bytes" => {}
            // An enum's values are names: a mapping is not one.
            _ if self.proto.enums.contains_key(&f.ty) => {
                self.put(Kind::WrongType, path, Node::Obj(vec![("a".into(), lit("1"))]), &[name]);
            }
            other => panic!("api.proto type `{other}` has no mutant"),
        }
    }

    /// The method's needs unmet, one at a time.
    fn needs(&mut self, method: &str, params: &Node) {
        let Node::Msg(entries) = params else { unreachable!() };
        let value = |f: &str| &entries.iter().find(|(k, _)| k == f).unwrap().1;
        let top = |f: &str| vec![f.to_owned()];
        for need in needs(method) {
            match *need {
                Need::Filled(f) => {
                    self.push(Kind::Missing, Edit::Drop(vec![f]), At::Command, &[method, f], None);
                    if let Node::List(items) = value(f) {
                        self.put(Kind::Empty, &top(f), Node::List(vec![]), &[f]);
                        let with_empty = Node::List(vec![items[0].clone(), string("")]);
                        self.push(
                            Kind::Empty,
                            Edit::Put(vec![(top(f), with_empty)]),
                            At::Value(with(&top(f), "1")),
                            &["empty"],
                            None,
                        );
                    } else {
                        self.put(Kind::Empty, &top(f), string(""), &[f]);
                    }
                }
                Need::Positive(f) => {
                    self.push(Kind::Missing, Edit::Drop(vec![f]), At::Command, &[method, f], None);
                    self.put(Kind::Empty, &top(f), lit("0"), &[f]);
                }
                Need::AnyOf(fs) | Need::AnyFilled(fs) => {
                    let mut says = vec![method];
                    says.extend(fs.iter().copied());
                    self.push(Kind::Missing, Edit::Drop(fs.to_vec()), At::Command, &says, None);
                    if matches!(need, Need::AnyFilled(_)) {
                        let empty = fs.iter().map(|f| (top(f), string(""))).collect();
                        self.push(Kind::Empty, Edit::Put(empty), At::Value(top(fs[0])), &[fs[0]], None);
                    }
                }
            }
        }
    }
}

impl Edit {
    fn apply(&self, params: &Node) -> Node {
        let mut node = params.clone();
        match self {
            Edit::Put(values) => {
                for (path, value) in values {
                    *node.at(path) = value.clone();
                }
            }
            Edit::Add(path, key, value) => node.at(path).entries_mut().push((key.clone(), value.clone())),
            Edit::Drop(fields) => node.entries_mut().retain(|(k, _)| !fields.contains(&k.as_str())),
        }
        node
    }
}

/// Whether `message` names `what`: a whole number as a number of its own
/// (`0` is not found in `10`), anything else as text.
fn names(message: &str, what: &str) -> bool {
    if what.trim_start_matches('-').bytes().all(|b| b.is_ascii_digit()) {
        message.split(|c: char| !(c.is_ascii_digit() || c == '-')).any(|n| n == what)
    } else {
        message.contains(what)
    }
}

/// Every mutant is refused at its own place with a message naming what is
/// wrong, nothing else is reported, and a run sends none of them.
#[test]
fn every_out_of_range_wrong_missing_or_unknown_field_is_refused_where_it_is() {
    let started = Instant::now();
    let v = valid();
    let mut mutants = Vec::new();
    for (i, c) in v.commands.iter().enumerate() {
        let mut m = Mutator { proto: &v.proto, base: i, out: Vec::new() };
        m.message(&c.msg, &c.params, &mut Vec::new());
        if c.variant == 0 {
            m.needs(&c.method, &c.params);
        }
        mutants.extend(m.out);
    }
    let mut file = Manifest::new();
    let mut wanted = Vec::new();
    for mutant in &mutants {
        let base = &v.commands[mutant.base];
        let cmd = file.command(&base.method, &mutant.edit.apply(&base.params), base.variant == 1);
        let pos = match &mutant.at {
            At::Value(path) => file.pos(cmd, path, "value"),
            At::Key(path) => file.pos(cmd, path, "key"),
            At::Command => file.pos(cmd, &[], "command"),
        };
        wanted.push((pos, mutant));
    }
    let dir = tempfile::tempdir().unwrap();
    let (code, problems) = check(dir.path(), "mutants.yaml", &file.text);
    assert_eq!(code, Some(2));
    let mut errors: Vec<&Problem> = problems.iter().filter(|p| p.error).collect();
    let mut failures = Vec::new();
    for (pos, mutant) in &wanted {
        let fits = |p: &&Problem| {
            p.pos == *pos
                && mutant.says.iter().all(|w| names(&p.message, w))
                && mutant.hint.as_ref().is_none_or(|h| p.hint.contains(h.as_str()))
        };
        match errors.iter().position(fits) {
            Some(i) => {
                errors.remove(i);
            }
            None => {
                let there: Vec<&&Problem> = errors.iter().filter(|p| p.pos.0 == pos.0).collect();
                failures.push(format!("{mutant:?}\n  wanted at {pos:?}, reported on that line: {there:?}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} mutants not refused as they should be:\n{}",
        failures.len(),
        mutants.len(),
        failures.join("\n")
    );
    assert!(errors.is_empty(), "errors no mutant explains: {errors:#?}");

    // Refused before sending: a run opens no connection.
    let watch = Watch::new();
    let out = cent_run()
        .current_dir(dir.path())
        .args(["mutants.yaml", "--url", &watch.url, "--api-key", "k"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(watch.connections(), 0, "a manifest with invalid fields was sent");
    let mut tally: BTreeMap<Kind, usize> = BTreeMap::new();
    for m in &mutants {
        *tally.entry(m.kind).or_default() += 1;
    }
    eprintln!(
        "fields: {} mutants of {} valid commands refused at their place ({tally:?}) in {:?}",
        mutants.len(),
        v.commands.len(),
        started.elapsed()
    );
}

/// A number in exponent form keeps its digits and its value: serde_json
/// (with `arbitrary_precision`, which keeps every other number's text)
/// writes its exponent the one JSON way — `E` as `e`, a `+` before a
/// positive exponent — and offers no public way to keep the text as typed.
/// Written in that form, it goes out byte for byte.
#[test]
fn numbers_in_exponent_form_keep_their_digits_and_value() {
    let plan = |data: &str| {
        let (_dir, path) = manifest(&format!("commands:\n  - publish: {{channel: news, data: {data}}}\n"));
        let out = cent_run().arg("plan").arg(&path).args(["--api-key", "k", "--no-idempotency"]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let sent = plan(r#"{"avogadro": 6.02E23, "beyond_f64": 1e400, "tiny": 1E-7}"#);
    assert!(sent.contains(r#""data":{"avogadro":6.02e+23,"beyond_f64":1e+400,"tiny":1e-7}"#), "{sent}");
    let canonical = r#"{"avogadro":6.02e+23,"beyond_f64":1e+400,"tiny":1e-7}"#;
    assert!(plan(canonical).contains(&format!(r#""data":{canonical}"#)), "the canonical form is kept as it is");
}
