/** The part of node-red-node-test-helper (which ships no types) these tests use. */
declare module 'node-red-node-test-helper' {
  import type { EventEmitter } from 'node:events';

  interface SpyCall {
    args: unknown[];
  }
  export interface TestNode extends EventEmitter {
    id: string;
    receive(msg: Record<string, unknown>): void;
    on(event: 'input', fn: (msg: Record<string, unknown>) => void): this;
    on(event: `call:${string}`, fn: (call: SpyCall) => void): this;
  }
  type NodeModule = (RED: never) => void;
  interface Helper {
    init(runtimePath: string, settings?: Record<string, unknown>): void;
    load(nodes: NodeModule | NodeModule[], flow: Record<string, unknown>[], credentials?: Record<string, Record<string, string>>): Promise<void>;
    unload(): Promise<void>;
    getNode(id: string): TestNode;
    startServer(): Promise<void>;
    stopServer(): Promise<void>;
  }
  const helper: Helper;
  export = helper;
}
