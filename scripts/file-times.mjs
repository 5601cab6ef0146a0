// A node:test reporter for scripts/test-quick.mjs: each test file's time (the sum of its top-level
// tests'), one line per file at the end.
import { relative } from 'node:path';

export default async function* fileTimes(source) {
  const ms = new Map();
  for await (const event of source) {
    if ((event.type === 'test:pass' || event.type === 'test:fail') && event.data.nesting === 0 && event.data.file) {
      const f = relative(process.cwd(), event.data.file);
      ms.set(f, (ms.get(f) ?? 0) + (event.data.details?.duration_ms ?? 0));
    }
  }
  for (const [f, t] of ms) yield `stratum-file-time ${f} ${Math.round(t)}\n`;
}
