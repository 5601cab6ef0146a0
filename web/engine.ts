/**
 * The page's side of the decomposition worker (web/worker.ts): one worker per page, requests
 * answered in order, progress passed to the caller.
 */
import type { Frame } from '../src/model/decomposeFrame.js';
import type { PipelineOptions, PipelineResult } from '../src/pipeline/decompose.js';
import type { BackendChoice } from './backend.js';
import type { FromWorker, Stage, ToWorker } from './worker.js';

export type Progress = { stage: Stage; done?: number; total?: number };

export class Engine {
  private readonly worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
  private next = 1;
  private readonly pending = new Map<number, { resolve: (r: PipelineResult) => void; reject: (e: Error) => void; progress: (p: Progress) => void }>();
  /** the worker's backend, once ready */
  backend = '';
  /** whether the model's shape bank is rendered (it is needed by every decomposition) */
  shapesReady = false;
  /** the warm-up's progress and failures (no request of the page's) */
  onIdle: (m: { stage?: Stage; error?: string; shapesSeconds?: number }) => void = () => undefined;
  readonly ready: Promise<{ backend: string; cached: boolean }>;

  constructor(bytes: ArrayBuffer, url: string, backend: BackendChoice) {
    this.ready = new Promise((resolve, reject) => {
      this.worker.onerror = (e) => {
        // before it is ready: the page cannot decompose; after: the requests in flight fail
        const error = new Error(`the decomposition worker failed (${e.message || 'it stopped'})`);
        reject(error);
        for (const job of this.pending.values()) job.reject(error);
        this.pending.clear();
      };
      this.worker.onmessage = (e: MessageEvent<FromWorker>) => {
        const m = e.data;
        if (m.type === 'ready') {
          this.backend = m.backend;
          resolve(m);
        } else if (m.type === 'shapes-ready') {
          this.shapesReady = true;
          this.onIdle({ shapesSeconds: m.seconds });
        } else if (m.type === 'progress') {
          if (m.id === undefined) this.onIdle({ stage: m.stage });
          else this.pending.get(m.id)?.progress(m);
        } else if (m.type === 'result' || m.type === 'error') {
          const job = m.id === undefined ? undefined : this.pending.get(m.id);
          if (m.type === 'error' && !job) {
            if (!this.backend) reject(new Error(m.message));
            else this.onIdle({ error: m.message });
            return;
          }
          this.pending.delete(m.id!);
          if (m.type === 'result') job?.resolve(m.result);
          else job?.reject(new Error(m.message));
        }
      };
    });
    // the bank's files lie beside the model on a `stratum serve` (src/cli/serveBanks.ts): an absolute URL, as a worker resolves relative ones against its own script
    this.send({ type: 'init', bytes: bytes.slice(0), url, served: new URL(url, location.href).href, backend });
  }

  private send(m: ToWorker): void {
    this.worker.postMessage(m);
  }

  /** the library's pipeline on a frame: the same document as decompose() in Node */
  decompose(frame: Frame, options: Pick<PipelineOptions, 'layers' | 'budgetMs'>, source: Record<string, unknown>, progress: (p: Progress) => void): Promise<PipelineResult> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, progress });
      this.send({ type: 'decompose', id, frame, options, source });
    });
  }
}
