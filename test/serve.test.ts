/**
 * `stratum serve` against hostile requests: encoded traversal, a bare `%`, long and odd URLs,
 * aborted downloads and 500 concurrent requests. The server must keep answering, never return a
 * file outside its allow-list, and not leak file handles.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request, Agent } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { serveEditor } from '../src/cli/serve.js';
import { bankCachePath } from '../src/model/bankCache.js';
import { loadModel } from '../src/model/checkpoint.js';
import { NO_NATIVE, tmp } from './support/helpers.js';

const SECRET = 'TOP-SECRET-7f3a';

/** a fake package root: the built editor, a model, a sample, and secrets around them */
function fakeRoot(): { root: string; allowed: Buffer[] } {
  const parent = tmp();
  const root = join(parent, 'pkg');
  mkdirSync(join(root, 'web-dist', 'assets'), { recursive: true });
  mkdirSync(join(root, 'models'));
  mkdirSync(join(root, 'samples'));
  mkdirSync(join(root, '.git'));
  mkdirSync(join(root, 'src'));
  mkdirSync(join(root, 'out'));
  mkdirSync(join(parent, 'pkg-sibling'));
  const files: [string, string | Buffer][] = [
    ['web-dist/index.html', '<!doctype html><title>editor</title>'],
    ['web-dist/assets/app.js', 'console.log(1)'],
    ['models/default.stratum', Buffer.alloc(8 << 20, 7)], // large enough that a download can be cut off
    ['samples/boot.png', 'png bytes'],
  ];
  for (const [f, c] of files) writeFileSync(join(root, f), c);
  for (const f of ['.git/config', 'src/index.ts', 'out/photo.png', 'package.json', 'models/notes.txt', 'samples/secret.json', 'web-dist/../secret']) writeFileSync(join(root, f), SECRET);
  writeFileSync(join(parent, 'pkg-sibling', 'x'), SECRET);
  writeFileSync(join(parent, 'outside'), SECRET);
  return { root, allowed: files.map(([, c]) => Buffer.from(c)) };
}

/** send raw bytes, collect the whole reply (status line + body) */
function raw(port: number, text: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.write(text));
    const chunks: Buffer[] = [];
    s.on('data', (c) => chunks.push(c));
    s.on('error', reject);
    s.on('close', () => {
      const all = Buffer.concat(chunks);
      const head = all.indexOf('\r\n\r\n');
      const status = Number(/^HTTP\/1\.1 (\d+)/.exec(all.toString('latin1', 0, 20))?.[1] ?? 0);
      resolve({ status, body: head < 0 ? Buffer.alloc(0) : all.subarray(head + 4) });
    });
  });
}
const get = (port: number, path: string) => raw(port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);

const openFds = () => readdirSync('/proc/self/fd').length;

test('serve: hostile request corpus; only allow-listed files come back, the server keeps answering', async () => {
  const { root, allowed } = fakeRoot();
  const server = await serveEditor(root, 0);
  const port = (server.address() as AddressInfo).port;
  try {
    const ok = await get(port, '/');
    assert.equal(ok.status, 200);
    assert.match(ok.body.toString(), /editor/);
    assert.equal((await get(port, '/models/default.stratum')).body.length, 8 << 20);
    assert.equal((await get(port, '/samples/boot.png?x=1')).status, 200);
    const hostile = [
      '/%', '/%%', '/%zz', '/%E0%A4%A', '/models/%', '/models/%2e%2e/.git/config', '/models/../.git/config', '/samples/..%2fpackage.json',
      '/models/%2e%2e%2fsrc%2findex.ts', '/..', '/../outside', '/../../outside', '/%2e%2e/%2e%2e/outside', '/web-dist/../secret', '/../secret',
      '/../pkg-sibling/x', '/models/..%5c..%5coutside', '/models/notes.txt', '/samples/secret.json', '/package.json', '/src/index.ts', '/out/photo.png',
      '/.git/config', '//etc/passwd', '/%00', '/index.html%00.png', '/models/default.stratum%00', `/${'a'.repeat(5000)}`, `/${'%2e%2e/'.repeat(400)}outside`,
      '*', 'http://evil/../outside', '/assets', '/assets/', '/models/', '/samples',
    ];
    for (const path of hostile) {
      const r = await get(port, path);
      assert.ok(r.status >= 400 || r.status === 0, `${path} -> ${r.status}`);
      assert.ok(!r.body.includes(SECRET), `${path} leaked a file`);
    }
    for (const method of ['POST', 'PUT', 'DELETE', 'TRACE']) assert.equal((await raw(port, `${method} / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)).status, 405);
    assert.equal((await raw(port, 'GARBAGE\r\n\r\n')).status, 400);
    // 50 downloads cut off after their first bytes: no file handle may stay open
    const before = openFds();
    for (let i = 0; i < 50; i++) {
      await new Promise<void>((resolve) => {
        const s = connect(port, '127.0.0.1', () => s.write('GET /models/default.stratum HTTP/1.1\r\nHost: x\r\n\r\n'));
        s.once('data', () => {
          s.destroy();
          resolve();
        });
      });
    }
    let after = openFds();
    for (let i = 0; i < 50 && after > before + 2; i++) {
      await new Promise((r) => setTimeout(r, 20));
      after = openFds();
    }
    assert.ok(after <= before + 2, `file handles: ${before} before, ${after} after 50 aborted downloads`);
    // 500 concurrent requests, allowed and hostile mixed: every allowed one answered in full
    const agent = new Agent({ maxSockets: 500 });
    const paths = ['/', '/assets/app.js', '/samples/boot.png', '/%', '/models/%2e%2e/.git/config'];
    const replies = await Promise.all(
      Array.from({ length: 500 }, (_, i) =>
        new Promise<{ path: string; status: number; body: Buffer }>((resolve, reject) => {
          const path = paths[i % paths.length]!;
          const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => resolve({ path, status: res.statusCode!, body: Buffer.concat(chunks) }));
          });
          req.on('error', reject);
          req.end();
        }),
      ),
    );
    agent.destroy();
    for (const r of replies) {
      assert.ok(!r.body.includes(SECRET), `${r.path} leaked a file`);
      if (r.status === 200) assert.ok(allowed.some((a) => a.equals(r.body)), `${r.path}: unexpected body`);
      else assert.ok(r.path.includes('%'), `${r.path} -> ${r.status}`);
    }
    assert.equal(replies.filter((r) => r.status === 200).length, 300);
    const still = await get(port, '/');
    assert.equal(still.status, 200, 'the server still answers');
    assert.deepEqual(readFileSync(join(root, 'models', 'default.stratum')).length, 8 << 20);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

test('serve binds 127.0.0.1 by default', async () => {
  const { root } = fakeRoot();
  const server = await serveEditor(root, 0);
  try {
    assert.equal((server.address() as AddressInfo).address, '127.0.0.1');
  } finally {
    await new Promise((r) => server.close(r));
  }
});

test('serve: one byte range is honoured (206), a range past the end is 416, anything else gets the whole file', async () => {
  const { root } = fakeRoot();
  const server = await serveEditor(root, 0);
  const port = (server.address() as AddressInfo).port;
  const size = 8 << 20;
  const fetchRange = (range: string, method = 'GET') =>
    new Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/models/default.stratum', method, headers: { range } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      });
      req.on('error', reject);
      req.end();
    });
  try {
    for (const range of ['bytes=999999999-', `bytes=${size}-`, `bytes=${size}-${size + 10}`, 'bytes=-0', 'bytes=99999999999999999999999-']) {
      const r = await fetchRange(range);
      assert.equal(r.status, 416, range);
      assert.equal(r.headers['content-range'], `bytes */${size}`, range);
      assert.ok(r.body.length < 100, range);
    }
    const cases: [string, number, number, number][] = [
      ['bytes=0-9', 206, 0, 9],
      ['bytes=10-', 206, 10, size - 1],
      ['bytes=-5', 206, size - 5, size - 1],
      [`bytes=100-${size + 99}`, 206, 100, size - 1],
      ['bytes=5-2', 200, 0, size - 1],
      ['bytes=0-1,3-4', 200, 0, size - 1],
      ['items=0-5', 200, 0, size - 1],
      ['bytes=x-y', 200, 0, size - 1],
    ];
    for (const [range, status, start, end] of cases) {
      const r = await fetchRange(range);
      assert.equal(r.status, status, range);
      assert.equal(r.body.length, end - start + 1, range);
      assert.equal(Number(r.headers['content-length']), end - start + 1, range);
      if (status === 206) assert.equal(r.headers['content-range'], `bytes ${start}-${end}/${size}`, range);
      assert.equal(r.headers['accept-ranges'], 'bytes');
    }
    const head = await fetchRange('bytes=0-9', 'HEAD');
    assert.equal(head.status, 206);
    assert.equal(head.body.length, 0);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

test('serve: a model\'s shape bank beside it (/models/NAME.stratum.bank), rendered once into the bank cache with the native kernels, the library\'s bytes; 404 for other kinds, other models, a broken model, or the cache off', async () => {
  const { root } = fakeRoot();
  copyFileSync('models/default.stratum', join(root, 'models', 'real.stratum'));
  const cache = tmp();
  const before = process.env.STRATUM_CACHE;
  process.env.STRATUM_CACHE = cache;
  const server = await serveEditor(root, 0);
  const port = (server.address() as AddressInfo).port;
  try {
    if (NO_NATIVE) {
      // no native kernels: the page's WebAssembly renders faster than tfjs cpu here would
      assert.equal((await get(port, '/models/real.stratum.bank')).status, 404);
      return;
    }
    // two at once: one rendering, both answered
    const [a, b] = await Promise.all([get(port, '/models/real.stratum.bank'), get(port, '/models/real.stratum.bank')]);
    assert.equal(a.status, 200);
    assert.ok(a.body.equals(b.body));
    const file = bankCachePath(new Uint8Array(readFileSync('models/default.stratum')), 'bank')!;
    assert.ok(a.body.equals(readFileSync(file)), 'the bytes of the bank cache Node decomposes with');
    const masks = new Float32Array(a.body.buffer.slice(a.body.byteOffset, a.body.byteOffset + a.body.byteLength));
    const { model } = loadModel('models/default.stratum');
    try {
      model.bankMaskCache = null; // rendered here, now
      const bank = model.shapeBank()!;
      assert.equal(masks.length, bank.masks.length, 'as many values as the model\'s bank masks');
      let worst = 0;
      for (let i = 0; i < masks.length; i++) worst = Math.max(worst, Math.abs(masks[i]! - bank.masks[i]!));
      assert.ok(worst < 1e-5, `served and rendered masks differ by ${worst}`);
    } finally {
      model.dispose();
    }
    for (const path of ['/models/real.stratum.evil', '/models/none.stratum.bank', '/models/default.stratum.bank', '/models/real.stratum.bank/x', '/models/../models/real.stratum.bank']) assert.equal((await get(port, path)).status, 404, path);
    process.env.STRATUM_CACHE = 'off';
    assert.equal((await get(port, '/models/real.stratum.bank')).status, 404, 'the cache off: the page renders its bank itself');
  } finally {
    if (before === undefined) delete process.env.STRATUM_CACHE;
    else process.env.STRATUM_CACHE = before;
    await new Promise((r) => server.close(r));
  }
});
