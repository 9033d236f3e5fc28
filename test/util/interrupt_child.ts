/** Child process for interrupt.test.ts: an atomic folder build and a download, both still running when it is stopped. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildDirAtomic } from '../../lib/util/atomic';
import { download } from '../../lib/util/download';
import { installInterruptHandler } from '../../lib/util/interrupt';

const [url, dest, dir] = process.argv.slice(2);
installInterruptHandler();
let started = 0;
const tell = (): void => {
  if (++started === 2) process.stdout.write('ready\n');
};
void buildDirAtomic(dir, async (tmp) => {
  fs.writeFileSync(path.join(tmp, 'half-done.png'), Buffer.alloc(1000));
  tell();
  await new Promise(() => undefined);
});
let received = false;
void download(url, dest, {
  quiet: true,
  onProgress: (n) => {
    if (n > 0 && !received) {
      received = true;
      tell();
    }
  },
});
