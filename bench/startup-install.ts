/**
 * Installs Spillway as a user gets it, for the benchmarks: `npm pack` (which builds dist/) and
 * `npm install -g --prefix DIR spillway-X.tgz`, then returns the `spillway` command npm put on DIR/bin.
 * Only runtime dependencies are installed; the registry (or npm's cache) provides them.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

export function installPackage(dir: string): string {
  const root = resolve(dir);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', root], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })) as { filename: string }[];
  const tarball = join(root, packed[0]!.filename);
  const prefix = join(root, 'prefix');
  execFileSync('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', '--loglevel', 'error', tarball], { stdio: ['ignore', 'ignore', 'inherit'] });
  const bin = join(prefix, 'bin', 'spillway');
  if (!existsSync(bin)) throw new Error(`npm install did not create ${bin}`);
  return bin;
}

/** `--bin PATH` reuses an installed `spillway`; otherwise a fresh install under DIR. */
export function spillwayBin(dir: string): string {
  const i = process.argv.indexOf('--bin');
  if (i >= 0 && process.argv[i + 1]) return resolve(process.argv[i + 1]!);
  process.stdout.write(`installing the packed package under ${dir} ...\n`);
  return installPackage(dir);
}
