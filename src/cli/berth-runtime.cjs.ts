// Entry point of berth-runtime as a plain CommonJS bundle (used when no start-up snapshot exists).
import { main } from './berth-runtime/main.ts';
import { installFatalHandlers } from './fatal.ts';

installFatalHandlers('berth-runtime');
// exit at once: a natural exit frees the heap and the environment first (a few ms)
void main(process.argv.slice(2)).then((code) => process.exit(code));
