/**
 * Stratum used as a package: a temporary project holds node_modules/stratum laid out as npm
 * installs it (package.json, index.js, bin/, the declarations `npm run build` emits, and the
 * checkout's src/, models/ and node_modules/), imports 'stratum' by name, decomposes an image,
 * renders, edits and exports it; its TypeScript is checked against the package's declarations.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadDocument } from '../src/export/documentFile.js';
import { renderDocument } from '../src/core/document.js';
import { psnrOf } from '../src/core/psnr.js';
import { readImageSquare } from '../src/data/images.js';
import { onBackend, tmp } from './support/helpers.js';

const ROOT = join(import.meta.dirname, '..');
const TSC = join(ROOT, 'node_modules', '.bin', 'tsc');

function installedProject(): string {
  const dir = tmp('stratum-consumer-');
  const pkg = join(dir, 'node_modules', 'stratum');
  mkdirSync(pkg, { recursive: true });
  for (const f of ['package.json', 'index.js', 'bin']) cpSync(join(ROOT, f), join(pkg, f), { recursive: true });
  for (const f of ['src', 'models', 'node_modules', 'native']) symlinkSync(join(ROOT, f), join(pkg, f));
  const emit = spawnSync(TSC, ['-p', join(ROOT, 'tsconfig.json'), '--emitDeclarationOnly', '--outDir', join(pkg, 'dist')], { encoding: 'utf8' });
  assert.equal(emit.status, 0, `declarations: ${emit.stdout}${emit.stderr}`);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', type: 'module', private: true }));
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true }, files: ['good.ts', 'bad.ts'] }));
  return dir;
}

test('the package by its name: load, decompose a file and its bytes, render, edit, export; typed', { timeout: 300_000 }, async () => {
  await onBackend('fast');
  const dir = installedProject();
  const image = join(ROOT, 'samples', 'ankle-boot.png');
  writeFileSync(
    join(dir, 'use.mjs'),
    `import * as stratum from 'stratum';
import { readFileSync } from 'node:fs';
const model = await stratum.load(process.argv[3]);
const doc = await stratum.decompose(model, process.argv[2]);
const again = await stratum.decompose(model, readFileSync(process.argv[2]));
stratum.saveDocument('doc.stratum.json', doc);
const big = stratum.render(doc, 96);
const red = stratum.edit.recolour(doc, 0, [1, 0, 0]);
await stratum.export(red, 'red.svg', { size: 64 });
// a start the refinement can improve: every layer's colour replaced by its complement
const off = doc.layers.reduce((d, l, i) => stratum.edit.recolour(d, i, l.colour.map((c) => 1 - c)), doc);
const refined = await stratum.refine(off, process.argv[2], { steps: 10 });
console.log(JSON.stringify({ keys: Object.keys(stratum).sort(), T: model.cfg.T, layers: doc.layers.length, sameFromBytes: JSON.stringify(again.layers) === JSON.stringify(doc.layers), width: big.width, pixels: big.rgb.length, red: red.layers[0].colour, before: refined.psnrBefore, after: refined.psnrAfter }));
`,
  );
  const r = spawnSync(process.execPath, ['use.mjs', image, join(ROOT, 'models', 'fashion-mnist.stratum')], { cwd: dir, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  const source = await import('../src/index.js');
  assert.deepEqual(out.keys, Object.keys(source).sort(), 'index.js exports exactly what src/index.ts does');
  assert.equal(out.layers, out.T);
  assert.ok(out.sameFromBytes, 'a file and its bytes decompose alike');
  assert.deepEqual([out.width, out.pixels], [96, 96 * 96 * 3]);
  assert.deepEqual(out.red, [1, 0, 0]);
  // refinement keeps the better of start and end, so only a clear gain shows that it ran
  assert.ok(out.after > out.before + 1, `refinement of the recoloured document ${out.before} -> ${out.after} dB`);
  assert.match(readFileSync(join(dir, 'red.svg'), 'utf8'), /<svg[^>]*>[\s\S]*<path/);
  // the document reproduces the image: the bundled model reaches ~19 dB on held-out Fashion-MNIST
  const doc = loadDocument(join(dir, 'doc.stratum.json'));
  const S = doc.referenceSize;
  const p = psnrOf(await readImageSquare(image, S), renderDocument(doc, S).rgb, 1, 1 / 255);
  assert.ok(p > 18, `PSNR ${p} dB`);

  // TypeScript: the package's declarations type a correct use and reject a wrong one
  writeFileSync(join(dir, 'good.ts'), `import * as stratum from 'stratum';\nimport type { LayeredDocument } from 'stratum';\nconst model = await stratum.load();\nconst doc: LayeredDocument = await stratum.decompose(model, 'x.png', { T: 3 });\nconst n: number = stratum.render(doc, 64).rgb.length + model.cfg.T;\nawait stratum.export(stratum.edit.setVisible(doc, 0, false), 'x.psd');\nexport { n };\n`);
  writeFileSync(join(dir, 'bad.ts'), `import * as stratum from 'stratum';\nconst model = await stratum.load();\nstratum.render(await stratum.decompose(model, 'x.png'), 'big');\nexport {};\n`);
  const tc = spawnSync(TSC, ['-p', 'tsconfig.json', '--noEmit'], { cwd: dir, encoding: 'utf8' });
  const errors = tc.stdout.split('\n').filter((l) => /error TS/.test(l));
  assert.equal(errors.length, 1, tc.stdout);
  assert.match(errors[0]!, /^bad\.ts\(3,.*'string' is not assignable to parameter of type 'number'/);
  assert.ok(existsSync(join(dir, 'node_modules', 'stratum', 'dist', 'src', 'index.d.ts')));
});
