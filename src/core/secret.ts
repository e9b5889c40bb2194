import { inspect } from 'node:util';

const REDACTED = '[secret]';

/**
 * A password, key or token. It prints as `[secret]` through JSON, util.inspect and
 * string conversion, so a secret cannot leak into a log line or an MQTT payload by accident;
 * only `reveal()` gives the value, at the one place that needs it.
 */
export class Secret {
  readonly #value: string;
  /** Where the value came from (`env MQTT_PASSWORD`, `file /run/secrets/x`, `inline`), safe to log. */
  readonly origin: string;

  constructor(value: string, origin: string) {
    this.#value = value;
    this.origin = origin;
  }

  reveal(): string {
    return this.#value;
  }

  toJSON(): string {
    return REDACTED;
  }

  toString(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return `Secret(${this.origin})`;
  }
}
