/**
 * The lab's backstop: synchronous cleanups that run when the process exits or is ended by
 * SIGINT (Ctrl-C), SIGTERM or SIGHUP, so that no container, daemon or app outlives it.
 */

const cleanups = new Set<() => void>();
let hooksInstalled = false;

function runCleanups(): void {
  for (const cleanup of [...cleanups]) {
    cleanups.delete(cleanup);
    try {
      cleanup();
    } catch {
      // A backstop must not stop the others: each one cleans up what it can.
    }
  }
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', runCleanups);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      runCleanups();
      process.removeListener(signal, onSignal);
      // With no other listener the signal is raised again so the process ends as it would
      // have without this hook; other listeners (test runners, the lab CLI) decide themselves.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

/**
 * Registers `cleanup` (synchronous: the process may be about to end) to run once when the
 * process exits or is signalled. Returns a function that unregisters it, for when the
 * resource was released normally.
 */
export function onProcessEnd(cleanup: () => void): () => void {
  installHooks();
  cleanups.add(cleanup);
  return () => {
    cleanups.delete(cleanup);
  };
}
