// Entry point of berthd, the CRI daemon.
import { main } from './berthd/main.ts';
import { installFatalHandlers } from './fatal.ts';

installFatalHandlers('berthd');
process.exitCode = await main(process.argv.slice(2));
