/**
 * testpmd.ts's interactive prompt (`-i`): reads testpmd's commands (`start`, `stop`,
 * `show port stats`, `clear port stats`, `set fwd`, `help`, `quit`) and runs them in order.
 */
import { createInterface, type Interface } from 'node:readline';
import type { Testpmd } from './forwarding.js';
import { forwardModes } from './options.js';

const commandHelp = `commands:
  start                       start forwarding
  stop                        stop forwarding and show the forward statistics
  show port stats all|<id>    port counters and throughput since the last show
  clear port stats all        zero the port counters
  set fwd <mode>              ${forwardModes.join(', ')}
  help                        this list
  quit                        stop, close the ports and exit`;

/** Runs one prompt command; resolves false on `quit`. */
async function runCommand(app: Testpmd, line: string): Promise<boolean> {
  const words = line
    .trim()
    .split(/\s+/)
    .filter((word) => word.length > 0);
  const command = words.join(' ');
  if (command === '') return true;
  if (command === 'quit') return false;
  if (command === 'start') await app.start();
  else if (command === 'stop') await app.stop();
  else if (command === 'help') console.log(commandHelp);
  else if (words.length === 4 && command.startsWith('show port stats ')) app.showPortStats(words[3]);
  else if (command === 'clear port stats all') app.clearPortStats();
  else if (words.length === 3 && command.startsWith('set fwd ')) app.setForwardMode(words[2]);
  else console.log(`Unknown command '${command}'; ${commandHelp}`);
  return true;
}

/** The interactive prompt; resolves when the user quits, closes stdin or presses Ctrl-C. */
export function prompt(app: Testpmd): Promise<void> {
  return new Promise((resolve) => {
    const rl: Interface = createInterface({ input: process.stdin, output: process.stdout, prompt: 'testpmd> ' });
    let queue = Promise.resolve(true);
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      rl.close();
      void queue.then(() => resolve());
    };
    rl.on('line', (line) => {
      queue = queue.then(async (more) => {
        if (!more || done) return false;
        try {
          if (!(await runCommand(app, line))) {
            finish();
            return false;
          }
        } catch (error) {
          console.log(error instanceof Error ? error.message : String(error));
        }
        rl.prompt();
        return true;
      });
    });
    rl.on('SIGINT', finish);
    rl.on('close', finish);
    process.once('SIGTERM', finish);
    rl.prompt();
  });
}
