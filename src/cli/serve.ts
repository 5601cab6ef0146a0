/**
 * `stratum serve`: a small static server for the browser editor — the built page (web-dist/, from
 * `npm run build:web`) plus the bundled models (models/*.stratum) and sample images (samples/*).
 * The one computation here: a model's shape bank for the editor, rendered once into Node's bank
 * cache on its first request (src/cli/serveBanks.ts), since the page's WebAssembly takes ~10× longer.
 *
 * Shape: the served files are an allow-list built once at start (URL path -> file), so a request
 * path is only ever a key looked up in a Map — it never reaches the file system, and no encoding
 * trick (`%2e%2e`, `%`, a sibling folder sharing the root's name) can name another file. Only GET
 * and HEAD; every response stream is torn down when its client goes away (no leaked handles).
 * One byte range (`Range: bytes=a-b`, `a-`, `-n`) is honoured (206); a range that starts past the
 * end is 416; several ranges, or a header that is not a byte range, get the whole file (200).
 */
import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { extname, join, relative, sep } from 'node:path';
import { pipeline } from 'node:stream';
import { bankFile, bankRequest } from './serveBanks.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.png': 'image/png',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.stratum': 'application/octet-stream',
};

/** longest request target we answer (a page's own URLs are far shorter) */
export const MAX_URL_LENGTH = 2048;

/** plain files below `dir` (no symbolic links followed), as URL path -> absolute file */
function filesUnder(dir: string, prefix: string, keep: (name: string) => boolean, out: Map<string, string>): void {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.')) continue;
    const file = join(dir, e.name);
    if (e.isDirectory()) filesUnder(file, `${prefix}${e.name}/`, keep, out);
    else if (e.isFile() && keep(e.name)) out.set(`${prefix}${e.name}`, file);
  }
}

/** every URL path the editor server answers, and the file behind it */
export function editorAllowList(root: string): Map<string, string> {
  const web = join(root, 'web-dist');
  const out = new Map<string, string>();
  filesUnder(web, '/', () => true, out);
  filesUnder(join(root, 'models'), '/models/', (n) => extname(n) === '.stratum', out);
  filesUnder(join(root, 'samples'), '/samples/', (n) => ['.png', '.jpg', '.jpeg', '.webp'].includes(extname(n).toLowerCase()), out);
  const index = out.get('/index.html');
  if (index) out.set('/', index);
  for (const f of out.values()) if (relative(root, f).split(sep).includes('..')) throw new Error(`${f}: outside ${root}`);
  return out;
}

/** the request's path, decoded, or null when it is not a well-formed path */
function requestPath(url: string | undefined): string | null {
  if (!url || url.length > MAX_URL_LENGTH || !url.startsWith('/')) return null;
  const raw = url.split(/[?#]/, 1)[0]!;
  try {
    return decodeURIComponent(raw);
  } catch {
    return null;
  }
}

/**
 * The byte range a Range header asks of a file of `size` bytes: [start, end] (inclusive),
 * 'unsatisfiable', or null for "send it all" (no header, another unit, several ranges, bad syntax)
 */
export function byteRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | null {
  const m = header === undefined ? null : /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m || (m[1] === '' && m[2] === '')) return null;
  if (m[1] === '') {
    // the last n bytes
    const n = Number(m[2]);
    return n === 0 || size === 0 ? 'unsatisfiable' : { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? Infinity : Number(m[2]);
  if (end < start) return null; // not a valid range: ignored, as RFC 9110 says
  return start >= size ? 'unsatisfiable' : { start, end: Math.min(end, size - 1) };
}

export function serveEditor(root: string, port: number, host = '127.0.0.1'): Promise<Server> {
  const web = join(root, 'web-dist');
  if (!existsSync(join(web, 'index.html'))) throw new Error(`${web}: the editor is not built (run: npm run build:web)`);
  const allowed = editorAllowList(root);
  const plain = (res: ServerResponse, code: number, text: string) => {
    res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' }).end(text);
  };
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return plain(res.setHeader('allow', 'GET, HEAD'), 405, 'method not allowed');
    if ((req.url?.length ?? 0) > MAX_URL_LENGTH) return plain(res, 414, 'URL too long');
    const path = requestPath(req.url);
    if (path === null) return plain(res, 400, 'bad request');
    const bank = bankRequest(path);
    if (bank) {
      const model = allowed.get(bank[0]);
      if (!model) return plain(res, 404, 'not found');
      // (not cached, or failed: a 404, and the page renders the bank itself)
      const fail = () => (res.headersSent ? res.destroy() : plain(res, 404, 'not found'));
      bankFile(model, bank[1]).then((file) => {
        try {
          if (file) send(req, res, file);
          else fail();
        } catch {
          fail();
        }
      }, fail);
      return;
    }
    send(req, res, allowed.get(path));
  };
  /** a file (or a 404 for none) with its type, its length and byte ranges */
  const send = (req: IncomingMessage, res: ServerResponse, file: string | undefined) => {
    let size: number;
    try {
      size = file ? statSync(file).size : -1;
    } catch {
      size = -1;
    }
    if (!file || size < 0) return plain(res, 404, 'not found');
    const type = TYPES[extname(file)] ?? 'application/octet-stream';
    const range = byteRange(req.headers.range, size);
    if (range === 'unsatisfiable') {
      res.writeHead(416, { 'content-range': `bytes */${size}`, 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' });
      return res.end('range not satisfiable');
    }
    const part = range ?? { start: 0, end: size - 1 };
    const headers = { 'content-type': type, 'content-length': part.end - part.start + 1, 'accept-ranges': 'bytes', 'x-content-type-options': 'nosniff' };
    if (range) res.writeHead(206, { ...headers, 'content-range': `bytes ${range.start}-${range.end}/${size}` });
    else res.writeHead(200, { ...headers, 'content-length': size });
    if (req.method === 'HEAD' || size === 0) return res.end();
    // pipeline destroys the file stream when the client aborts, and the response when reading fails
    pipeline(createReadStream(file, { start: part.start, end: part.end }), res, () => undefined);
  };
  const server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch {
      if (!res.headersSent) plain(res, 500, 'error');
      else res.destroy();
    }
  });
  server.on('clientError', (_e, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });
  return new Promise((resolve, reject) => {
    server.once('error', (e) => reject(new Error(`cannot listen on ${host}:${port} (${(e as Error).message})`)));
    server.listen(port, host, () => resolve(server));
  });
}
