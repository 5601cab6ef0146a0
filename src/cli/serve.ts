/**
 * `stratum serve`: a small static server for the browser editor — the built page (web-dist/, from
 * `npm run build:web`) plus /models and /samples from the package. No compute happens server-side.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize } from 'node:path';

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

export function serveEditor(root: string, port: number, host = '127.0.0.1'): Promise<Server> {
  const web = join(root, 'web-dist');
  if (!existsSync(join(web, 'index.html'))) throw new Error(`${web}: the editor is not built (run: npm run build:web)`);
  const server = createServer((req, res) => {
    const url = decodeURIComponent((req.url ?? '/').split('?')[0]!);
    const base = /^\/(models|samples)\//.test(url) ? root : web;
    let file = normalize(join(base, url === '/' ? 'index.html' : url));
    if (!file.startsWith(base)) {
      res.writeHead(403).end();
      return;
    }
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    if (!existsSync(file)) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once('error', (e) => reject(new Error(`cannot listen on ${host}:${port} (${(e as Error).message})`)));
    server.listen(port, host, () => resolve(server));
  });
}
