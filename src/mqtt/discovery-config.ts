/** `homeassistant:`: publish Home Assistant MQTT discovery configs for every UPS and host. */
import { z } from 'zod';
import { section } from '../config/fields';

export const homeAssistantSchema = section({
  discovery: z.boolean().default(true),
  /** Home Assistant's discovery prefix. */
  prefix: z
    .string()
    .regex(/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/, 'segments of letters, digits, "_" and "-" separated by "/", no wildcards')
    .default('homeassistant'),
});

export type HomeAssistantConfig = z.output<typeof homeAssistantSchema>;
