import { buildCli } from './build.js';

/** Integration tests run the real CLI from dist/, as `npm run build` makes it: build it once before they start. */
export default function setup(): void {
  buildCli(process.cwd(), (m) => process.stderr.write(`${m}\n`));
}
