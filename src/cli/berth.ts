// Entry point of berth, the developer CLI.
import { main } from './berth/main.ts';
import { installFatalHandlers } from './fatal.ts';

installFatalHandlers('berth');
process.exitCode = await main(process.argv.slice(2));
