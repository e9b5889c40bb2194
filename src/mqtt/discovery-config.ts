/** `homeassistant:`: publish Home Assistant MQTT discovery configs for every UPS and host. */
import { z } from 'zod';
import { section } from '../config/fields';
import { DEVICE_ID } from '../core/state';

export const homeAssistantSchema = section({
  /** false publishes nothing and removes the configs an earlier run left on the broker. */
  discovery: z.boolean().default(true),
  /** Home Assistant's discovery prefix. */
  prefix: z
    .string()
    .regex(/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/, 'segments of letters, digits, "_" and "-" separated by "/", no wildcards')
    .default('homeassistant'),
  /** UPS or host ids to keep out of Home Assistant. */
  exclude: z.array(z.string().regex(DEVICE_ID, 'a UPS or host id')).default([]),
});

export type HomeAssistantConfig = z.output<typeof homeAssistantSchema>;
