// Entry point of berth, the developer CLI.
import { main } from './berth/main.ts';
import { installFatalHandlers } from './fatal.ts';

// docker's CLI: a failure of its own is 1.
installFatalHandlers('berth', () => 1);
process.exitCode = await main(process.argv.slice(2));
