// The library entry of the package (package.json "exports"; types: src/index.ts, where each
// function is documented). Loads src/index.ts as bin/source.js says: through tsx in a checkout,
// else the compiled build. test/package.test.ts checks these names are exactly src/index.ts's.
import { importSource } from './bin/source.js';

const m = await importSource('index');
export const { load, decompose, decomposeMany, refine, render, edit, exportDocument, loadDocument, saveDocument, useBackend, DEFAULT_MODEL, EXPORT_FORMATS } = m;
const exportAlias = m.export;
export { exportAlias as export };
