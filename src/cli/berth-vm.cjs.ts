// Entry point of berth-vm as a CommonJS bundle.
import { main } from './berth-vm/main.ts';
import { installFatalHandlers } from './fatal.ts';

installFatalHandlers('berth-vm');
void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
