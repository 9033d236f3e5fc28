/**
 * A tslab kernel without Jupyter: one child process (lib/report/kernel-child.js) that executes
 * notebook cells with tslab's own compiler and executor, in the project root, like the Jupyter kernel.
 * Used by the notebook runner (`npm start`) and by the notebook tests.
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';

/** An nbformat v4 output. */
export type NotebookOutput =
  | { output_type: 'stream'; name: 'stdout' | 'stderr'; text: string }
  | { output_type: 'display_data'; data: Record<string, string>; metadata: Record<string, unknown> }
  | { output_type: 'execute_result'; data: Record<string, string>; metadata: Record<string, unknown>; execution_count: number | null }
  | { output_type: 'error'; ename: string; evalue: string; traceback: string[] };

/** A failure noticed by the kernel outside the normal flow of a cell. */
export interface KernelFault {
  kind: 'unhandledRejection' | 'uncaughtException' | 'exit' | 'timeout';
  /** The cell that was running, or the last one that ran (-1: none yet). */
  cellId: number;
  text: string;
}

/** The result of one `execute`. */
export interface CellRun {
  ok: boolean;
  outputs: NotebookOutput[];
  /** Set when `ok` is false. */
  error?: { ename: string; evalue: string; traceback: string[] };
  /** Faults seen while the cell ran (a failing cell also has `ok === false`). */
  faults: KernelFault[];
  durationMs: number;
}

/** Options for `NotebookKernel.start`. */
export interface KernelOptions {
  /** Working directory of the kernel; notebooks import `./lib/index` from here. Default: the project root. */
  cwd?: string;
  /** Extra environment variables (added to this process's environment). Default: none. */
  env?: Record<string, string>;
  /** Longest a single cell may run before the kernel is killed, in ms; 0 = no limit. Default: 0. */
  cellTimeoutMs?: number;
  /** Called with every piece of stdout/stderr as it arrives (e.g. to echo training progress live). Default: none. */
  onStream?: (name: 'stdout' | 'stderr', text: string) => void;
}

/** The project root (this file is lib/report/kernel.ts). */
export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');

type ChildMessage =
  | { type: 'ready' }
  | { type: 'stream'; id: number; name: 'stdout' | 'stderr'; text: string }
  | { type: 'display'; id: number; data: Record<string, string> }
  | { type: 'done'; id: number; ok: boolean; error?: CellRun['error'] }
  | { type: 'fault'; id: number; kind: 'unhandledRejection' | 'uncaughtException'; text: string };

interface Pending {
  id: number;
  outputs: NotebookOutput[];
  faults: KernelFault[];
  started: number;
  resolve: (run: CellRun) => void;
  timer?: NodeJS.Timeout;
}

/** One kernel process. Cells run one at a time; `close()` ends the process. */
export class NotebookKernel {
  /** Faults that arrived while no cell was running, attributed to the cell that ran last. */
  readonly lateFaults: KernelFault[] = [];
  private nextId = 0;
  private pending: Pending | undefined;
  /** Outputs of every cell run so far, by id: late output goes to the cell that produced it. */
  private readonly outputsById = new Map<number, NotebookOutput[]>();
  private exited = false;

  private constructor(
    private readonly child: ChildProcess,
    private readonly cellTimeoutMs: number,
    private readonly onStream?: KernelOptions['onStream'],
  ) {}

  /** Starts a kernel process and waits until it can execute cells. */
  static async start(options: KernelOptions = {}): Promise<NotebookKernel> {
    const cwd = options.cwd ?? PROJECT_ROOT;
    const child = fork(path.join(__dirname, 'kernel-child.js'), [], {
      cwd,
      env: { ...process.env, ...(options.env ?? {}) },
      // No ts-node hook and no inherited --require flags: the kernel must see what Jupyter's kernel sees.
      execArgv: [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const kernel = new NotebookKernel(child, options.cellTimeoutMs ?? 0, options.onStream);
    await new Promise<void>((resolve, reject) => {
      const onMessage = (msg: ChildMessage) => {
        if (msg.type === 'ready') {
          child.off('exit', onExit);
          resolve();
        }
      };
      const onExit = (code: number | null) => reject(new Error(`the notebook kernel exited during start-up (code ${code})`));
      child.once('message', onMessage);
      child.once('exit', onExit);
    });
    child.on('message', (msg: ChildMessage) => kernel.onMessage(msg));
    child.on('exit', (code, signal) => kernel.onExit(code, signal));
    return kernel;
  }

  /** Executes one cell's source; resolves when it finished (never rejects: failures are in the result). */
  execute(code: string): Promise<CellRun> {
    if (this.pending) throw new Error('NotebookKernel.execute: a cell is already running');
    if (this.exited) {
      return Promise.resolve({
        ok: false,
        outputs: [],
        error: { ename: 'KernelDied', evalue: 'the kernel process has exited', traceback: [] },
        faults: [],
        durationMs: 0,
      });
    }
    const id = this.nextId++;
    return new Promise<CellRun>((resolve) => {
      const pending: Pending = { id, outputs: [], faults: [], started: Date.now(), resolve };
      this.pending = pending;
      this.outputsById.set(id, pending.outputs);
      if (this.cellTimeoutMs > 0) {
        pending.timer = setTimeout(() => {
          this.finish({
            ok: false,
            error: { ename: 'Timeout', evalue: `the cell ran longer than ${this.cellTimeoutMs} ms; the kernel was stopped`, traceback: [] },
          });
          this.child.kill('SIGKILL');
        }, this.cellTimeoutMs);
      }
      this.child.send({ type: 'execute', id, code });
    });
  }

  /** Waits `ms` for late output or faults from the last cell (timers, un-awaited promises). */
  async settle(ms: number): Promise<void> {
    await new Promise((r) => setTimeout(r, ms));
  }

  /** Ends the kernel process. */
  async close(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    const kill = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    if (this.child.connected) this.child.send({ type: 'close' });
    else this.child.kill('SIGKILL');
    await exited;
    clearTimeout(kill);
  }

  private onMessage(msg: ChildMessage): void {
    if (msg.type === 'ready') return;
    const target = this.outputsById.get(msg.id);
    switch (msg.type) {
      case 'stream':
        if (target) appendStream(target, msg.name, msg.text);
        this.onStream?.(msg.name, msg.text);
        break;
      case 'display':
        target?.push({ output_type: 'display_data', data: msg.data, metadata: {} });
        break;
      case 'fault': {
        const fault: KernelFault = { kind: msg.kind, cellId: msg.id, text: msg.text };
        if (this.pending && msg.id === this.pending.id) this.pending.faults.push(fault);
        else this.lateFaults.push(fault);
        break;
      }
      case 'done':
        if (this.pending && msg.id === this.pending.id) this.finish({ ok: msg.ok, error: msg.error });
        break;
    }
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.exited = true;
    if (this.pending) {
      const fault: KernelFault = { kind: 'exit', cellId: this.pending.id, text: `the kernel process exited (code ${code}, signal ${signal})` };
      this.pending.faults.push(fault);
      this.finish({ ok: false, error: { ename: 'KernelDied', evalue: fault.text, traceback: [] } });
    }
  }

  private finish(result: { ok: boolean; error?: CellRun['error'] }): void {
    const pending = this.pending;
    if (!pending) return;
    this.pending = undefined;
    if (pending.timer) clearTimeout(pending.timer);
    // A rejection inside the cell's own run fails the cell even if its code returned normally.
    const ok = result.ok && pending.faults.length === 0;
    const error =
      result.error ??
      (ok ? undefined : { ename: pending.faults[0].kind, evalue: pending.faults[0].text.split('\n')[0], traceback: pending.faults[0].text.split('\n') });
    if (error) pending.outputs.push({ output_type: 'error', ...error });
    pending.resolve({ ok, outputs: pending.outputs, error, faults: pending.faults, durationMs: Date.now() - pending.started });
  }
}

function appendStream(outputs: NotebookOutput[], name: 'stdout' | 'stderr', text: string): void {
  const last = outputs[outputs.length - 1];
  if (last && last.output_type === 'stream' && last.name === name) last.text += text;
  else outputs.push({ output_type: 'stream', name, text });
}
