/**
 * What every way of shutting a host down (HTTP recipe, local command, SSH, IPMI soft-off, agent)
 * offers, so the CLI, the orchestrator and the MQTT `shutdown` action treat them alike.
 */

export interface ShutdownStep {
  /** The step's name as the user would recognise it (`login`, `shutdown`, `exec`). */
  readonly name: string;
  /** HTTP status, exit code, or whatever the method's step answered with; absent in a dry run. */
  readonly status?: number | string;
  readonly tookMs: number;
}

export interface ShutdownOutcome {
  /** The method's kind: `http`, `command`, `ssh`, … */
  readonly method: string;
  readonly dryRun: boolean;
  readonly steps: readonly ShutdownStep[];
  readonly tookMs: number;
  /**
   * Captured output (truncated), or in a dry run the exact description of what would be sent,
   * with secrets masked.
   */
  readonly output?: string;
}

export interface ShutdownRunOptions {
  /** Say exactly what would be sent, and send nothing that changes state. */
  readonly dryRun?: boolean;
  readonly signal?: AbortSignal;
}

export interface ShutdownMethod {
  readonly kind: string;
  /** One line, secrets masked, e.g. `http recipe terastation at http://nas.lan/`. */
  describe(): string;
  /** Resolves when the host accepted the shutdown; rejects with a BlackstartError otherwise. */
  run(opts?: ShutdownRunOptions): Promise<ShutdownOutcome>;
}
