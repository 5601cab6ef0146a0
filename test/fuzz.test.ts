/**
 * Fuzz: 1,200 mutations (byte flips, truncation, field edits) of a valid layered document and a
 * valid model file, each loaded and used (rendered / decomposed on the native backend) in a child
 * process. Zero signals; every refusal is one line that names the file.
 *
 * Speed: one child works through the whole list and reports each file before and after it
 * (test/support/fuzzWorker.ts); when a child dies, the file it was on is recorded and a fresh child goes
 * on with the next one — so signals are still caught per mutation, without 1,200 process starts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { modelConfig } from '../src/config.js';
import { makeDocument } from '../src/core/document.js';
import { initMaskNet } from '../src/core/maskNet.js';
import { ParamStore } from '../src/core/params.js';
import { mulberry32 } from '../src/core/random.js';
import { Decomposer } from '../src/model/decomposer.js';
import { saveCheckpoint } from '../src/model/checkpoint.js';
import { onBackend, tmp } from './support/helpers.js';

const WORKER = join(import.meta.dirname, 'support', 'fuzzWorker.ts');
const PER_KIND = 600;

const HOSTILE: unknown[] = [0, -1, 1, 2, 3, 7, 255, 256, 1025, 65536, 2 ** 31, 2 ** 53, -(2 ** 31), 1.5, -0.5, 1e300, -1e300, null, true, '1', '', 'x', [], [0], [1, 2], {}, { a: 1 }];

/** every path to a value in a JSON tree (not descending into long number arrays' elements beyond 3) */
function paths(v: unknown, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(at);
  if (Array.isArray(v)) v.slice(0, 3).forEach((x, i) => paths(x, [...at, i], out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) paths(x, [...at, k], out);
  return out;
}

function editJson(value: unknown, rng: () => number): unknown {
  const root = JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
  const all = paths(root).filter((p) => p.length > 0);
  const edits = 1 + Math.floor(rng() * 3);
  for (let e = 0; e < edits; e++) {
    const path = all[Math.floor(rng() * all.length)]!;
    let parent: any = root;
    for (const k of path.slice(0, -1)) parent = parent?.[k];
    if (!parent || typeof parent !== 'object') continue;
    const key = path.at(-1)!;
    const r = rng();
    if (r < 0.15) delete parent[key];
    else if (r < 0.25 && Array.isArray(parent[key])) parent[key].push(...(parent[key] as unknown[]).slice(0, 1 + Math.floor(rng() * 3)));
    else if (r < 0.3 && Array.isArray(parent[key])) parent[key].length = Math.floor(parent[key].length / 2);
    else if (r < 0.4 && typeof parent[key] === 'number') parent[key] = parent[key] * (rng() < 0.5 ? -1 : 2) + (rng() < 0.5 ? 1 : 0);
    else parent[key] = HOSTILE[Math.floor(rng() * HOSTILE.length)];
  }
  return root;
}

function flipBytes(b: Uint8Array, rng: () => number, from = 0): Uint8Array {
  const out = b.slice();
  const n = 1 + Math.floor(rng() * 8);
  for (let i = 0; i < n; i++) {
    const k = from + Math.floor(rng() * (out.length - from));
    out[k] = rng() < 0.5 ? out[k]! ^ (1 << Math.floor(rng() * 8)) : Math.floor(rng() * 256);
  }
  return out;
}

function checkpointParts(buf: Uint8Array): { header: unknown; data: Uint8Array } {
  const hlen = new DataView(buf.buffer, buf.byteOffset).getUint32(8, true);
  return { header: JSON.parse(new TextDecoder().decode(buf.subarray(12, 12 + hlen))), data: buf.subarray(12 + hlen) };
}

function checkpointBytes(header: unknown, data: Uint8Array, hlenDelta = 0): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(12 + json.length + data.length);
  out.set(new TextEncoder().encode('STRATUM1'));
  new DataView(out.buffer).setUint32(8, Math.max(0, json.length + hlenDelta), true);
  out.set(json, 12);
  out.set(data, 12 + json.length);
  return out;
}

test('fuzz: 1,200 mutated documents and model files: no signal, every refusal one line naming the file', async () => {
  await onBackend('cpu');
  const dir = tmp('stratum-fuzz-');
  // the valid originals: a small mask MLP and a small model, so each mutation runs in milliseconds
  const mask = { K: 4, hidden: 16, depth: 2, groups: 4, norm: 'image' as const };
  const store = new ParamStore();
  initMaskNet(store, mask, mulberry32(1));
  const rl = mulberry32(2);
  const doc = makeDocument(mask, 8, store, Array.from({ length: 3 }, (_, i) => ({ name: `l${i}`, p: [rl(), rl(), rl(), rl()], colour: [rl(), rl(), rl()] as [number, number, number], visible: i !== 1 })));
  store.dispose();
  const model = new Decomposer(modelConfig({ encoder: 'small', T: 2, size: 8, smallChannels: [4, 4, 4, 4], mask }), 3);
  const modelPath = join(dir, 'model.stratum');
  saveCheckpoint(modelPath, model, { weightsOnly: true });
  model.dispose();
  const docBytes = new TextEncoder().encode(JSON.stringify(doc));
  const modelBytes = new Uint8Array(readFileSync(modelPath));
  const { header, data } = checkpointParts(modelBytes);
  const hlen = modelBytes.length - data.length;

  const rng = mulberry32(20251125);
  const jobs: string[] = [];
  for (let i = 0; i < PER_KIND; i++) {
    const r = rng();
    const bytes = r < 0.6 ? new TextEncoder().encode(JSON.stringify(editJson(doc, rng))) : r < 0.85 ? flipBytes(docBytes, rng) : docBytes.subarray(0, Math.floor(rng() * docBytes.length));
    const path = join(dir, `doc-${i}.stratum.json`);
    writeFileSync(path, bytes);
    jobs.push(`doc ${path}`);
  }
  for (let i = 0; i < PER_KIND; i++) {
    const r = rng();
    let bytes: Uint8Array;
    if (r < 0.5) bytes = checkpointBytes(editJson(header, rng), data);
    else if (r < 0.65) bytes = flipBytes(modelBytes, rng, 8); // header length, header or data
    else if (r < 0.75) bytes = flipBytes(modelBytes, rng, hlen); // data only: a valid file with odd weights
    else if (r < 0.85) bytes = checkpointBytes(header, data, Math.floor(rng() * 64) - 32); // header length off
    else bytes = modelBytes.subarray(0, Math.floor(rng() * modelBytes.length));
    const path = join(dir, `model-${i}.stratum`);
    writeFileSync(path, bytes);
    jobs.push(`model ${path}`);
  }
  writeFileSync(join(dir, 'jobs.txt'), jobs.join('\n'));

  const outcome = new Map<number, string>();
  const crashes: string[] = [];
  let start = 0;
  for (let round = 0; start < jobs.length && round < 50; round++) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', WORKER, join(dir, 'jobs.txt'), String(start)], { encoding: 'utf8', timeout: 300_000, maxBuffer: 64 << 20 });
    let current = -1;
    for (const line of r.stdout.split('\n')) {
      const m = /^([BOE]) (\d+)(?: (.*))?$/.exec(line);
      if (!m) continue;
      const i = Number(m[2]);
      if (m[1] === 'B') current = i;
      else {
        outcome.set(i, m[1] === 'O' ? 'ok' : (JSON.parse(m[3]!) as string));
        current = -1;
      }
    }
    if (r.status === 0 && current === -1) break;
    // the child died (signal, abort, timeout) on job `current`, or before its first one
    const at = current >= 0 ? current : start;
    crashes.push(`${jobs[at]}: ${r.signal ?? `exit ${r.status}`} ${r.stderr.split('\n').filter(Boolean).slice(-2).join(' | ')}`);
    start = at + 1;
  }
  assert.deepEqual(crashes, [], 'no mutation may kill the process');
  assert.equal(outcome.size, jobs.length, 'every mutation reported');
  const bad: string[] = [];
  let refused = 0;
  jobs.forEach((job, i) => {
    const msg = outcome.get(i)!;
    if (msg === 'ok') return;
    refused++;
    const path = job.split(' ')[1]!;
    if (msg.includes('\n') || !msg.includes(path)) bad.push(`${job}: ${JSON.stringify(msg)}`);
  });
  assert.deepEqual(bad.slice(0, 20), [], `${bad.length} refusals not one line naming the file`);
  // the corpus must exercise both paths: most mutations refused, some still valid
  assert.ok(refused > jobs.length / 2 && refused < jobs.length, `${refused} of ${jobs.length} refused`);
});
