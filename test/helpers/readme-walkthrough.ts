/**
 * The README's walkthrough as files: every fenced code block whose info string carries
 * `title="FILE"` (```ts title="nf.ts"), by file name, so that tests run the code a reader
 * pastes, from this checkout or from an installed package.
 */

/**
 * The files of the walkthrough in `readme` (a README's Markdown text), by name, in the
 * order they appear; their text is the block's content, ending with a newline.
 *
 * @throws Error when two blocks name the same file, or when there is none.
 */
export function walkthroughFiles(readme: string): Map<string, string> {
  const files = new Map<string, string>();
  // An opening fence of three or more backticks, its info string, the content, and a
  // closing fence as long as the opening one (CommonMark); fences at the line's start.
  const block = /^(`{3,})([^`\n]*)\n([\s\S]*?)^\1[ \t]*$/gm;
  for (const [, , info, content] of readme.matchAll(block)) {
    const title = /(?:^|\s)title="([^"]+)"/.exec(info)?.[1];
    if (title === undefined) continue;
    if (files.has(title)) throw new Error(`The README has two blocks titled ${JSON.stringify(title)}`);
    files.set(title, content);
  }
  if (files.size === 0) throw new Error('The README has no code block with title="FILE"');
  return files;
}
