// The `--where` language of `regent run list`, in the browser: a port of
// src/query/ (mod.rs for the grammar and the semantics, lexer.rs, parser.rs,
// eval.rs, and names.rs for MLflow's names of fields). Both
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
    // MLflow's (and SQL's) equality, and the commas of an IN list.
    ["=", { kind: "cmp", op: "eq" }],
    [",", { kind: "comma" }],
  ];

  const SYMBOL_ERRORS = {
    "&": "unexpected `&`; use `&&` or `and`",
    "|": "unexpected `|`; use `||` or `or`",
    "`": "back quotes go around a key after `.`, e.g. tags.`mlflow.runName`",
  };

  const KEYWORDS = {
    and: { kind: "and" },
    or: { kind: "or" },
    not: { kind: "not" },
    true: { kind: "literal", value: { type: "bool", value: true } },
    false: { kind: "literal", value: { type: "bool", value: false } },
    like: { kind: "like" },
    ilike: { kind: "ilike" },
    in: { kind: "in" },
    is: { kind: "is" },
    null: { kind: "null" },
  };

  // MLflow's names of fields, resolved to regent's (src/query/names.rs).
  const ATTRIBUTES = {
    status: ["status", "upper"],
    start_time: ["start_time", "millis"],
    created: ["start_time", "millis"],
    end_time: ["end_time", "millis"],
    run_name: ["name", "as-is"],
  };
  const SYSTEM_TAGS = {
    "mlflow.runName": "name",
    "mlflow.user": "user",
    "mlflow.note.content": "note",
    "mlflow.source.git.commit": "source.commit",
    "mlflow.source.git.branch": "source.branch",
  };

  // strsim's Jaro–Winkler, for "did you mean" (src/suggest.rs).
  function jaroWinkler(a, b) {
    const x = Array.from(a);
    const y = Array.from(b);
    if (x.length === 0 && y.length === 0) return 1;
    if (x.length === 0 || y.length === 0) return 0;
    const range = Math.max(0, Math.floor(Math.max(x.length, y.length) / 2) - 1);
    const xm = new Array(x.length).fill(false);
    const ym = new Array(y.length).fill(false);
    let matches = 0;
    for (let i = 0; i < x.length; i++) {
      for (let j = Math.max(0, i - range); j < Math.min(y.length, i + range + 1); j++) {
        if (!ym[j] && x[i] === y[j]) {
          xm[i] = ym[j] = true;
          matches++;
          break;
        }
      }
    }
    if (matches === 0) return 0;
    let t = 0;
    for (let i = 0, j = 0; i < x.length; i++) {
      if (!xm[i]) continue;
      while (!ym[j]) j++;
      if (x[i] !== y[j]) t++;
      j++;
    }
    const m = matches;
    const jaro = (m / x.length + m / y.length + (m - t / 2) / m) / 3;
    let prefix = 0;
    while (prefix < 4 && prefix < x.length && prefix < y.length && x[prefix] === y[prefix]) prefix++;
    return jaro + prefix * 0.1 * (1 - jaro);
  }

  function closest(input, candidates) {
    let best = null;
    let score = 0.8;
    for (const c of candidates) {
      if (c === input) continue;
      const s = jaroWinkler(input.toLowerCase(), c.toLowerCase());
      if (s >= score && (best === null || s > score)) {
        best = c;
        score = s;
      }
    }
    return best;
  }

  // The field a path names: {path, view} (view "as-is", "upper" or "millis").
  function resolveField(path, column) {
    const dot = path.indexOf(".");
    if (dot < 0) return { path, view: "as-is" };
    const namespace = path.slice(0, dot);
    const key = path.slice(dot + 1);
    switch (namespace) {
      case "metric": return { path: "metrics." + key, view: "as-is" };
      case "param":
      case "parameter":
      case "parameters": return { path: "params." + key, view: "as-is" };
      case "tag":
      case "tags":
        return Object.prototype.hasOwnProperty.call(SYSTEM_TAGS, key)
          ? { path: SYSTEM_TAGS[key], view: "as-is" }
          : { path: "tags." + key, view: "as-is" };
      case "attributes":
      case "attribute":
      case "attr":
      case "run": {
        if (Object.prototype.hasOwnProperty.call(ATTRIBUTES, key)) {
          const [field, view] = ATTRIBUTES[key];
          return { path: field, view };
        }
        const names = Object.keys(ATTRIBUTES);
        const near = closest(key, names);
        throw new QueryError(
          column,
          "`" + namespace + "." + key + "` is not a run attribute regent has (" + names.join(", ") + ")" +
            (near ? "; did you mean `" + namespace + "." + near + "`?" : ""),
        );
      }
      default: return { path, view: "as-is" };
    }
  }

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
      const unterminated = quote === "`"
        ? "unterminated key: missing closing back quote"
        : "unterminated string: missing closing `" + quote + "`";
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
        if (peek(0) === "." && (peek(1) === "`" || peek(1) === '"' || peek(1) === "'")) {
          // MLflow quotes a key: tags.`mlflow.runName`, params."model class".
          pos++;
          key = string();
        } else if (peek(0) === ".") {
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

    // A field (resolved: MLflow's names to regent's) or a literal, or null.
    function operand() {
      const token = peek();
      if (token && token.kind === "null") {
        throw new QueryError(token.column, "`NULL` is not a value: test a field with `IS NULL` or `IS NOT NULL`");
      }
      if (!token || (token.kind !== "field" && token.kind !== "literal")) return null;
      const resolved = token.kind === "field" ? resolveField(token.value, token.column) : null;
      pos++;
      return resolved ? Object.assign({}, token, { field: resolved }) : token;
    }

    const SQL = ["like", "ilike", "in", "is"];

    // `field [NOT] LIKE|ILIKE 'pattern'`, `field [NOT] IN (…)`, `field IS [NOT] NULL`.
    function parseSql(field, negated) {
      const keyword = tokens[pos++];
      if (keyword.kind === "like" || keyword.kind === "ilike") {
        const pattern = peek();
        if (!pattern || pattern.kind !== "literal" || pattern.value.type !== "text") {
          throw new QueryError(column(), "expected a quoted pattern after `" + keyword.text + "`, e.g. '%adam%'");
        }
        pos++;
        return { node: "like", field, pattern: pattern.value.value, caseInsensitive: keyword.kind === "ilike", negated };
      }
      if (keyword.kind === "in") {
        if (!eat("lparen")) {
          throw new QueryError(column(), "expected `(` after `" + keyword.text + "`, e.g. IN ('a', 'b')");
        }
        const values = [];
        for (;;) {
          const value = peek();
          if (!value || value.kind !== "literal") throw new QueryError(column(), "expected a value in the `IN` list");
          pos++;
          values.push(value.value);
          if (eat("rparen")) return { node: "in", field, values, negated };
          if (!eat("comma")) throw new QueryError(column(), "expected `,` or `)` in the `IN` list");
        }
      }
      const not = eat("not");
      if (!eat("null")) throw new QueryError(column(), "expected `NULL` or `NOT NULL` after `IS`");
      const exists = { node: "exists", field };
      return not ? exists : { node: "not", inner: exists };
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
      // `field NOT IN (…)`, `field NOT LIKE '…'`: SQL's infix negation.
      const next = tokens[pos + 1];
      const negated = peek() !== undefined && peek().kind === "not" && next !== undefined &&
        ["in", "like", "ilike"].includes(next.kind);
      if (negated) pos++;
      if (peek() && SQL.includes(peek().kind)) {
        if (lhs.kind !== "field") {
          throw new QueryError(
            lhs.column,
            "expected a field before `" + peek().text + "`, found `" + lhs.text + "`",
          );
        }
        return parseSql(lhs.field, negated);
      }
      if (!peek() || peek().kind !== "cmp") {
        if (lhs.kind === "field") return { node: "exists", field: lhs.field };
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

  // A field's value as its view shows it (MLflow's attributes: status in
  // upper case, times in milliseconds since 1970).
  function get(field, lookup) {
    const value = lookup(field.path);
    if (value == null || value.type !== "text") return value;
    if (field.view === "upper") return { type: "text", value: value.value.toUpperCase() };
    if (field.view === "millis") {
      const ms = Date.parse(value.value);
      return Number.isNaN(ms) ? null : { type: "number", value: ms };
    }
    return value;
  }

  function resolve(token, lookup) {
    return token.kind === "field" ? get(token.field, lookup) : token.value;
  }

  // SQL's LIKE: `%` any run of characters, `_` one (src/query/eval.rs `like`).
  function like(text, pattern, caseInsensitive) {
    const t = Array.from(caseInsensitive ? text.toLowerCase() : text);
    const p = Array.from(caseInsensitive ? pattern.toLowerCase() : pattern);
    let i = 0;
    let j = 0;
    let star = null;
    while (i < t.length) {
      if (p[j] === "%") {
        star = [j, i];
        j++;
      } else if (j < p.length && (p[j] === "_" || p[j] === t[i])) {
        i++;
        j++;
      } else if (star !== null) {
        star = [star[0], star[1] + 1];
        j = star[0] + 1;
        i = star[1];
      } else {
        return false;
      }
    }
    return p.slice(j).every((c) => c === "%");
  }

  function evaluate(expr, lookup) {
    switch (expr.node) {
      case "or": return expr.items.some((e) => evaluate(e, lookup));
      case "and": return expr.items.every((e) => evaluate(e, lookup));
      case "not": return !evaluate(expr.inner, lookup);
      case "exists": return get(expr.field, lookup) != null;
      // A missing field matches neither form, as in SQL.
      case "like": {
        const value = get(expr.field, lookup);
        return value != null && value.type === "text" &&
          like(value.value, expr.pattern, expr.caseInsensitive) !== expr.negated;
      }
      case "in": {
        const value = get(expr.field, lookup);
        return value != null && expr.values.some((v) => compare(value, "eq", v)) !== expr.negated;
      }
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
      case "exists":
      case "like":
      case "in": if (!out.includes(expr.field.path)) out.push(expr.field.path); break;
      case "compare":
        for (const t of [expr.lhs, expr.rhs]) {
          if (t.kind === "field" && !out.includes(t.field.path)) out.push(t.field.path);
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
