// Entry point of berth, the developer CLI.
import { main } from './berth/main.ts';

process.exitCode = await main(process.argv.slice(2));
