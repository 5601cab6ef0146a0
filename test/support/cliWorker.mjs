// The worker thread of test/support/cli.ts: tsx for its TypeScript (a worker does not inherit the test's loader), then test/support/cliWorker.ts.
import { tsImport } from 'tsx/esm/api';

await tsImport('./cliWorker.ts', import.meta.url);
