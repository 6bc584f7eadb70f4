// Dockerfile errors name the file, the line and column, and what was expected:
//   Dockerfile:7:6: COPY: unknown flag --form (expected one of --from, --chown, --chmod, ...)

import { invalid, type BerthError } from '../../oci/errors.ts';

export interface SourcePosition {
  file: string;
  line: number;
  /** 1-based; 1 when only the line is known. */
  column: number;
}

export function dockerfileError(at: SourcePosition, message: string): BerthError {
  return invalid(`${at.file}:${at.line}:${at.column}: ${message}`, { path: at.file, field: `line ${at.line}, column ${at.column}` });
}
