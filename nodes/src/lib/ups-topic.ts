/** Which event a UPS status change is, as the ups node's msg.topic. */
import { isOnBattery, type UpsStatus } from 'blackstart';

export type UpsTopic = 'on_battery' | 'restored' | 'low_battery' | 'comm_lost' | UpsStatus;

export function upsTopic(previous: UpsStatus | undefined, next: UpsStatus): UpsTopic {
  if (next === 'online' && previous !== undefined && isOnBattery(previous)) return 'restored';
  return next;
}
