// Vite config for the browser editor (npm start: dev server; npm run build:web: static build).
// /models and /samples are served from the repository root.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { join, normalize, resolve } from 'node:path';
import { defineConfig, type Plugin } from 'vite';

const root = resolve(import.meta.dirname, '..');

function repoFiles(): Plugin {
  return {
    name: 'stratum-repo-files',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const url = decodeURIComponent((req.url ?? '').split('?')[0]!);
        if (!/^\/(models|samples)\//.test(url)) return next();
        const file = normalize(join(root, url));
        if (!file.startsWith(root) || !existsSync(file) || !statSync(file).isFile()) return next();
        createReadStream(file).pipe(res);
      });
    },
  };
}

export default defineConfig({
  root: import.meta.dirname,
  base: './',
  plugins: [repoFiles()],
  // the decomposition worker (web/worker.ts) is an ES module, like the page
  worker: { format: 'es' },
  build: { outDir: resolve(root, 'web-dist'), emptyOutDir: true, chunkSizeWarningLimit: 4000 },
});
