/**
 * The libvirt driver's session pool, against a scripted stand-in for virsh (the real one is in
 * test/integration/vm-libvirt): a `managedsave` holds its session until the image is written, so a
 * second guest's stop must go to a second session instead of queueing behind it.
 */
import { LibvirtHypervisor } from '../../../src/adapters/vm/libvirt';
import type { InteractiveChannel, RunResult, Transport } from '../../../src/adapters/vm/transport';

/** Answers like `virsh` does on a pipe: prompt + echoed command, output, and `echo` text on its own line. */
class ScriptedVirsh implements InteractiveChannel {
  private data: ((t: string) => void) | undefined;
  private exit: ((why: string) => void) | undefined;
  private chain: Promise<void> = Promise.resolve();
  constructor(
    readonly id: number,
    private readonly log: string[],
    private readonly gates: Map<string, Promise<void>>,
  ) {}
  write(text: string): void {
    for (const line of text.split('\n').filter((l) => l !== '')) {
      this.chain = this.chain.then(async () => {
        this.data?.(`virsh # ${line}\n`);
        const echo = /^echo (.*)$/.exec(line);
        if (echo) return this.data?.(`${echo[1]}\n`);
        this.log.push(`${this.id} begin ${line}`);
        await (this.gates.get(line) ?? Promise.resolve());
        this.log.push(`${this.id} end ${line}`);
        this.data?.(line.startsWith('list') ? ' Id   Name   State\n----\n' : '\n');
      });
    }
  }
  onData(fn: (t: string) => void): void {
    this.data = fn;
  }
  onExit(fn: (why: string) => void): void {
    this.exit = fn;
  }
  kill(): void {
    this.exit?.('killed');
  }
}

class ScriptedTransport implements Transport {
  readonly log: string[] = [];
  readonly gates = new Map<string, Promise<void>>();
  channels = 0;
  describe(): string {
    return 'local';
  }
  run(): Promise<RunResult> {
    return Promise.reject(new Error('not used'));
  }
  openChannel(): Promise<InteractiveChannel> {
    return Promise.resolve(new ScriptedVirsh(++this.channels, this.log, this.gates));
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

describe('libvirt driver: sessions side by side', () => {
  it("runs a second guest's save in a second session while the first is still saving", async () => {
    const t = new ScriptedTransport();
    const g1 = gate();
    t.gates.set("managedsave --domain 'db'", g1.promise);
    const hv = new LibvirtHypervisor({ virsh: 'virsh', uri: 'qemu:///system', timeout: 10_000, sessions: 2 }, { transport: t });
    await hv.list(); // one session is enough while nothing is busy
    expect(t.channels).toBe(1);
    const db = hv.save({ name: 'db' });
    await new Promise((r) => setTimeout(r, 20));
    await hv.save({ name: 'web' }); // finishes while db's save is still held
    expect(t.log).toContain("2 end managedsave --domain 'web'");
    expect(t.log).not.toContain("1 end managedsave --domain 'db'");
    g1.open();
    await db;
    expect(t.log.filter((l) => l.includes('managedsave'))).toEqual([
      "1 begin managedsave --domain 'db'",
      "2 begin managedsave --domain 'web'",
      "2 end managedsave --domain 'web'",
      "1 end managedsave --domain 'db'",
    ]);
    expect(hv.sessionsStarted).toBe(2);
    await hv.close();
  });

  it("keeps a test: URI to one session, whose process holds the test driver's guests", async () => {
    const t = new ScriptedTransport();
    const g1 = gate();
    t.gates.set("managedsave --domain 'test'", g1.promise);
    const hv = new LibvirtHypervisor({ virsh: 'virsh', uri: 'test:///default', timeout: 10_000, sessions: 4 }, { transport: t });
    const a = hv.save({ name: 'test' });
    const b = hv.list();
    await new Promise((r) => setTimeout(r, 20));
    expect(t.log).toEqual(["1 begin managedsave --domain 'test'"]);
    g1.open();
    await Promise.all([a, b]);
    expect(t.channels).toBe(1);
    await hv.close();
  });
});
