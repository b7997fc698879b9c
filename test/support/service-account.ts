// A pod's service-account volume as the kubelet writes it, for the in-cluster config tests.
import { mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A service-account volume laid out as the kubelet writes it: files behind a `..data` symlink that is swapped
 * atomically. Returns a function that rotates the token (a new timestamped folder, `..data` renamed over).
 */
export function serviceAccountVolume(dir: string, files: Record<string, string>): (token: string) => void {
  let n = 0;
  const write = (content: Record<string, string>): void => {
    const ts = join(dir, `..${Date.now()}_${n++}`);
    mkdirSync(ts);
    for (const [k, v] of Object.entries(content)) writeFileSync(join(ts, k), v);
    const tmp = join(dir, '..data_tmp');
    symlinkSync(ts.slice(dir.length + 1), tmp);
    renameSync(tmp, join(dir, '..data'));
  };
  mkdirSync(dir, { recursive: true });
  write(files);
  for (const k of Object.keys(files)) symlinkSync(join('..data', k), join(dir, k));
  return (token) => write({ ...files, token });
}

