/**
 * Other programs opening Stratum's exports (test/interop.e2e.test.ts): Inkscape rasterising an SVG,
 * GIMP (script-fu in batch mode) and Krita (command-line export to .kra, under Xvfb when there is
 * no display) opening a PSD or an OpenRaster file. Each reports the layers it sees (name and
 * visibility, top first) and its own flattened image. Every program runs with HOME and the XDG
 * folders in one temporary folder, so no user profile is read or written.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { strFromU8, unzipSync } from 'fflate';
import sharp from 'sharp';

/** the program's path on PATH, or null */
export function which(cmd: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, cmd);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return null;
}

/** why a program cannot run here (to skip its checks with), or null when it can */
export function missing(program: 'inkscape' | 'gimp' | 'krita'): string | null {
  const apt = { inkscape: 'inkscape', gimp: 'gimp', krita: 'krita' }[program];
  if (!which(program)) return `${program} not found on PATH (Debian: apt-get install ${apt})`;
  if (program === 'krita' && !process.env.DISPLAY && !which('xvfb-run')) return 'krita needs an X display: no DISPLAY and no xvfb-run (Debian: apt-get install xvfb xauth)';
  return null;
}

/** an environment whose HOME and XDG folders lie in `home` (program profiles, caches) */
export function isolated(home: string): NodeJS.ProcessEnv {
  const env = { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, '.config'), XDG_DATA_HOME: join(home, '.local', 'share'), XDG_CACHE_HOME: join(home, '.cache') };
  for (const d of [env.XDG_CONFIG_HOME, env.XDG_DATA_HOME, env.XDG_CACHE_HOME]) mkdirSync(d, { recursive: true });
  return env;
}

/**
 * run a program to its end, or kill it and everything it started after `timeoutMs` (through
 * coreutils' timeout, which signals its whole process group: xvfb-run's Xvfb and Krita included,
 * where a plain kill of xvfb-run would leave them running)
 */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): string {
  const s = String(Math.ceil(timeoutMs / 1000));
  const [bin, argv] = which('timeout') ? ['timeout', ['--kill-after=10', s, cmd, ...args]] : [cmd, args];
  const r = spawnSync(bin, argv, { env, encoding: 'utf8', timeout: timeoutMs + 30_000, maxBuffer: 64 << 20 });
  const tail = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
  if (r.error) throw new Error(`${cmd}: ${r.error.message}\n${tail}`);
  if (bin === 'timeout' && (r.status === 124 || r.status === 137)) throw new Error(`${cmd} did not finish in ${s} s (killed)\n${tail}`);
  if (r.status !== 0) throw new Error(`${cmd} exited with ${r.status ?? r.signal}\n${tail}`);
  return tail;
}

export interface Raster {
  width: number;
  height: number;
  /** RGB bytes, row-major */
  rgb: Uint8Array;
}

/** a PNG as RGB bytes (transparency over black, as the exports' own background) */
export async function readRgb(png: string | Buffer): Promise<Raster> {
  const { data, info } = await sharp(png).flatten({ background: '#000000' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, rgb: new Uint8Array(data) };
}

/** Inkscape's raster of an SVG at its own size (its page: width × height in px) */
export async function inkscapeRender(svg: string, png: string, home: string): Promise<Raster> {
  run('inkscape', ['--export-type=png', `--export-filename=${png}`, '--export-area-page', svg], isolated(home), 120_000);
  if (!existsSync(png)) throw new Error(`inkscape wrote no ${png}`);
  return readRgb(png);
}

export interface OpenedLayer {
  name: string;
  visible: boolean;
  /** 0..1 */
  opacity: number;
}

export interface Opened {
  /** top first, as the program lists them */
  layers: OpenedLayer[];
  /** the program's flattened image of the visible layers */
  image: Raster;
}

const scheme = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/**
 * GIMP opens each PSD (one batch-mode GIMP for all of them): its layers, top first, and its
 * merge of the visible layers, saved as PNG by GIMP
 */
export async function gimpOpen(files: string[], home: string): Promise<Opened[]> {
  const dump = `(define (stratum-dump in png txt)
  (let* ((image (car (gimp-file-load RUN-NONINTERACTIVE in in)))
         (layers (vector->list (cadr (gimp-image-get-layers image))))
         (out (open-output-file txt)))
    (for-each (lambda (l) (display (string-append (number->string (car (gimp-item-get-visible l))) "\\t" (number->string (car (gimp-layer-get-opacity l))) "\\t" (car (gimp-item-get-name l)) "\\n") out)) layers)
    (close-output-port out)
    (file-png-save RUN-NONINTERACTIVE image (car (gimp-image-merge-visible-layers image CLIP-TO-IMAGE)) png png 0 9 0 0 0 0 0)
    (gimp-image-delete image)))`;
  const calls = files.map((f) => `(stratum-dump ${scheme(f)} ${scheme(f + '.gimp.png')} ${scheme(f + '.gimp.txt')})`);
  const log = run('gimp', ['-i', '-d', '-f', '-n', '--batch-interpreter=plug-in-script-fu-eval', '-b', `${dump}\n${calls.join('\n')}`, '-b', '(gimp-quit 0)'], isolated(home), 300_000);
  const out: Opened[] = [];
  for (const f of files) {
    if (!existsSync(f + '.gimp.txt') || !existsSync(f + '.gimp.png')) throw new Error(`gimp did not open ${f}\n${log}`);
    const layers = readFileSync(f + '.gimp.txt', 'utf8')
      .split('\n')
      .filter((l) => l)
      .map((l) => {
        const [visible, opacity, ...name] = l.split('\t');
        return { name: name.join('\t'), visible: visible === '1', opacity: Number(opacity) / 100 };
      });
    out.push({ layers, image: await readRgb(f + '.gimp.png') });
  }
  return out;
}

const xmlText = (s: string) => s.replace(/&(lt|gt|quot|apos|amp|#(\d+)|#x([0-9a-f]+));/gi, (_, e: string, d?: string, h?: string) =>
  d ? String.fromCodePoint(Number(d)) : h ? String.fromCodePoint(parseInt(h, 16)) : ({ lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' } as Record<string, string>)[e.toLowerCase()]!,
);

/**
 * Krita opens a PSD or ORA and saves it as its own .kra: the layers of its maindoc.xml (top
 * first) and the merged image Krita stores in it. Reusing `home` across calls keeps Krita's
 * resource cache (the first start builds it: ~30 s, later ones ~3 s).
 */
export async function kritaOpen(file: string, home: string): Promise<Opened> {
  const kra = file + '.krita.kra';
  const args = ['--export', '--export-filename', kra, file];
  const env = { ...isolated(home), QT_QPA_PLATFORM: 'xcb' };
  if (process.env.DISPLAY) run('krita', args, env, 180_000);
  else {
    // -a takes the first free display from -n: a random start keeps concurrent runs off each other's.
    // Krita insists on xcb (-platform offscreen is ignored), and under load it can start before
    // Xvfb accepts connections ("could not connect to display", 5 Dec): then once more
    const xvfb = () => run('xvfb-run', ['-a', '-n', String(100 + Math.floor(Math.random() * 800)), '-s', '-screen 0 640x480x24', 'krita', ...args], env, 180_000);
    try {
      xvfb();
    } catch (e) {
      if (!/could not connect to display/.test(String(e))) throw e;
      xvfb();
    }
  }
  if (!existsSync(kra)) throw new Error(`krita wrote no ${kra}`);
  const zip = unzipSync(readFileSync(kra));
  const xml = strFromU8(zip['maindoc.xml'] ?? new Uint8Array());
  // attribute values may hold '>' (XML allows it unescaped): match quoted values whole
  const layers = [...xml.matchAll(/<layer((?:\s+[\w:-]+="[^"]*")*)\s*\/?>/g)].map((m) => {
    const attr = (k: string) => new RegExp(`\\s${k}="([^"]*)"`).exec(m[1]!)?.[1];
    return { name: xmlText(attr('name') ?? ''), visible: attr('visible') === '1', opacity: Number(attr('opacity') ?? 255) / 255 };
  });
  const merged = zip['mergedimage.png'];
  if (!merged) throw new Error(`${kra}: Krita stored no mergedimage.png`);
  return { layers, image: await readRgb(Buffer.from(merged)) };
}
