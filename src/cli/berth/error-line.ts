// How berth says what went wrong: one line on stderr, whatever a message quoted or forgot to (no
// control character reaches the terminal).
import { BerthError } from '../../oci/errors.ts';
import { escapeControls } from '../../oci/quote.ts';

export function errorLine(err: unknown): string {
  const line = err instanceof BerthError ? err.describe() : err instanceof Error ? err.message : String(err);
  return `berth: ${escapeControls(line)}\n`;
}
