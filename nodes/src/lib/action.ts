/**
 * The half every action node shares (power, vm power): a busy dot while it runs, the result as the
 * message's payload, a failure to Catch nodes with the message, and the ok dot once the last of
 * several overlapping actions is over.
 */
import { payloads, toBlackstartError, type BlackstartSource, type CommandResult } from 'blackstart';
import { linkToBlackstart } from './link';
import { resultError } from './msg';
import type { DoneFn, NodeAPI, NodeMessage, RedNode, SendFn } from './red';
import { statusOf, statusSetter } from './status';

export interface ActionJob {
  /** For the status dot: `shutdown nas`. */
  label: string;
  /** For the error: `shutdown on "nas"`. */
  what: string;
  /** msg.topic of the answer (never msg.host & co: a chained node would take them as overrides). */
  topic: string;
  execute(source: BlackstartSource): Promise<CommandResult>;
}

export function actionRunner(node: RedNode, source: () => Promise<BlackstartSource>) {
  const show = statusSetter(node);
  let running = 0;
  return async (msg: NodeMessage, send: SendFn, done: DoneFn, job: ActionJob): Promise<void> => {
    const s = await source();
    running++;
    show(statusOf('busy', job.label));
    const result = await job.execute(s).finally(() => running--);
    msg.payload = payloads.resultPayload(result);
    msg.topic = job.topic;
    if (!result.ok) {
      show(statusOf('failed', `${job.label}: ${result.error?.code ?? ''}`));
      done(resultError(result, job.what));
      return;
    }
    if (running === 0) show(statusOf('ok', job.label));
    send(msg);
    done();
  };
}

/**
 * An action node's link to Blackstart: it follows no state, so its dot says "ready" while Blackstart
 * runs; returns the runner for its input handler.
 */
export function actionNode(RED: NodeAPI, node: RedNode, serverId: unknown): ReturnType<typeof actionRunner> {
  const show = statusSetter(node);
  const link = linkToBlackstart(RED, node, serverId, {
    attach: () => () => undefined,
    render: () => show(statusOf('ready')),
  });
  return actionRunner(node, () => link.source());
}

/** An input handler's body; whatever it throws shows as the failed dot and goes to Catch with the message. */
export async function guarded(node: RedNode, done: DoneFn, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    const e = toBlackstartError(err);
    statusSetter(node)(statusOf('failed', e.code));
    done(e);
  }
}
