/** stratum serve */
import { Command } from 'commander';
import { serveEditor } from '../serve.js';
import { PACKAGE_ROOT, int } from '../options.js';
import { say } from '../say.js';

export function register(program: Command): void {
  program
    .command('serve')
    .description('serve the browser editor (build it first: npm run build:web)')
    .option('--port <n>', 'port', int('--port'), 5173)
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .action(async (o) => {
      const server = await serveEditor(PACKAGE_ROOT, o.port, o.host);
      say(`Stratum editor on http://${o.host}:${o.port}/ (Ctrl-C to stop)`);
      await new Promise<void>((resolve) => server.on('close', resolve));
    });
}
