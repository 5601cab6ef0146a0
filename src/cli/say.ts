/**
 * The command line's report lines: one line each, a path with a control character (a newline, a
 * tab, an escape) shown quoted and escaped, so no file name can break or fake a line. A command
 * whose output file is its own stdout (`-o /dev/stdout`) reports on stderr instead, so the report
 * never mixes into the file.
 */
import { outputOnStdout } from '../io/atomicFile.js';

/** C0 and C1 control characters, and the Unicode line and paragraph separators */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
const SHORT: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
const escape = (c: string) => SHORT[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** a path as shown in a message: as it is, or quoted with its control characters escaped */
export function shown(path: string): string {
  if (!path.match(CONTROL)) return path;
  return `"${path.replace(/["\\]/g, (c) => `\\${c}`).replace(CONTROL, escape)}"`;
}

/** `text` on one line: every control character escaped */
export const oneLine = (text: string): string => text.replace(CONTROL, escape);

/** print report lines, each on one line */
export function say(...lines: string[]): void {
  const out = outputOnStdout() ? process.stderr : process.stdout;
  for (const l of lines) out.write(`${oneLine(l)}\n`);
}
