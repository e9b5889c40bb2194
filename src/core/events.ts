/** Events on the bus and on `blackstart/event`: things that happened, not state. */

export const EVENT_TYPES = [
  'power_lost',
  'power_restored',
  'low_battery',
  /** On battery for less than on_battery_delay: reported, not treated as an outage. */
  'power_blip',
  'ups_comm_lost',
  'ups_comm_restored',
  'host_shutdown_started',
  'host_shutdown_done',
  'host_shutdown_failed',
  'host_wake_started',
  'host_up',
  'host_unreachable',
  'escalation',
  'plan_over_budget',
  'command_failed',
  /** The orchestrator's own steps: a plan started (trigger and reason), a restore began or ended. */
  'shutdown_started',
  'shutdown_finished',
  'restore_started',
  'restore_finished',
  'host_restore_failed',
  'service_check_failed',
  'remediation',
  'ups_off_sent',
  'outage_aborted',
  /** A planned outage is coming (sent `announce_before` its shutdown), starting, or over. */
  'planned_outage_announced',
  'planned_outage_started',
  /** A guest on a hypervisor host stopped (off or saved) or started running. */
  'vm_stopped',
  'vm_started',
  /** An outage could not stop or start a guest. */
  'vm_stop_failed',
  'vm_start_failed',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface BlackstartEvent {
  type: EventType;
  /** Epoch ms. */
  at: number;
  ups?: string;
  host?: string;
  /** A guest of `host`, for guest events. */
  vm?: string;
  message?: string;
  /** Extra facts for this event type (snake_cased on MQTT). */
  detail?: Record<string, unknown>;
}
