/**
 * What NUT's primary upsmon does before its own shutdown, as a step of the outage plan: set FSD on
 * the UPS, then wait (bounded) until every secondary logged into it has logged out, that is, has
 * run its own shutdown. Hosts that only speak NUT go down before the controller and the UPS outlets.
 */
import type { Logger } from '../../core/logger';
import type { FinalStep } from '../../orchestrator/shutdown-run';
import type { NutServer } from './server';

export function fsdFinalStep(server: NutServer, ups: string, waitMs: number, log: Logger): FinalStep {
  return {
    name: 'nut_fsd',
    run: async () => {
      const before = server.clients(ups).map((c) => `${c.user}@${c.address}`);
      server.setFsd(ups, 'outage plan');
      if (before.length === 0) {
        log.info({ ups }, 'NUT: FSD set; no NUT client is logged in');
        return;
      }
      log.info({ ups, logged_in: before, wait_ms: waitMs }, 'NUT: FSD set; waiting for the logged-in clients to log out');
      const { remaining, tookMs } = await server.waitForLogouts(ups, waitMs);
      if (remaining.length === 0) {
        log.info({ ups, took_ms: tookMs }, 'NUT: every client logged out after FSD');
      } else {
        log.warn(
          { ups, still_logged_in: remaining.map((c) => `${c.user}@${c.address}`), waited_ms: tookMs },
          'NUT: clients still logged in when fsd_wait ran out; the shutdown goes on without them',
        );
      }
    },
  };
}
