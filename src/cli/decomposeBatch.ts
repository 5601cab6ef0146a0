/**
 * `stratum decompose IMAGES... -o DIR`: many images through the same pipeline as one image
 * (src/cli/decomposeFiles.ts decomposeToFiles), in a pool of worker processes over the cores. Each
 * worker loads the model once and takes images one at a time from the parent (so a slow image does
 * not hold up the rest); a bad file is reported and skipped, a worker that dies is replaced. One
 * progress bar with ETA; DIR/summary.csv lists every image (status, layers, PSNR, seconds, error);
 * the exit code is non-zero when any image failed, every good image written all the same.
 *
 * Workers are processes, not threads: the native kernels and OpenBLAS keep process-wide state, and
 * a process per core with one thread each is how 2 cores do the most images per second.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { useBackend, type BackendName } from '../backend/index.js';
import { writeFileAtomic } from '../io/atomicFile.js';
import { checkOutputs } from '../io/paths.js';
import { Progress } from '../io/progress.js';
import { loadModel } from '../model/checkpoint.js';
import { decomposeToFiles, outputsOf, type Request } from './decomposeFiles.js';
import { oneLine, say, shown } from './say.js';

/** the image files a folder is read for */
export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif', '.heic', '.heif']);
const isImageName = (name: string) => IMAGE_EXTENSIONS.has(extname(name).toLowerCase());
const GLOB = /[*?[]/;

/** a glob's last path segment as a regular expression (*, ? and [...] as in a shell) */
function globRegex(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else if (ch === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        const body = pattern.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\');
        re += `[${body}]`;
        i = end;
      }
    } else re += ch.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/**
 * The image files named by the arguments, in order, each once: a file as it is (a missing one too:
 * it is reported when its turn comes), a folder's image files (sorted, not recursive), a glob in the
 * last path segment ("photos/*.jpg", for shells that did not expand it). A folder or glob that names
 * no image is an error.
 */
export function expandInputs(inputs: string[]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const add = (p: string) => {
    const key = resolve(p);
    if (!seen.has(key)) {
      seen.add(key);
      out.push(p);
    }
  };
  for (const arg of inputs) {
    if (existsSync(arg) && statSync(arg).isDirectory()) {
      const names = readdirSync(arg).filter(isImageName).sort();
      if (!names.length) throw new Error(`${arg}: a folder with no images (${[...IMAGE_EXTENSIONS].join(' ')})`);
      for (const n of names) if (statSync(join(arg, n)).isFile()) add(join(arg, n));
    } else if (GLOB.test(basename(arg)) && !existsSync(arg)) {
      const dir = dirname(arg);
      if (GLOB.test(dir)) throw new Error(`${arg}: a pattern only in the file name is supported (let the shell expand the rest)`);
      if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`${arg}: no such folder ${dir}`);
      const re = globRegex(basename(arg));
      const names = readdirSync(dir).filter((n) => re.test(n)).sort();
      if (!names.length) throw new Error(`${arg}: matches no file`);
      for (const n of names) add(dir === '.' && !arg.startsWith('./') ? n : join(dir, n));
    } else add(arg);
  }
  return out;
}

interface Row {
  image: string;
  status: 'ok' | 'failed' | 'skipped';
  layers?: number;
  psnr?: number;
  seconds?: number;
  error?: string;
}

const csvField = (v: string | number | undefined) => {
  const s = v === undefined ? '' : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

function summaryCsv(rows: Row[]): string {
  const head = 'image,status,layers,psnr_db,seconds,error\n';
  return head + rows.map((r) => [r.image, r.status, r.layers, r.psnr?.toFixed(3), r.seconds?.toFixed(3), r.error].map(csvField).join(',')).join('\n') + '\n';
}

export interface BatchOptions {
  jobs?: number;
  skipExisting?: boolean;
}

/** decomposes `images` into `out`; returns the exit code (1 when any image failed) */
export async function decomposeBatch(images: string[], out: string, req: Request, o: BatchOptions): Promise<number> {
  const t0 = performance.now();
  // two inputs with the same stem would write over each other's files
  const byStem = new Map<string, string>();
  for (const img of images) {
    const stem = basename(img, extname(img));
    const other = byStem.get(stem);
    if (other !== undefined) throw new Error(`${img} and ${other} would both write ${stem}.* in ${out}: decompose them into different folders`);
    byStem.set(stem, img);
  }
  const summary = join(out, 'summary.csv');
  const outputs = images.map((img) => outputsOf(out, img));
  checkOutputs([...outputs.flatMap((x) => Object.values(x)), summary], [...images, req.model]);
  if (!existsSync(req.model)) throw new Error(`${req.model}: no such model file (--model)`);
  const rows: Row[] = images.map((image) => ({ image, status: 'skipped' }));
  const todo = images.map((_, i) => i).filter((i) => !(o.skipExisting && Object.values(outputs[i]!).every((p) => existsSync(p))));
  const jobs = Math.max(1, Math.min(o.jobs ?? availableParallelism(), todo.length));
  const bar = new Progress(todo.length, 0, 'decompose ');
  let done = 0, failed = 0;
  const finish = (i: number, r: Omit<Row, 'image'>) => {
    rows[i] = { image: images[i]!, ...r };
    done++;
    if (r.status === 'failed') {
      failed++;
      const why = oneLine(r.error ?? 'failed');
      bar.log(why.startsWith(images[i]!) ? why : `${shown(images[i]!)}: ${why}`);
    }
    bar.update(done, `${failed ? `${failed} failed, ` : ''}last ${basename(images[i]!)}`);
  };
  if (todo.length) {
    if (jobs === 1) await inProcess(todo, images, outputs, req, finish);
    else await pool(todo, images, outputs, req, out, jobs, finish);
    bar.finish();
  }
  writeFileAtomic(summary, [new TextEncoder().encode(summaryCsv(rows))]);
  const seconds = (performance.now() - t0) / 1000;
  const ok = rows.filter((r) => r.status === 'ok').length;
  const skipped = images.length - todo.length;
  say(`${images.length} images: ${ok} decomposed${skipped ? `, ${skipped} skipped (already there)` : ''}${failed ? `, ${failed} failed` : ''} in ${seconds.toFixed(1)} s (${(ok / seconds).toFixed(2)} images/s, ${jobs} worker${jobs > 1 ? 's' : ''}); wrote ${shown(out)} and ${shown(summary)}`);
  return failed ? 1 : 0;
}

type Finish = (i: number, r: Omit<Row, 'image'>) => void;

async function inProcess(todo: number[], images: string[], outputs: ReturnType<typeof outputsOf>[], req: Request, finish: Finish): Promise<void> {
  await useBackend(req.backend as BackendName);
  const loaded = loadModel(req.model);
  for (const i of todo) {
    try {
      const r = await decomposeToFiles(loaded, images[i]!, outputs[i]!, req, false);
      finish(i, { status: 'ok', layers: r.layers, psnr: r.psnr, seconds: r.seconds });
    } catch (e) {
      finish(i, { status: 'failed', error: (e as Error).message.split('\n')[0] });
    }
  }
}

/** lines a worker writes on stdout for the parent start with this (anything else is ignored) */
const TAG = '@stratum-worker ';
const REQUEST_ENV = 'STRATUM_DECOMPOSE_REQUEST';

async function pool(todo: number[], images: string[], outputs: ReturnType<typeof outputsOf>[], req: Request, out: string, jobs: number, finish: Finish): Promise<void> {
  const queue = [...todo];
  let respawns = 0;
  const entry = process.argv[1]!;
  await new Promise<void>((resolveAll) => {
    let live = 0;
    const start = () => {
      live++;
      const child: ChildProcess = spawn(process.execPath, [...process.execArgv, entry, 'decompose-worker'], {
        // one thread per worker: the workers are the parallelism
        env: { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', [REQUEST_ENV]: JSON.stringify({ req, out }) },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let current: number | undefined;
      let lastErr = '';
      const next = () => {
        current = queue.shift();
        if (current === undefined) child.stdin!.end();
        else child.stdin!.write(`${JSON.stringify({ i: current, image: images[current], outputs: outputs[current] })}\n`);
      };
      createInterface({ input: child.stderr! }).on('line', (l) => { if (l.trim()) lastErr = l; });
      createInterface({ input: child.stdout! }).on('line', (line) => {
        if (!line.startsWith(TAG)) return;
        const m = JSON.parse(line.slice(TAG.length)) as { i?: number; ok?: boolean; ready?: boolean; layers?: number; psnr?: number; seconds?: number; error?: string };
        if (m.ready) return next();
        if (m.i !== current || current === undefined) return;
        finish(current, m.ok ? { status: 'ok', layers: m.layers, psnr: m.psnr, seconds: m.seconds } : { status: 'failed', error: m.error });
        next();
      });
      child.on('exit', (code, signal) => {
        live--;
        if (current !== undefined) {
          // the image it was on failed with it; the rest go on in a fresh worker
          finish(current, { status: 'failed', error: `worker ${signal ? `killed by ${signal}` : `exited with code ${code}`}${lastErr ? `: ${lastErr.replace(/^stratum: /, '')}` : ''}` });
          current = undefined;
        }
        if (queue.length && respawns < 2 * jobs) {
          respawns++;
          start();
        } else if (queue.length && live === 0) {
          for (const i of queue.splice(0)) finish(i, { status: 'failed', error: `workers kept failing: ${lastErr || 'no message'}` });
        }
        if (live === 0) resolveAll();
      });
      child.stdin!.on('error', () => undefined); // a dead worker: its exit handler reports
    };
    for (let k = 0; k < jobs; k++) start();
  });
}

/** the hidden `stratum decompose-worker` a pool starts (src/cli/commands/decompose.ts registers it): images from stdin, results on stdout */
export async function runWorker(): Promise<void> {
  const spec = process.env[REQUEST_ENV];
  if (!spec) throw new Error('decompose-worker is started by `stratum decompose IMAGES...`, not by hand');
  const { req } = JSON.parse(spec) as { req: Request; out: string };
  await useBackend(req.backend as BackendName);
  const loaded = loadModel(req.model);
  const send = (m: object) => process.stdout.write(`${TAG}${JSON.stringify(m)}\n`);
  send({ ready: true });
  for await (const line of createInterface({ input: process.stdin })) {
    if (!line.trim()) continue;
    const { i, image, outputs } = JSON.parse(line) as { i: number; image: string; outputs: ReturnType<typeof outputsOf> };
    try {
      const r = await decomposeToFiles(loaded, image, outputs, req, false);
      send({ i, ok: true, layers: r.layers, psnr: r.psnr, seconds: r.seconds });
    } catch (e) {
      send({ i, ok: false, error: (e as Error).message.split('\n')[0] });
    }
  }
}
