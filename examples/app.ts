/**
 * What the command-line programs share: the examples' start (command line split at `--`,
 * application options parsed, EAL initialized with the prepared arguments) and UsageError,
 * the one error for a bad command-line argument.
 */
import { Eal, prepareEalArgs, splitCommandLine } from '../lib/index.js';

/** A bad command-line argument: the program prints it with its usage and exits with 2. */
export class UsageError extends Error {}

/**
 * How every example starts: splits the command line at `--`, parses the application's part
 * (a UsageError prints the message and usage: exit code 2; 'help' prints the usage: 0),
 * then initializes EAL with the prepared EAL arguments, printing what was adapted (a
 * refusal: 1). Returns the options, or the exit code to end with.
 */
export function startApp<Options extends object>(
  name: string,
  usage: string,
  parse: (args: string[]) => Options | 'help',
): Options | number {
  const { eal, app } = splitCommandLine(process.argv.slice(2));
  let options: Options | 'help';
  try {
    options = parse(app);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`${name}: ${error.message}\n${usage}`);
    return 2;
  }
  if (options === 'help') {
    console.log(usage);
    return 0;
  }
  const prepared = prepareEalArgs(eal);
  for (const note of prepared.notes) console.error(`${name}: note: ${note}`);
  try {
    Eal.init(prepared.args);
  } catch (error) {
    console.error(`${name}: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  return options;
}

/** Rows as aligned columns, two spaces apart, without trailing spaces (missing cells are empty). */
export function formatTable(rows: readonly (readonly string[])[]): string {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
