/**
 * `npm run charts -- RESULT.json...`: (re)draws the SVG charts of saved bench or lab results,
 * beside each file (`latest.json` -> `latest-rate.svg`, ...).
 */
import { writeCharts } from './index.js';

async function main(paths: string[]): Promise<number> {
  if (paths.length === 0 || paths.some((path) => path.startsWith('-'))) {
    console.error('usage: npm run charts -- RESULT.json... (a result of npm run bench or npm run lab)');
    return 2;
  }
  for (const path of paths) {
    const written = await writeCharts(path);
    console.log(written.length === 0 ? `${path}: no experiment compared forwarders, no charts` : written.join('\n'));
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`charts: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
