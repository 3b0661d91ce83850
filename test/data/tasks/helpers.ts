// Shared by the task-reader tests: the fixture folder, a scratch folder for error cases, and an assertion that an
// error names its file and line.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** test/fixtures/tasks/NAME. */
export function fixture(name: string): string {
  return join(import.meta.dirname, '..', '..', 'fixtures', 'tasks', name);
}

let scratch: string | undefined;
/** Writes `content` (text, or bytes) to a fresh file NAME in a scratch folder and returns its path. */
export function scratchFile(name: string, content: string | Uint8Array): string {
  scratch ??= mkdtempSync(join(tmpdir(), 'pretrain-tasks-'));
  const path = join(scratch, name);
  writeFileSync(path, content);
  return path;
}

/** Asserts that `run` rejects with a message that starts `file:line:` (or `file:` when line is null) and matches `detail`. */
export async function rejectsAt(run: () => Promise<unknown>, file: string, line: number | null, detail: RegExp): Promise<void> {
  await assert.rejects(run, (err: Error) => {
    const head = line === null ? `${file}: ` : `${file}:${line}: `;
    assert.ok(err.message.startsWith(head), `expected the message to start "${head}", got: ${err.message}`);
    assert.match(err.message, detail);
    return true;
  });
}
