import type { Secret } from '../core/secret';
import { BlackstartError } from '../core/errors';

/** A secret as written in config; the loader resolves it so `check` can report a missing one. */
export class SecretRef {
  #secret: Secret | undefined;

  constructor(
    readonly source: Readonly<{ from: 'env'; name: string } | { from: 'file'; path: string } | { from: 'inline'; value: string }>,
    /** The YAML key it was written under, for error messages. */
    readonly field: string,
  ) {}

  get inline(): boolean {
    return this.source.from === 'inline';
  }

  resolve(secret: Secret): void {
    this.#secret = secret;
  }

  /** The resolved secret; throws if the loader has not resolved it. */
  get secret(): Secret {
    if (!this.#secret) throw new BlackstartError('INTERNAL', `secret ${this.field} used before the config was loaded`);
    return this.#secret;
  }

  toJSON(): string {
    return this.source.from === 'env' ? `[secret from $${this.source.name}]` : this.source.from === 'file' ? `[secret from file]` : '[secret]';
  }
}

/** A file named in config; the loader turns the path into an absolute one and checks it is readable. */
export class FileRef {
  #absolute: string | undefined;

  constructor(
    readonly written: string,
    /** A file Blackstart writes (the journal): made absolute, but it need not exist yet. */
    readonly mayCreate = false,
  ) {}

  resolve(absolute: string): void {
    this.#absolute = absolute;
  }

  get path(): string {
    return this.#absolute ?? this.written;
  }

  toJSON(): string {
    return this.path;
  }
}
