// Regenerates native/plan-ops.generated.h from the plan schema (see src/sys/plan-header.ts).
import { writeFileSync } from 'node:fs';
import { planHeader } from '../src/sys/plan-header.ts';

writeFileSync(new URL('../native/plan-ops.generated.h', import.meta.url), planHeader());
