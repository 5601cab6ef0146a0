/**
 * The package as users get it (`npm run test:interop`; part of `npm test`): `npm pack` in the
 * checkout (prepack builds the editor, prepare compiles to dist/), the tarball installed with npm
 * into an empty folder (its install script builds the native kernels), then there: `npx stratum
 * decompose`, an ESM script that imports 'stratum' by name, `stratum serve`, and the install
 * script's fallback when the kernels cannot be built. Skipped, with the reason, when npm cannot
 * fetch the dependencies (no network and not in npm's cache).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import sharp from 'sharp';
import { readImageExact } from '../src/data/images.js';
import { loadDocument } from '../src/export/documentFile.js';
import { psnr, tmp } from './support/helpers.js';

const ROOT = join(import.meta.dirname, '..');
/** what npm says when it cannot reach the registry and the cache lacks a package */
const OFFLINE = /\b(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|ENOTCACHED)\b/;

function sh(cmd: string, args: string[], cwd: string, timeoutMs: number, env: NodeJS.ProcessEnv = process.env): SpawnSyncReturns<string> & { all: string } {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 });
  return { ...r, all: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

const tail = (s: string, n = 12) => s.trim().split('\n').slice(-n).join('\n');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .on('error', reject)
      .end();
  });
}

/** `stratum serve` from the installed package: the editor's page and its script */
async function serves(app: string): Promise<{ page: { status: number; body: string }; script: { status: number; body: string } | null }> {
  const port = await freePort();
  const child = spawn(process.execPath, [join(app, 'node_modules', 'stratum', 'bin', 'stratum.js'), 'serve', '--port', String(port)], { cwd: app, stdio: ['ignore', 'pipe', 'pipe'] });
  let said = '';
  child.stdout.on('data', (c) => (said += c));
  child.stderr.on('data', (c) => (said += c));
  try {
    const t0 = Date.now();
    while (!said.includes('Stratum editor on') && child.exitCode === null && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 100));
    assert.match(said, /Stratum editor on/, `stratum serve: ${said}`);
    const page = await get(port, '/');
    const src = /<script[^>]*src="\.(\/assets\/index-[^"]+\.js)"/.exec(page.body)?.[1];
    return { page, script: src ? await get(port, src) : null };
  } finally {
    child.kill();
  }
}

const USE = `import * as stratum from 'stratum';
import { writeFileSync } from 'node:fs';
const backend = await stratum.useBackend('auto');
const model = await stratum.load();
const doc = await stratum.decompose(model, process.argv[2], { layers: 14, budgetMs: 500 });
const L = 96, { width: fw, height: fh } = doc.frame;
const w = Math.round((L * fw) / Math.max(fw, fh)), h = Math.round((L * fh) / Math.max(fw, fh));
const r = stratum.render(doc, w, h);
writeFileSync('render.f32', new Uint8Array(r.rgb.buffer, r.rgb.byteOffset, r.rgb.byteLength));
await stratum.export(doc, 'doc.psd', { size: 64 });
stratum.saveDocument('doc.stratum.json', doc);
console.log(JSON.stringify({ keys: Object.keys(stratum).sort(), backend, layers: doc.layers.length, placed: doc.layers.filter((l) => l.place).length, width: r.width, height: r.height }));
`;

test('npm pack, installed into an empty folder: npx stratum decompose, import by name, serve; the install falls back when the kernels cannot build', { timeout: 900_000 }, async (t) => {
  const work = tmp('stratum-pack-');
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const t0 = Date.now();
  const took = () => `${((Date.now() - t0) / 1000).toFixed(0)} s`;

  // the tarball: built for it (dist/, web-dist/), nothing of the checkout's own build or tests
  const pack = sh('npm', ['pack', '--json', '--pack-destination', work], ROOT, 300_000);
  assert.equal(pack.status, 0, `npm pack: ${tail(pack.all)}`);
  const info = JSON.parse(pack.stdout) as { filename: string; size: number; files: { path: string }[] }[];
  const files = new Set(info[0]!.files.map((f) => f.path));
  for (const f of ['package.json', 'index.js', 'bin/stratum.js', 'bin/source.js', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/cli/main.js', 'native/binding.gyp', 'native/stratum_native.cc', 'native/kernels.h', 'native/args.h', 'native/decompose_spec.h', 'scripts/build-native.mjs', 'scripts/blas-link.mjs', 'models/default.stratum', 'samples/sunset.jpg', 'data/photos.manifest.json', 'web-dist/index.html'])
    assert.ok(files.has(f), `the tarball lacks ${f}`);
  const stray = [...files].filter((f) => /^(node_modules|native\/build|dist\/(test|bench)|test|bench|web\/|runs)\b/.test(f));
  assert.deepEqual(stray, [], 'the tarball holds none of the checkout\'s builds, tests or benches');
  const tarball = join(work, info[0]!.filename);
  t.diagnostic(`npm pack: ${info[0]!.filename}, ${(info[0]!.size / 1e6).toFixed(1)} MB, ${files.size} files (${took()})`);

  // installed as a user installs it
  const app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'stratum-user', private: true, type: 'module' }));
  // from npm's cache alone when it holds every dependency; else from the registry, if npm can reach it
  const args = ['install', '--no-audit', '--no-fund', '--foreground-scripts', tarball];
  let install = sh('npm', [...args, '--offline'], app, 600_000);
  if (install.status !== 0 && /\bENOTCACHED\b/.test(install.all)) {
    const ping = sh('npm', ['ping', '--fetch-retries=0', '--fetch-timeout=20000'], app, 60_000);
    if (ping.status !== 0) {
      t.skip(`npm install needs the registry (npm's cache lacks dependencies) and npm ping failed: ${(OFFLINE.exec(ping.all)?.[1] ?? tail(ping.all, 1)).trim()}`);
      return;
    }
    install = sh('npm', [...args, '--prefer-offline'], app, 600_000);
  }
  if (install.status !== 0 && OFFLINE.test(install.all)) {
    t.skip(`npm install could not fetch the dependencies (${OFFLINE.exec(install.all)![1]})`);
    return;
  }
  assert.equal(install.status, 0, `npm install ${info[0]!.filename}: ${install.error?.message ?? ''} ${tail(install.all)}`);
  const pkg = join(app, 'node_modules', 'stratum');
  const built = /stratum: native kernels built/.test(install.all);
  assert.ok(built || /stratum: could not build the native kernels/.test(install.all), `the install script ran: ${tail(install.all)}`);
  if (existsSync(join(ROOT, 'native', 'build', 'Release', 'stratum_native.node'))) assert.ok(built, `the checkout's kernels build here, the package's must too: ${tail(install.all)}`);
  t.diagnostic(`npm install: native kernels ${built ? 'built' : 'not built (tfjs cpu fallback)'} (${took()})`);
  const env = { ...process.env, STRATUM_CACHE: join(work, 'cache') };

  // the command line
  const image = join(pkg, 'samples', 'sunset.jpg');
  const cli = sh('npx', ['--no-install', 'stratum', 'decompose', image, '-o', 'out', '--size', '128'], app, 600_000, env);
  assert.equal(cli.status, 0, `npx stratum decompose: ${tail(cli.all)}`);
  assert.match(cli.stdout, /^10 layers; PSNR \d+\.\d+ dB at 128×85/);
  const png = await sharp(join(app, 'out', 'sunset.png')).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([png.info.width, png.info.height, png.info.channels], [128, 85, 3]);
  const db = psnr(await readImageExact(image, 128, 85), png.data, 1, 1 / 255, 1 / 255);
  assert.ok(db > 19, `npx stratum decompose's render is ${db.toFixed(2)} dB from the photo`);
  assert.equal(loadDocument(join(app, 'out', 'sunset.stratum.json')).layers.length, 10);
  t.diagnostic(`npx stratum decompose: ${db.toFixed(2)} dB at 128×85 (${took()})`);

  // the library, imported by name from an ES module
  writeFileSync(join(app, 'use.mjs'), USE);
  const use = sh(process.execPath, ['use.mjs', image], app, 600_000, env);
  assert.equal(use.status, 0, `import * as stratum from 'stratum': ${tail(use.all)}`);
  const got = JSON.parse(use.stdout.trim().split('\n').at(-1)!) as { keys: string[]; backend: string; layers: number; placed: number; width: number; height: number };
  assert.deepEqual([got.layers, got.width, got.height], [14, 96, 64]);
  // the encoder's layers worth < 0.5 dB give their place to placed ones: at least 14 − T placed
  assert.ok(got.placed >= 4 && got.placed <= 14, `placed layers: ${got.placed}`);
  assert.deepEqual(got.keys, Object.keys(await import('../src/index.js')).sort(), "the installed package exports what src/index.ts does");
  assert.equal(got.backend, built ? 'native' : 'cpu');
  const rgb = new Float32Array(new Uint8Array(readFileSync(join(app, 'render.f32'))).buffer);
  const photo = await readImageExact(image, 96, 64);
  const libDb = psnr(photo, rgb, 1, 1 / 255);
  // a reconstruction, well above the photo's mean colour (crisp 14 layers in 0.5 s: 18.8 dB measured)
  const mean = [0, 1, 2].map((k) => photo.filter((_, i) => i % 3 === k).reduce((a, b) => a + b, 0) / (photo.length / 3) / 255);
  const flatDb = psnr(photo, Float32Array.from(photo, (_, i) => mean[i % 3]!), 1, 1 / 255);
  assert.ok(libDb > flatDb + 3, `the library's render is ${libDb.toFixed(2)} dB from the photo, its mean colour ${flatDb.toFixed(2)} dB`);
  assert.equal(readFileSync(join(app, 'doc.psd')).subarray(0, 4).toString('latin1'), '8BPS');
  assert.equal(loadDocument(join(app, 'doc.stratum.json')).layers.length, 14);
  t.diagnostic(`import 'stratum': 14 layers on ${got.backend}, ${libDb.toFixed(2)} dB at 96×64 (${took()})`);

  // the editor's page ships with the package
  const { page, script } = await serves(app);
  assert.equal(page.status, 200, `stratum serve: / answered ${page.status} ${page.body.slice(0, 200)}`);
  assert.ok(script, `the editor's page names no script: ${page.body.slice(0, 300)}`);
  assert.equal(script.status, 200);
  assert.ok(script.body.length > 100_000, `the editor's script is ${script.body.length} bytes`);

  // the install script's fallback: a failed build warns, names the remedy and exits 0; Stratum runs on tfjs cpu
  if (!built) return;
  const fail = sh(process.execPath, [join(pkg, 'scripts', 'build-native.mjs')], pkg, 300_000, { ...process.env, CXX: 'false', CC: 'false' });
  assert.equal(fail.status, 0, `a failed kernel build must not fail the install: ${tail(fail.all)}`);
  assert.match(fail.stderr, /stratum: could not build the native kernels \(.+\)\.\n.*run: npm rebuild stratum\n/);
  const slow = sh('npx', ['--no-install', 'stratum', 'render', join('out', 'sunset.stratum.json'), '--size', '32', '-o', 'cpu.png'], app, 300_000, env);
  assert.equal(slow.status, 0, `stratum render without the kernels: ${tail(slow.all)}`);
  assert.match(slow.stderr, /native kernels not built \(run npm rebuild stratum/);
  assert.deepEqual([(await sharp(join(app, 'cpu.png')).metadata()).width, (await sharp(join(app, 'cpu.png')).metadata()).height], [32, 21]);
  t.diagnostic(`fallback without the kernels: render on tfjs cpu (${took()})`);
});
