// A Dockerfile's text to its stages: directives, global ARGs, and each stage's typed instructions.

import { scanDockerfile } from './dockerfile-lines.ts';
import { heredocsInLine, HEREDOC_INSTRUCTIONS } from './heredoc.ts';
import { parseJsonArgs, splitInstruction } from './instruction-words.ts';
import type { InstructionOf, ParsedDockerfile, Stage } from './instructions.ts';
import { parseInstruction } from './parse-instruction.ts';
import { dockerfileError } from './parse-error.ts';

/** Whether a line can open heredocs: RUN/COPY/ADD (or ONBUILD of one) in shell form. */
function opensHeredocs(line: string): boolean {
  let split = splitInstruction(line);
  if (split.keyword === 'onbuild') split = splitInstruction(split.rest);
  if (!HEREDOC_INSTRUCTIONS.has(split.keyword)) return false;
  const j = parseJsonArgs(split.rest);
  return !('json' in j && j.json);
}

export function parseDockerfile(source: string, file = 'Dockerfile'): ParsedDockerfile {
  const scanned = scanDockerfile(source, { file, opensHeredocs, heredocsOf: heredocsInLine });
  const { escape } = scanned.directives;
  const globalArgs: InstructionOf<'arg'>[] = [];
  const stages: Stage[] = [];
  const warnings = [...scanned.warnings];
  const syntax = scanned.directives.syntax;
  if (syntax !== undefined && !/^(docker\.io\/)?docker\/dockerfile(-upstream)?([:@]|$)/.test(syntax)) {
    warnings.push({ line: 1, message: `# syntax=${syntax}: berth builds with its own Dockerfile frontend and does not run this one` });
  }
  for (const line of scanned.lines) {
    const ins = parseInstruction({ text: line.text, line: line.startLine, endLine: line.endLine, column: line.column, firstLength: line.firstLength, heredocs: line.heredocs }, file, escape);
    if (ins.kind === 'from') {
      stages.push({ index: stages.length, name: ins.name, from: ins, instructions: [] });
      continue;
    }
    const stage = stages[stages.length - 1];
    if (!stage) {
      if (ins.kind === 'arg') {
        globalArgs.push(ins);
        continue;
      }
      throw dockerfileError({ file, line: ins.line, column: ins.column }, `${ins.kind.toUpperCase()} before the first FROM: only ARG may come before FROM`);
    }
    if ((ins.kind === 'env' || ins.kind === 'label') && ins.pairs.some((p) => p.legacy)) {
      warnings.push({ line: ins.line, message: `"${ins.kind.toUpperCase()} key value" is a legacy form: use ${ins.kind.toUpperCase()} key=value` });
    }
    if (ins.kind === 'maintainer') warnings.push({ line: ins.line, message: 'MAINTAINER is deprecated: use LABEL org.opencontainers.image.authors=...' });
    stage.instructions.push(ins);
  }
  if (stages.length === 0) throw dockerfileError({ file, line: scanned.lines[scanned.lines.length - 1]!.endLine, column: 1 }, 'no build stage: expected a FROM instruction');
  return { file, syntax: scanned.directives.syntax, check: scanned.directives.check, escape, globalArgs, stages, warnings };
}
