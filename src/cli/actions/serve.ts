/** stratum serve: what the command does (its flags and help: src/cli/commands/serve.ts, which imports this file only when the command runs) */
import { serveEditor } from '../serve.js';
import { PACKAGE_ROOT } from '../options.js';
import { say } from '../say.js';
import type { OptionValues } from 'commander';

export async function runServe(o: OptionValues): Promise<void> {
  const server = await serveEditor(PACKAGE_ROOT, o.port, o.host);
  say(`Stratum editor on http://${o.host}:${o.port}/ (Ctrl-C to stop)`);
  await new Promise<void>((resolve) => server.on('close', resolve));
}
