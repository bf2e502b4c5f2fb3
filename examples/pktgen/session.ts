/**
 * pktgen.ts's run once its ports are up: the commands of the command line in order, then
 * either `--wait-done` (wait for the counts, exit 0 or 2) or the prompt (until `quit` or
 * EOF), with the live view meanwhile, and at the end the final table and the JSON report.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { createInterface, type Interface } from 'node:readline';
import { DpdkError } from '../../lib/index.js';
import { UsageError } from '../app.js';
import { commandHelp, parseCommand, type Command, type ScriptCommand } from './commands.js';
import { notice, progressLine, statsTable } from './display.js';
import type { Pktgen } from './generator.js';
import type { AppOptions } from './options.js';
import { runProbe } from './probe.js';
import type { PktgenReport, ProbeReport, SearchReport, Timeline, TimelineSample, LinkChange } from './report.js';
import { PktgenScreen, PortSampler, screenPage, type PortRates } from './screen.js';
import { runSearch, searchSummary } from './search.js';

/** Exit status of --wait-done when --timeout passed before the counts were reached. */
export const exitTimeout = 2;

/**
 * One run of pktgen.ts on a started generator: {@link Session.run} carries out the
 * commands, then waits or prompts, and reports. Signals stop it with the final report too.
 */
export class Session {
  readonly #app: Pktgen;
  readonly #options: AppOptions;
  // With --json -, stdout holds the JSON line alone: what people read goes to stderr.
  readonly #human: NodeJS.WriteStream;
  readonly #startedAt = Date.now();
  // The screen of a terminal (the page above the command line), for a person at the prompt;
  // the page shows the rates sampled at each tick.
  readonly #screen: PktgenScreen | null;
  readonly #rates: { sampler: PortSampler; last: PortRates } | null;
  // The prompt, once it reads commands: a resize of the screen redraws its line.
  #readline: Interface | undefined;
  #ticker: NodeJS.Timeout | undefined;
  // The last search's result, for the final report; the running search's abort.
  #search: SearchReport | undefined;
  #searchAbort: AbortController | undefined;
  // --timeline: the samples and link changes so far, and the timer that samples.
  #timeline: Timeline | undefined;
  #timelineTimer: NodeJS.Timeout | undefined;
  // --timeline-file: the lines not written yet (written once a second, and at the end).
  #timelinePending: string[] = [];
  // Each probe's result, for the final report.
  readonly #probes: ProbeReport[] = [];

  /** A session of `app` with the options of the command line; nothing is shown yet. */
  constructor(app: Pktgen, options: AppOptions) {
    this.#app = app;
    this.#options = options;
    this.#human = options.jsonPath === '-' ? process.stderr : process.stdout;
    const interactive = !options.waitDone;
    if (interactive && process.stdout.isTTY && process.stdin.isTTY) {
      const sampler = new PortSampler(app);
      const rates = { sampler, last: sampler.sample() };
      this.#rates = rates;
      this.#screen = new PktgenScreen(process.stdout, (columns) =>
        screenPage(app, rates.last, (Date.now() - this.#startedAt) / 1000, columns),
      );
    } else {
      this.#rates = null;
      this.#screen = null;
    }
  }

  /**
   * Runs `commands`, then (unless they quit) waits for the counts with --wait-done or reads
   * commands at the prompt; resolves to the exit status. A failing command of the command
   * line is a UsageError that says where it comes from.
   */
  async run(commands: ScriptCommand[]): Promise<number> {
    const app = this.#app;
    this.#open();
    for (const { command, text, source } of commands) {
      try {
        if (await this.#execute(command, text)) {
          clearInterval(this.#ticker);
          await this.#finishAndLinger(app.done());
          return 0;
        }
      } catch (error) {
        clearInterval(this.#ticker);
        app.close();
        if (error instanceof UsageError || error instanceof DpdkError)
          throw new UsageError(`${source}: ${error.message}`);
        throw error;
      }
    }
    return this.#options.waitDone ? this.#waitDone() : this.#prompt();
  }

  #say(text: string): void {
    this.#human.write(`${text}\n`);
  }

  // Shows the live view, stops with the final report on a signal, samples rates every second.
  #open(): void {
    const app = this.#app;
    const screen = this.#screen;
    if (screen !== null) {
      screen.open();
      process.stdout.on('resize', () => {
        if (screen.resize()) this.#readline?.prompt(true);
      });
    }
    // A readline prompt on a terminal turns Ctrl-C into its own SIGINT event (handled below).
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.once(signal, () => {
        screen?.close();
        notice(`${signal}: stopping`);
        this.#finish(app.done());
        process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
      });
    }
    if (this.#options.timelineMs > 0) this.#startTimeline(this.#options.timelineMs);
    this.#ticker = setInterval(() => {
      app.sampleRates();
      if (screen !== null && this.#rates !== null) {
        this.#rates.last = this.#rates.sampler.sample();
        screen.redraw();
      } else if (app.running) this.#say(progressLine(app, (Date.now() - this.#startedAt) / 1000));
    }, 1000);
  }

  // --timeline: samples the ports' counters every `intervalMs` and records their link
  // changes, with the time since the start; the final report carries them.
  #startTimeline(intervalMs: number): void {
    const app = this.#app;
    const file = this.#options.timelineFile;
    const timeline: Timeline = {
      intervalMs,
      startedAtMs: this.#startedAt,
      samples: [],
      links: [],
      ...(file === undefined ? {} : { file }),
    };
    this.#timeline = timeline;
    if (file !== undefined) {
      try {
        writeFileSync(file, `${JSON.stringify({ intervalMs, startedAtMs: this.#startedAt })}\n`);
      } catch (error) {
        throw new UsageError(`--timeline-file ${file}: cannot write it: ${(error as Error).message}`);
      }
    }
    // With --timeline-file an entry is a line to write, never kept: memory stays flat
    // however long the run.
    const record = (entry: TimelineSample | LinkChange): void => {
      if (file === undefined) {
        if ('sent' in entry) timeline.samples.push(entry);
        else timeline.links.push(entry);
        return;
      }
      this.#recordLine(JSON.stringify(entry), intervalMs);
    };
    // Read into the same two arrays every time (app.counts allocates nothing): with
    // --timeline-file a sample leaves only its line behind, not a report per port.
    const sent = app.ports.map(() => 0);
    const received = app.ports.map(() => 0);
    const sample = (): void => {
      app.counts(sent, received);
      const atMs = Date.now() - this.#startedAt;
      if (file === undefined) record({ atMs, sent: [...sent], received: [...received] });
      else
        this.#recordLine(`{"atMs":${atMs},"sent":[${sent.join(',')}],"received":[${received.join(',')}]}`, intervalMs);
    };
    app.ports.forEach((port, index) =>
      port.on('link', (status) => record({ atMs: Date.now() - this.#startedAt, port: index, up: status.up })),
    );
    sample();
    this.#timelineTimer = setInterval(sample, intervalMs);
  }

  // --timeline-file: keeps `line` to append with the others at the next flush (once a second).
  #recordLine(line: string, intervalMs: number): void {
    this.#timelinePending.push(line);
    if (this.#timelinePending.length * intervalMs >= 1000) this.#flushTimeline();
  }

  // --timeline-file: appends the lines recorded since the last flush.
  #flushTimeline(): void {
    const file = this.#options.timelineFile;
    if (file === undefined || this.#timelinePending.length === 0) return;
    const text = `${this.#timelinePending.join('\n')}\n`;
    this.#timelinePending = [];
    try {
      appendFileSync(file, text);
    } catch (error) {
      notice(`--timeline-file ${file}: ${(error as Error).message}`);
    }
  }

  // Runs one command; returns true for quit.
  async #execute(command: Command, text: string): Promise<boolean> {
    switch (command.verb) {
      case 'quit':
        return true;
      case 'help':
        this.#say(commandHelp);
        return false;
      case 'show':
        this.#say(statsTable(this.#app));
        return false;
      case 'delay':
        await new Promise((resolve) => setTimeout(resolve, command.ms));
        return false;
      case 'probe': {
        const probe = await runProbe(this.#app, command.timeoutS);
        this.#probes.push(probe);
        this.#say(`probe: the path delivered after ${probe.ms} ms (${probe.rounds} rounds, ${probe.lost} probes lost)`);
        return false;
      }
      case 'wait':
        await this.#waitCounts(command.timeoutS ?? this.#options.timeoutS, text);
        return false;
      case 'search': {
        this.#searchAbort = new AbortController();
        try {
          const say = (line: string): void => this.#say(line);
          this.#search = await runSearch(this.#app, command.ports, command.search, text, say, this.#searchAbort.signal);
        } finally {
          this.#searchAbort = undefined;
        }
        this.#say(searchSummary(this.#search));
        return false;
      }
      default:
        await this.#app.execute(command, text);
        return false;
    }
  }

  // Stops, prints the table and writes the JSON report; closes the ports unless `keepOpen`.
  #finish(complete: boolean | null, keepOpen = false): void {
    const app = this.#app;
    const options = this.#options;
    clearInterval(this.#timelineTimer);
    this.#flushTimeline();
    app.stop();
    this.#say(statsTable(app));
    if (this.#search !== undefined) this.#say(searchSummary(this.#search));
    const report: PktgenReport = {
      complete,
      elapsedMs: Date.now() - this.#startedAt,
      lineRateMbps: options.lineRateMbps,
      ports: app.reports(),
      ...(this.#search === undefined ? {} : { search: this.#search }),
      ...(this.#timeline === undefined ? {} : { timeline: this.#timeline }),
      ...(this.#probes.length === 0 ? {} : { probes: this.#probes }),
    };
    const json = JSON.stringify(report);
    if (!keepOpen) app.close();
    if (options.jsonPath === undefined) return;
    if (options.jsonPath === '-') {
      process.stdout.write(`${json}\n`);
      return;
    }
    try {
      writeFileSync(options.jsonPath, `${json}\n`);
    } catch (error) {
      throw new UsageError(`--json ${options.jsonPath}: cannot write the report: ${(error as Error).message}`);
    }
  }

  // The final report at the end of the commands or of --wait-done; --linger keeps the ports
  // open a while after it, so that a switch's counters of them can still be read.
  async #finishAndLinger(complete: boolean | null): Promise<void> {
    const lingerMs = this.#options.lingerMs;
    this.#finish(complete, lingerMs > 0);
    if (lingerMs > 0) {
      await new Promise((resolve) => setTimeout(resolve, lingerMs));
      this.#app.close();
    }
  }

  // Waits until the counts are reached (app.done()) or `timeoutS` passes; says which.
  async #waitCounts(timeoutS: number, what: string): Promise<boolean> {
    const app = this.#app;
    const deadline = Date.now() + timeoutS * 1000;
    while (app.done() !== true && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    const complete = app.done() === true;
    if (!complete) notice(`${what}: the counts were not reached within ${timeoutS} s`);
    return complete;
  }

  async #waitDone(): Promise<number> {
    const app = this.#app;
    const options = this.#options;
    const problem = !app.started
      ? 'the commands started no run: end them with str'
      : app.done() === null
        ? 'the run has no port with a count, so it never ends'
        : null;
    if (problem !== null) {
      clearInterval(this.#ticker);
      app.close();
      throw new UsageError(`--wait-done: ${problem}, e.g. --commands "set 0 count 100; str"`);
    }
    const complete = await this.#waitCounts(options.timeoutS, `--timeout ${options.timeoutS}`);
    clearInterval(this.#ticker);
    await this.#finishAndLinger(complete);
    return complete ? 0 : exitTimeout;
  }

  #prompt(): Promise<number> {
    const app = this.#app;
    const screen = this.#screen;
    const prompt: Interface = createInterface({
      input: process.stdin,
      output: this.#human,
      prompt: 'pktgen> ',
      terminal: screen !== null,
    });
    this.#readline = prompt;
    // Prompts only for a person at a terminal, not for commands piped in.
    const showPrompt = process.stdin.isTTY ? (): void => prompt.prompt() : (): void => undefined;
    return new Promise<number>((resolve, reject) => {
      let queue = Promise.resolve();
      let quitting = false;
      const quit = (): void => {
        if (quitting) return;
        quitting = true;
        clearInterval(this.#ticker);
        screen?.close();
        prompt.close();
        this.#finishAndLinger(app.done()).then(() => resolve(0), reject);
      };
      prompt.on('line', (line) => {
        queue = queue.then(async () => {
          if (quitting) return;
          try {
            const command = parseCommand(line);
            if (command !== null && (await this.#execute(command, line.trim()))) quit();
          } catch (error) {
            if (!(error instanceof UsageError || error instanceof DpdkError)) throw error;
            this.#say(`error: ${error.message}`);
          }
          if (!quitting) showPrompt();
        });
      });
      prompt.on('close', () => void queue.then(quit));
      // Ctrl-C ends a running search (with what it found so far), then quits.
      prompt.on('SIGINT', () => {
        this.#searchAbort?.abort();
        void queue.then(quit);
      });
      showPrompt();
    });
  }
}
