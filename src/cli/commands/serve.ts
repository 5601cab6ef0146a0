/** stratum serve: its flags and help; the work is src/cli/actions/serve.ts, imported only when the command runs */
import { Command } from 'commander';
import { int, lazy } from '../options.js';

export function register(program: Command): void {
  program
    .command('serve')
    .description('serve the browser editor (build it first: npm run build:web)')
    .option('--port <n>', 'port', int('--port'), 5173)
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .action(lazy(() => import('../actions/serve.js'), 'runServe'));
}
