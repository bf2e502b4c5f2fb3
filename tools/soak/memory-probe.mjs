// Loaded into the soak's Node apps (NODE_OPTIONS="--expose-gc --import=<this file>"): on
// SIGUSR2 it collects garbage fully and writes the process's memory after that to
// $DPDK_TS_SOAK_MEMORY_FILE. V8 leaves promoted garbage in its old space until the space
// reaches a limit that an app allocating a little every few milliseconds takes many minutes
// to reach, so its RSS grows with no leak; after a full collection it is what the app keeps.
import { renameSync, writeFileSync } from 'node:fs';
import process from 'node:process';

const file = process.env.DPDK_TS_SOAK_MEMORY_FILE;
if (file !== undefined && typeof globalThis.gc === 'function') {
  const collect = globalThis.gc;
  process.on('SIGUSR2', () => {
    collect();
    // Written whole, then renamed: the soak never reads half a line.
    writeFileSync(`${file}.tmp`, JSON.stringify(process.memoryUsage()));
    renameSync(`${file}.tmp`, file);
  });
}
