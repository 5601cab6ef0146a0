/** Reading and writing layered documents on disk (atomic writes, one-line errors). */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { validateDocument, type LayeredDocument } from '../core/document.js';
import { writeFileAtomic } from '../io/atomicFile.js';

export function saveDocument(path: string, doc: LayeredDocument): void {
  writeFileAtomic(path, [new TextEncoder().encode(JSON.stringify(doc, null, 1))]);
}

export function loadDocument(path: string): LayeredDocument {
  if (!existsSync(path)) throw new Error(`${path}: no such document`);
  if (!statSync(path).isFile()) throw new Error(`${path}: is a folder, not a document`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    throw new Error(`${path}: not valid JSON (truncated or corrupt document?)`);
  }
  return validateDocument(parsed, path);
}
