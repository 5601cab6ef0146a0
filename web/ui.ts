/** Small page helpers: elements by id, the status bar, checked number fields, buttons. */

export const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/**
 * The status bar: one line in plain words; `status` (body[data-status]) is what tests and styles
 * read: loading, ready, decomposing, done, refining, refined, error. `progress` shows the bar
 * (a fraction, or null for "working, length unknown").
 */
export function setStatus(status: string, text: string, progress?: number | null): void {
  document.body.dataset.status = status;
  $('status').textContent = text.split('\n')[0]!;
  const bar = $<HTMLProgressElement>('progress');
  bar.hidden = progress === undefined;
  if (progress === null) bar.removeAttribute('value');
  else if (progress !== undefined) bar.value = Math.max(0, Math.min(1, progress));
}

/**
 * The number in field `id`, checked before any work starts: at least `min`, at most `max`, whole
 * when `whole`; a blank field gives `blank` where one is allowed. Anything else throws a one-line
 * message for the status bar. (Text the browser cannot read as a number leaves the value blank:
 * validity.badInput tells it from a field left empty.)
 */
export function numberField(id: string, what: string, o: { min: number; max?: number; whole?: boolean; blank?: number; note?: string }): number {
  const input = $<HTMLInputElement>(id);
  const text = input.value.trim();
  if (text === '' && !input.validity.badInput && o.blank !== undefined) return o.blank;
  const v = Number(text);
  if (text === '' || !Number.isFinite(v) || (o.whole && !Number.isInteger(v)) || v < o.min || (o.max !== undefined && v > o.max)) {
    const range = o.max === undefined ? `≥ ${o.min}` : `from ${o.min} to ${o.max}`;
    const got = input.validity.badInput ? ', and what is typed there is not a number' : text === '' ? '' : `, not ${text}`;
    throw new Error(`${what} must be ${o.whole ? 'a whole number' : 'a number'} ${range}${o.note ? ` (${o.note})` : ''}${got}`);
  }
  return v;
}

/** what `read` returns, or undefined after showing in the status bar why a field is not acceptable */
export function checked<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch (e) {
    setStatus('error', (e as Error).message);
    return undefined;
  }
}

export function button(text: string, title: string, onclick: () => void, disabled = false): HTMLButtonElement {
  const b = document.createElement('button');
  b.textContent = text;
  b.title = title;
  b.disabled = disabled;
  b.onclick = onclick;
  return b;
}

/** the next animation frame, or 50 ms when the page is hidden (no frames come then) */
export function nextFrame(): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, 50);
    requestAnimationFrame(() => {
      clearTimeout(t);
      resolve();
    });
  });
}
