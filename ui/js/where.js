// The `--where` language of `regent run list`, in the browser: a port of
// src/query/mod.rs (read that file for the grammar and the semantics). Both
// are run against tests/data/where-cases.json, so the table's filter and the
// CLI agree on every case there.
//
// Columns are counted in Unicode code points, as Rust counts chars. Tokens
// are objects {kind, value, column, text}; the parser dispatches on `kind`
// through small tables, so a new operator is a new entry in SYMBOLS (or
// KEYWORDS) and a case in `compare`.
"use strict";

(function (global) {
  const MAX_DEPTH = 64;

  class QueryError extends Error {
    constructor(column, message) {
      super(message + " at column " + column);
      this.column = column;
      this.detail = message;
    }
  }

  // Two-character operators first, then one-character ones.
  const SYMBOLS = [
    ["==", { kind: "cmp", op: "eq" }],
    ["=~", { kind: "cmp", op: "contains" }],
    ["!=", { kind: "cmp", op: "ne" }],
    ["<=", { kind: "cmp", op: "le" }],
    [">=", { kind: "cmp", op: "ge" }],
    ["&&", { kind: "and" }],
    ["||", { kind: "or" }],
    ["<", { kind: "cmp", op: "lt" }],
    [">", { kind: "cmp", op: "gt" }],
    ["!", { kind: "not" }],
    ["(", { kind: "lparen" }],
    [")", { kind: "rparen" }],
  ];

  const SYMBOL_ERRORS = {
    "=": "unexpected `=`; use `==` to test equality",
    "&": "unexpected `&`; use `&&` or `and`",
    "|": "unexpected `|`; use `||` or `or`",
  };

  const KEYWORDS = {
    and: { kind: "and" },
    or: { kind: "or" },
    not: { kind: "not" },
    true: { kind: "literal", value: { type: "bool", value: true } },
    false: { kind: "literal", value: { type: "bool", value: false } },
  };

  const isDigit = (c) => c !== undefined && c >= "0" && c <= "9";
  const isAlpha = (c) => c !== undefined && /^[A-Za-z]$/.test(c);
  const isWordChar = (c) => c !== undefined && /^[A-Za-z0-9_]$/.test(c);
  const isKeyChar = (c) => isWordChar(c) || c === "." || c === "/" || c === "-";
  // Rust's char::is_whitespace (Unicode White_Space), which JS's \s nearly is.
  const isSpace = (c) => c !== undefined && c !== "\uFEFF" && /^\s$/u.test(c);
  const isControl = (c) => /^[\u0000-\u001F\u007F-\u009F]$/.test(c);

  // Rust's `str::parse::<f64>`: decimal, optional exponent, `inf`/`nan`.
  const RUST_FLOAT = /^[+-]?(?:inf|infinity|nan|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)$/i;
  function parseRustFloat(text) {
    if (!RUST_FLOAT.test(text)) return null;
    const lower = text.toLowerCase().replace(/^[+-]/, "");
    if (lower === "nan") return NaN;
    if (lower === "inf" || lower === "infinity") return text.startsWith("-") ? -Infinity : Infinity;
    return Number(text);
  }

  function trimRust(text) {
    const chars = Array.from(text);
    let start = 0;
    let end = chars.length;
    while (start < end && isSpace(chars[start])) start++;
    while (end > start && isSpace(chars[end - 1])) end--;
    return chars.slice(start, end).join("");
  }

  function tokenize(source) {
    const chars = Array.from(source);
    let pos = 0;
    const peek = (offset) => chars[pos + offset];
    const eatWhile = (pred) => {
      const start = pos;
      while (pos < chars.length && pred(chars[pos])) pos++;
      return chars.slice(start, pos).join("");
    };

    function string() {
      const quote = chars[pos];
      const open = pos + 1;
      const unterminated = "unterminated string: missing closing `" + quote + "`";
      pos++;
      let out = "";
      for (;;) {
        const c = peek(0);
        if (c === undefined) throw new QueryError(open, unterminated);
        if (c === quote) break;
        if (c === "\\") {
          const next = peek(1);
          if (next === undefined) throw new QueryError(open, unterminated);
          const escapes = { '"': '"', "'": "'", "\\": "\\", n: "\n", t: "\t" };
          if (!(next in escapes)) {
            const hint = "use \\\", \\', \\\\, \\n or \\t";
            throw new QueryError(pos + 1, "unknown escape `\\" + next + "` (" + hint + ")");
          }
          out += escapes[next];
          pos += 2;
        } else {
          out += c;
          pos += 1;
        }
      }
      pos++;
      return out;
    }

    function number() {
      const start = pos;
      if (peek(0) === "-") pos++;
      eatWhile(isDigit);
      if (peek(0) === "." && isDigit(peek(1))) {
        pos++;
        eatWhile(isDigit);
      }
      if (peek(0) === "e" || peek(0) === "E") {
        const sign = peek(1) === "+" || peek(1) === "-" ? 1 : 0;
        if (isDigit(peek(1 + sign))) {
          pos += 1 + sign;
          eatWhile(isDigit);
        }
      }
      // `1.2.3`, `1e` or `12abc` is one bad number.
      eatWhile((c) => isWordChar(c) || c === ".");
      const text = chars.slice(start, pos).join("");
      const value = parseRustFloat(text);
      if (value === null) throw new QueryError(start + 1, "invalid number `" + text + "`");
      if (!Number.isFinite(value)) throw new QueryError(start + 1, "number `" + text + "` is out of range");
      return { kind: "literal", value: { type: "number", value } };
    }

    function word() {
      let path = eatWhile(isWordChar);
      const keyword = KEYWORDS[path.toLowerCase()];
      if (keyword && Object.prototype.hasOwnProperty.call(KEYWORDS, path.toLowerCase())) {
        return keyword;
      }
      for (;;) {
        let key;
        if (peek(0) === ".") {
          pos++;
          key = eatWhile(isKeyChar);
          if (key === "") throw new QueryError(pos + 1, "expected a field key after `.`");
        } else if (peek(0) === "[") {
          const open = pos + 1;
          pos++;
          if (peek(0) !== '"' && peek(0) !== "'") {
            throw new QueryError(pos + 1, 'expected a quoted key after `[`, e.g. `metrics["val loss"]`');
          }
          key = string();
          if (peek(0) !== "]") throw new QueryError(pos + 1, "expected `]` to close `[` at column " + open);
          pos++;
        } else {
          return { kind: "field", value: path };
        }
        path += "." + key;
      }
    }

    function symbol(c) {
      const column = pos + 1;
      for (const [text, kind] of SYMBOLS) {
        if (chars.slice(pos, pos + text.length).join("") === text) {
          pos += text.length;
          return kind;
        }
      }
      if (c in SYMBOL_ERRORS) throw new QueryError(column, SYMBOL_ERRORS[c]);
      if (c === "." && isDigit(peek(1))) {
        throw new QueryError(column, "numbers must start with a digit, e.g. `0.5`");
      }
      if (isControl(c)) {
        const hex = c.codePointAt(0).toString(16);
        throw new QueryError(column, "unexpected character `\\u{" + hex + "}`");
      }
      throw new QueryError(column, "unexpected character `" + c + "`");
    }

    const tokens = [];
    for (;;) {
      eatWhile(isSpace);
      const start = pos;
      const c = peek(0);
      if (c === undefined) break;
      let kind;
      if (c === '"' || c === "'") kind = { kind: "literal", value: { type: "text", value: string() } };
      else if (c === "-" && isDigit(peek(1))) kind = number();
      else if (isDigit(c)) kind = number();
      else if (isAlpha(c) || c === "_") kind = word();
      else kind = symbol(c);
      tokens.push(Object.assign({}, kind, { column: start + 1, text: chars.slice(start, pos).join("") }));
    }
    return tokens;
  }

  // or := and (or and)* ; and := unary (and unary)* ; unary := not unary | primary
  // primary := "(" or ")" | operand [cmp operand]
  function parse(source) {
    const tokens = tokenize(source);
    if (tokens.length === 0) throw new QueryError(1, "empty expression");
    const chars = Array.from(source);
    while (chars.length && isSpace(chars[chars.length - 1])) chars.pop();
    const endColumn = chars.length + 1;
    let pos = 0;
    let depth = 0;
    const peek = () => tokens[pos];
    const column = () => (tokens[pos] ? tokens[pos].column : endColumn);
    const eat = (kind) => {
      if (tokens[pos] && tokens[pos].kind === kind) {
        pos++;
        return true;
      }
      return false;
    };

    function nest(inner) {
      if (depth >= MAX_DEPTH) {
        throw new QueryError(column(), "expression is nested too deeply (more than " + MAX_DEPTH + " levels)");
      }
      depth++;
      try {
        return inner();
      } finally {
        depth--;
      }
    }

    function chain(separator, item, node) {
      const items = [item()];
      while (eat(separator)) items.push(item());
      return items.length === 1 ? items[0] : { node, items };
    }

    const parseOr = () => chain("or", parseAnd, "or");
    const parseAnd = () => chain("and", parseUnary, "and");

    function parseUnary() {
      if (!peek() || peek().kind !== "not") return parsePrimary();
      return nest(() => {
        pos++;
        return { node: "not", inner: parseUnary() };
      });
    }

    function operand() {
      const token = peek();
      if (!token || (token.kind !== "field" && token.kind !== "literal")) return null;
      pos++;
      return token;
    }

    function parsePrimary() {
      if (peek() && peek().kind === "lparen") {
        const open = column();
        return nest(() => {
          pos++;
          const inner = parseOr();
          if (!eat("rparen")) throw new QueryError(column(), "expected `)` to close `(` at column " + open);
          return inner;
        });
      }
      const lhs = operand();
      if (!lhs) {
        let message = "expected a condition";
        if (pos > 0) message += " after `" + tokens[pos - 1].text + "`";
        if (peek()) message += ", found `" + peek().text + "`";
        throw new QueryError(column(), message);
      }
      if (!peek() || peek().kind !== "cmp") {
        if (lhs.kind === "field") return { node: "exists", path: lhs.value };
        throw new QueryError(lhs.column, "expected a comparison: `" + lhs.text + "` alone is not a condition");
      }
      const opToken = tokens[pos++];
      const rhs = operand();
      if (!rhs) throw new QueryError(column(), "expected a value after `" + opToken.text + "`");
      if (peek() && peek().kind === "cmp") {
        throw new QueryError(
          peek().column,
          "unexpected `" + peek().text + "`: comparisons cannot be chained, join them with `and`",
        );
      }
      return { node: "compare", op: opToken.op, lhs, rhs };
    }

    const expr = parseOr();
    const rest = peek();
    if (rest && rest.kind === "rparen") throw new QueryError(rest.column, "unmatched `)`");
    if (rest) throw new QueryError(rest.column, "unexpected `" + rest.text + "` after a complete expression");
    return new Query(expr);
  }

  // ---- evaluation -------------------------------------------------------------------------

  function parseNumber(text) {
    const value = parseRustFloat(trimRust(text));
    return value !== null && Number.isFinite(value) ? value : null;
  }

  function parseBool(text) {
    const t = trimRust(text).toLowerCase();
    return t === "true" ? true : t === "false" ? false : null;
  }

  // Rust compares strings byte by byte (UTF-8), which is code point order;
  // JS's < compares UTF-16 units, which differs above U+FFFF.
  function compareText(a, b) {
    const x = Array.from(a);
    const y = Array.from(b);
    for (let i = 0; i < Math.min(x.length, y.length); i++) {
      const d = x[i].codePointAt(0) - y[i].codePointAt(0);
      if (d !== 0) return d < 0 ? -1 : 1;
    }
    return x.length === y.length ? 0 : x.length < y.length ? -1 : 1;
  }

  const cmpNumbers = (x, y) => (x < y ? -1 : x > y ? 1 : x === y ? 0 : null);

  function equality(op, equal) {
    return (op === "eq" && equal) || (op === "ne" && !equal);
  }

  // Two present values {type, value}; see src/query/mod.rs `compare`.
  function compare(a, op, b) {
    if (op === "contains") return a.type === "text" && b.type === "text" && a.value.includes(b.value);
    let ordering = null;
    if (a.type === "number" && b.type === "number") ordering = cmpNumbers(a.value, b.value);
    else if (a.type === "number" && b.type === "text") {
      const y = parseNumber(b.value);
      ordering = y === null ? null : cmpNumbers(a.value, y);
    } else if (a.type === "text" && b.type === "number") {
      const x = parseNumber(a.value);
      ordering = x === null ? null : cmpNumbers(x, b.value);
    } else if (a.type === "text" && b.type === "text") ordering = compareText(a.value, b.value);
    else if (a.type === "bool" && b.type === "bool") return equality(op, a.value === b.value);
    else if (a.type === "bool" || b.type === "bool") {
      const [flag, other] = a.type === "bool" ? [a, b] : [b, a];
      if (other.type !== "text") return op === "ne";
      const parsed = parseBool(other.value);
      return parsed === null ? op === "ne" : equality(op, flag.value === parsed);
    }
    if (ordering === null) return op === "ne";
    switch (op) {
      case "eq": return ordering === 0;
      case "ne": return ordering !== 0;
      case "lt": return ordering < 0;
      case "le": return ordering <= 0;
      case "gt": return ordering > 0;
      case "ge": return ordering >= 0;
      default: return false;
    }
  }

  function resolve(token, lookup) {
    return token.kind === "field" ? lookup(token.value) : token.value;
  }

  function evaluate(expr, lookup) {
    switch (expr.node) {
      case "or": return expr.items.some((e) => evaluate(e, lookup));
      case "and": return expr.items.every((e) => evaluate(e, lookup));
      case "not": return !evaluate(expr.inner, lookup);
      case "exists": return lookup(expr.path) != null;
      case "compare": {
        const a = resolve(expr.lhs, lookup);
        const b = resolve(expr.rhs, lookup);
        return a != null && b != null && compare(a, expr.op, b);
      }
      default: return false;
    }
  }

  function collectFields(expr, out) {
    switch (expr.node) {
      case "or":
      case "and": expr.items.forEach((e) => collectFields(e, out)); break;
      case "not": collectFields(expr.inner, out); break;
      case "exists": if (!out.includes(expr.path)) out.push(expr.path); break;
      case "compare":
        for (const t of [expr.lhs, expr.rhs]) {
          if (t.kind === "field" && !out.includes(t.value)) out.push(t.value);
        }
        break;
    }
    return out;
  }

  class Query {
    constructor(expr) {
      this.expr = expr;
    }
    // `lookup(path)` returns {type: "number"|"text"|"bool", value} or null.
    matches(lookup) {
      return evaluate(this.expr, lookup);
    }
    fields() {
      return collectFields(this.expr, []);
    }
  }

  // A JSON value as a field value (how the conformance cases write records).
  function fieldValue(json) {
    if (json === null || json === undefined) return null;
    if (typeof json === "number") return { type: "number", value: json };
    if (typeof json === "boolean") return { type: "bool", value: json };
    return { type: "text", value: String(json) };
  }

  global.RegentWhere = { parse, QueryError, fieldValue };
})(typeof window !== "undefined" ? window : globalThis);
