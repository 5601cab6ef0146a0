/**
 * `stratum serve`: a small static server for the browser editor — the built page (web-dist/, from
 * `npm run build:web`) plus the bundled models (models/*.stratum) and sample images (samples/*).
 * No compute happens server-side.
 *
 * Shape: the served files are an allow-list built once at start (URL path -> file), so a request
 * path is only ever a key looked up in a Map — it never reaches the file system, and no encoding
 * trick (`%2e%2e`, `%`, a sibling folder sharing the root's name) can name another file. Only GET
 * and HEAD; every response stream is torn down when its client goes away (no leaked handles).
 */
import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { extname, join, relative, sep } from 'node:path';
import { pipeline } from 'node:stream';

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
    const file = allowed.get(path);
    let size: number;
    try {
      size = file ? statSync(file).size : -1;
    } catch {
      size = -1;
    }
    if (!file || size < 0) return plain(res, 404, 'not found');
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': size, 'x-content-type-options': 'nosniff' });
    if (req.method === 'HEAD') return res.end();
    // pipeline destroys the file stream when the client aborts, and the response when reading fails
    pipeline(createReadStream(file), res, () => undefined);
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
