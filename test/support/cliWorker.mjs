// The worker thread of test/cli.ts: tsx for its TypeScript (a worker does not inherit the test's loader), then test/cliWorker.ts.
import { tsImport } from 'tsx/esm/api';

await tsImport('./cliWorker.ts', import.meta.url);
