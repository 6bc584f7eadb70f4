// Entry point of berth-runtime.
import { main } from './berth-runtime/main.ts';

process.exitCode = await main(process.argv.slice(2));
