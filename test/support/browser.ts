// The Chromium the browser tests drive with playwright-core: AP_CHROMIUM when set, else a system Chromium
// or Chrome on PATH, else the one in the @sparticuz/chromium package (a devDependency: its binary ships
// inside the npm package and is unpacked to the temp directory on first use), so that `npm install &&
// npm test` needs no browser on the machine (issue 19). Its binary links only libc, libgcc and libexpat.
import fs from 'node:fs';
import path from 'node:path';

export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'];
const SYSTEM_NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'];

/** The first executable of those names on PATH. */
function onPath(names: string[]): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    for (const name of names) {
      const file = path.join(dir, name);
      try {
        fs.accessSync(file, fs.constants.X_OK);
        if (fs.statSync(file).isFile()) return file;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

export async function chromiumExecutable(): Promise<{ path: string; source: 'AP_CHROMIUM' | 'system' | '@sparticuz/chromium' }> {
  if (process.env.AP_CHROMIUM) return { path: process.env.AP_CHROMIUM, source: 'AP_CHROMIUM' };
  const system = onPath(SYSTEM_NAMES);
  if (system) return { path: system, source: 'system' };
  // An ES module: imported when it is needed.
  const { default: sparticuz } = await import('@sparticuz/chromium');
  return { path: await sparticuz.executablePath(), source: '@sparticuz/chromium' };
}
