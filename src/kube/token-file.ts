/**
 * A bearer token kept in a file its owner replaces: the kubelet rotates a pod's projected service-account token
 * (by swapping the `..data` symlink of the volume) well before the old one expires, and nothing tells the process.
 * The file is looked at again at most once per `checkMs`: it is read again when it changed (inode, size or mtime)
 * or when `maxAgeMs` passed since the last read (client-go re-reads every minute; this also catches a rewrite
 * in place within the same mtime tick). A 401 asks for an immediate re-read (`refresh`).
 *
 * Errors name the file, never its contents. A file that is briefly missing or empty while it is being swapped
 * keeps the last token.
 */
import { readFileSync, statSync } from 'node:fs';

export interface TokenFileOptions {
  /** Look at the file at most this often. @default 1000 */
  checkMs?: number;
  /** Read it again after this long even if it looks unchanged. @default 60000 */
  maxAgeMs?: number;
  now?: () => number;
}

export class TokenFile {
  private token: string | undefined;
  private identity = '';
  private checkedAt = -Infinity;
  private readAt = -Infinity;
  /** How many times the file was read (tests). */
  reads = 0;

  constructor(readonly path: string, private readonly o: TokenFileOptions = {}) {}

  /** The current token; throws when the file cannot be read and no token was read before. */
  get(): string {
    const now = (this.o.now ?? Date.now)();
    if (this.token !== undefined && now - this.checkedAt < (this.o.checkMs ?? 1_000)) return this.token;
    this.checkedAt = now;
    let identity: string;
    try {
      const s = statSync(this.path);
      identity = `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}`;
    } catch (e) {
      if (this.token !== undefined) return this.token;
      throw new Error(`token file ${this.path} cannot be read: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    if (this.token !== undefined && identity === this.identity && now - this.readAt < (this.o.maxAgeMs ?? 60_000)) return this.token;
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8').trim();
    } catch (e) {
      if (this.token !== undefined) return this.token;
      throw new Error(`token file ${this.path} cannot be read: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    this.reads++;
    if (text === '') {
      if (this.token !== undefined) return this.token;
      throw new Error(`token file ${this.path} is empty`);
    }
    this.token = text;
    this.identity = identity;
    this.readAt = now;
    return text;
  }

  /** Reads the file now (after a 401); true when that gave a different token. */
  refresh(): boolean {
    const before = this.token;
    this.checkedAt = -Infinity;
    this.readAt = -Infinity;
    this.identity = '';
    try {
      return this.get() !== before;
    } catch {
      return false;
    }
  }
}
