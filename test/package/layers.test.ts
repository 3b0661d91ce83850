// The import graph of src/ against the layer order the README draws: each folder imports only the folders below it,
// the backend contract imports none of its implementations, sibling backends do not borrow from each other, and no
// files import each other in a circle (type-only imports and dynamic import() included), except inside the tensor
// engine, whose Tensor methods are ops and whose ops' gradients are ops.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

/**
 * What each part of src/ may import, lowest first. A part is a folder of src/ (`tensor-core` is the three leaf files
 * of src/tensor that the backends use); the entry (index.ts) may import every part but the CLI.
 */
const LAYERS: Record<string, string[]> = {
  platform: [],
  'tensor-core': [],
  backend: ['platform', 'tensor-core'],
  tensor: ['tensor-core', 'backend', 'platform'],
  io: ['platform'],
  text: ['platform'],
  nn: ['tensor', 'tensor-core'],
  optim: ['tensor', 'tensor-core'],
  models: ['nn', 'tensor', 'tensor-core', 'io', 'text', 'platform'],
  data: ['models', 'text', 'io', 'tensor', 'tensor-core', 'platform'],
  tasks: ['data', 'models', 'nn', 'optim', 'io', 'text', 'tensor', 'tensor-core', 'platform'],
  cli: ['tasks', 'data', 'models', 'nn', 'optim', 'io', 'text', 'tensor', 'tensor-core', 'backend', 'platform'],
  entry: ['tasks', 'data', 'models', 'nn', 'optim', 'io', 'text', 'tensor', 'tensor-core', 'backend', 'platform'],
};
const TENSOR_CORE = new Set(['tensor/dtype.ts', 'tensor/shape.ts', 'tensor/random.ts']);

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : name.endsWith('.ts') ? [path] : [];
  });
}

/** The part of src/ a file belongs to. */
function partOf(file: string): string {
  const rel = relative(SRC, file).replaceAll('\\', '/');
  if (TENSOR_CORE.has(rel)) return 'tensor-core';
  return rel.includes('/') ? rel.split('/')[0]! : 'entry';
}

/** Every relative module a file imports: static imports and re-exports (type-only too), import() calls, import('x') types. */
function importsOf(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const specs: string[] = [];
  const visit = (node: ts.Node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      specs.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteral(node.arguments[0])) {
      specs.push(node.arguments[0].text);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      specs.push(node.argument.literal.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return specs.filter((s) => s.startsWith('.')).map((s) => resolve(dirname(file), s.replace(/\.js$/, '.ts')));
}

const files = sources(SRC);
const graph = new Map(files.map((f) => [f, importsOf(f)]));
const name = (f: string) => relative(SRC, f).replaceAll('\\', '/');

test('every relative import names a file that exists', () => {
  const known = new Set(files);
  const missing = [...graph].flatMap(([f, deps]) => deps.filter((d) => !known.has(d)).map((d) => `${name(f)} -> ${name(d)}`));
  assert.deepEqual(missing, []);
});

test('each part of src/ imports only the parts below it', () => {
  const wrong: string[] = [];
  for (const [file, deps] of graph) {
    const from = partOf(file);
    for (const dep of deps) {
      const to = partOf(dep);
      if (to !== from && !LAYERS[from]!.includes(to)) wrong.push(`${name(file)} (${from}) -> ${name(dep)} (${to})`);
    }
  }
  assert.deepEqual(wrong, [], 'imports against the layer order');
});

test('the backend contract imports no implementation, and sibling backends do not borrow from each other', () => {
  const wrong: string[] = [];
  for (const [file, deps] of graph) {
    const rel = name(file);
    for (const dep of deps.map(name)) {
      if (rel === 'backend/backend.ts' && dep.startsWith('backend/')) wrong.push(`${rel} -> ${dep}`);
      if (rel.startsWith('backend/cpu/') && dep.startsWith('backend/webgpu/')) wrong.push(`${rel} -> ${dep}`);
      if (rel.startsWith('backend/webgpu/') && dep.startsWith('backend/cpu/')) wrong.push(`${rel} -> ${dep}`);
    }
  }
  assert.deepEqual(wrong, []);
});

test('no files import each other in a circle, except inside the tensor engine', () => {
  // Tarjan's strongly connected components over the file graph.
  let index = 0;
  const stack: string[] = [], onStack = new Set<string>(), idx = new Map<string, number>(), low = new Map<string, number>();
  const circles: string[][] = [];
  const connect = (v: string) => {
    idx.set(v, index); low.set(v, index); index++;
    stack.push(v); onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) { connect(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)); }
      else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const component: string[] = [];
      let w: string;
      do { w = stack.pop()!; onStack.delete(w); component.push(name(w)); } while (w !== v);
      if (component.length > 1 || graph.get(v)!.includes(v)) circles.push(component.sort());
    }
  };
  for (const f of files) if (!idx.has(f)) connect(f);
  const outside = circles.filter((c) => !c.every((f) => f.startsWith('tensor/')));
  assert.deepEqual(outside, [], 'import circles');
});
