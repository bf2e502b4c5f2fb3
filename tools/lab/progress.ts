/**
 * Progress of the lab's long steps (package installs, debootstrap, image builds), so that
 * minutes of work are not minutes of silence: a step says what it does when it starts,
 * how long it has run while it runs, with the last line its program printed, and how long
 * it took. On a terminal that is one status line redrawn in place every heartbeat and as
 * output comes; elsewhere (a pipe, CI's log) a plain line every heartbeat, which a log
 * keeps readable.
 */

/** Where progress goes: a stream, a terminal when `isTTY`. */
export type ProgressStream = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

/** Options of {@link StepProgress}. */
export interface StepProgressOptions {
  /** Where to write. Default process.stdout. */
  out?: ProgressStream;
  /** How often the step says it is still running. Default 1 s on a terminal, 10 s elsewhere. */
  heartbeatMs?: number;
}

// On a terminal, output lines redraw the status line at most this often (a build prints
// thousands; the eye reads a few a second).
const redrawMs = 100;

/** One long step's progress, from its start to {@link StepProgress.end}. */
export class StepProgress {
  readonly #step: string;
  readonly #out: ProgressStream;
  readonly #tty: boolean;
  readonly #startedAt = Date.now();
  readonly #heartbeat: NodeJS.Timeout;
  #lastLine = '';
  #drawnAt = 0;
  #ended = false;

  /** Starts step `step` (what it does, e.g. `docker build dpdk-ts-lab/app`): says so, then beats. */
  constructor(step: string, options: StepProgressOptions = {}) {
    this.#step = step;
    this.#out = options.out ?? process.stdout;
    this.#tty = this.#out.isTTY === true;
    this.#out.write(`lab: ${step} ...\n`);
    this.#heartbeat = setInterval(() => this.#beat(), options.heartbeatMs ?? (this.#tty ? 1000 : 10_000));
  }

  /** One line the step's program printed: the status line shows the last one. */
  output(line: string): void {
    const text = line.trim();
    if (text === '' || this.#ended) return;
    this.#lastLine = text;
    if (this.#tty && Date.now() - this.#drawnAt >= redrawMs) this.#beat();
  }

  /** Ends the step: the status line gives way to `lab: STEP: done in 12.3 s` (or `failed after`). */
  end(ok: boolean): void {
    if (this.#ended) return;
    this.#ended = true;
    clearInterval(this.#heartbeat);
    const outcome = `${ok ? 'done in' : 'failed after'} ${this.#elapsedS().toFixed(1)} s`;
    this.#out.write(`${this.#tty ? '\r\x1b[K' : ''}lab: ${this.#step}: ${outcome}\n`);
  }

  #elapsedS(): number {
    return (Date.now() - this.#startedAt) / 1000;
  }

  // A status line: on a terminal over the previous one (cut to its width: a wrapped line
  // could not be redrawn), elsewhere as a line of its own.
  #beat(): void {
    this.#drawnAt = Date.now();
    const status = `lab: ${this.#step}: ${Math.floor(this.#elapsedS())} s${this.#lastLine === '' ? '' : `: ${this.#lastLine}`}`;
    if (this.#tty) this.#out.write(`\r${status.slice(0, (this.#out.columns ?? 80) - 1)}\x1b[K`);
    else this.#out.write(`${status}\n`);
  }
}
