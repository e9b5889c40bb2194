/**
 * A host's `shutdown: { http: {...} }` section: the base URL, a built-in `recipe` or the user's own
 * `steps`, and the credentials the recipe's `${username}` and `${password}` stand for.
 */
import { z } from 'zod';
import { duration, section, sectionWithSecrets } from '../../config/fields';
import type { Logger } from '../../core/logger';
import { checkRecipe, HttpRecipeMethod, type Recipe, type RecipeStep } from './http-recipe';
import { BUILTIN_RECIPES, BUILTIN_RECIPE_NAMES } from './recipes';

/** YAML turns `gPage: 1` into a number; a form field is text either way. */
const text = z.union([z.string(), z.number(), z.boolean()]).transform(String);

const stepSchema = section({
  name: z.string().min(1).optional(),
  method: z
    .string()
    .transform((m) => m.toUpperCase())
    .pipe(z.enum(['GET', 'POST'], { error: 'method is GET or POST' })),
  url: z
    .string()
    .min(1)
    .refine((u) => !/^[a-z][a-z0-9+.-]*:/i.test(u), 'a path relative to the base url, such as /cgi-bin/top.cgi'),
  form: z.record(z.string().min(1), text).optional(),
  headers: z
    .record(z.string(), z.string())
    .superRefine((headers, ctx) => {
      for (const k of Object.keys(headers)) if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(k)) ctx.addIssue({ code: 'custom', path: [k], message: 'not an HTTP header name' });
    })
    .optional(),
  expect: section({
    status: z.array(z.number().int().min(100).max(599)).min(1).optional(),
    contains: z.string().min(1).optional(),
    not_contains: z.string().min(1).optional(),
  }).optional(),
  extract: z.record(z.string(), z.string().min(1)).optional(),
  fail_if: z.string().min(1).optional(),
  safe: z.boolean().default(false),
});

export const httpShutdownSchema = sectionWithSecrets(
  {
    /** Base URL the step URLs are relative to: http://nas.lan/ or https://192.168.1.5:8443/ */
    url: z.string().superRefine((u, ctx) => {
      let parsed: URL;
      try {
        parsed = new URL(u);
      } catch {
        ctx.addIssue({ code: 'custom', message: 'a URL such as http://nas.lan/' });
        return;
      }
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') ctx.addIssue({ code: 'custom', message: `http or https, not ${parsed.protocol}` });
      if (parsed.username || parsed.password) ctx.addIssue({ code: 'custom', message: 'no credentials in the URL: use username and password_env or password_file' });
    }),
    recipe: z
      .string()
      .superRefine((r, ctx) => {
        if (!BUILTIN_RECIPE_NAMES.includes(r)) ctx.addIssue({ code: 'custom', message: `unknown recipe "${r}" (built in: ${BUILTIN_RECIPE_NAMES.join(', ')})` });
      })
      .optional(),
    steps: z
      .array(stepSchema)
      .min(1)
      .transform((steps) => steps.map((s, i): RecipeStep & { safe: boolean } => ({ ...s, name: s.name ?? `step ${i + 1}` })))
      .optional(),
    username: z.string().min(1).optional(),
    /** Per step, redirects included. */
    timeout: duration({ min: 100 }).prefault('10s'),
    /** Accept a self-signed certificate (most NAS ship one); the connection is then encrypted but not authenticated. */
    insecure: z.boolean().default(false),
  },
  ['password'],
).superRefine((c, ctx) => {
  if ((c.recipe === undefined) === (c.steps === undefined)) {
    ctx.addIssue({ code: 'custom', path: ['recipe'], message: `give either recipe (built in: ${BUILTIN_RECIPE_NAMES.join(', ')}) or your own steps, not ${c.recipe ? 'both' : 'neither'}` });
    return;
  }
  const given = { username: c.username !== undefined, password: c.password !== undefined };
  if (c.recipe !== undefined) {
    for (const issue of checkRecipe((BUILTIN_RECIPES[c.recipe] as Recipe).steps, given)) {
      const needs = /no (username|password) is configured/.exec(issue.message)?.[1];
      if (needs) ctx.addIssue({ code: 'custom', path: [needs], message: `recipe ${c.recipe} needs ${needs === 'password' ? 'password_env or password_file' : 'username'}` });
    }
    return;
  }
  const steps = c.steps ?? [];
  const seen = new Set<string>();
  steps.forEach((s, i) => {
    if (seen.has(s.name)) ctx.addIssue({ code: 'custom', path: ['steps', i, 'name'], message: `step name "${s.name}" is used twice` });
    seen.add(s.name);
  });
  for (const issue of checkRecipe(steps, given)) ctx.addIssue({ code: 'custom', path: ['steps', ...issue.path], message: issue.message });
});

export type HttpShutdownConfig = z.output<typeof httpShutdownSchema>;

/** The recipe a config section names or spells out. */
export function recipeOf(cfg: HttpShutdownConfig): Recipe {
  if (cfg.recipe !== undefined) return BUILTIN_RECIPES[cfg.recipe] as Recipe;
  return { name: 'custom', steps: cfg.steps ?? [] };
}

export function createHttpShutdown(cfg: HttpShutdownConfig, deps: { log?: Logger } = {}): HttpRecipeMethod {
  return new HttpRecipeMethod({
    url: cfg.url,
    recipe: recipeOf(cfg),
    ...(cfg.username !== undefined ? { username: cfg.username } : {}),
    ...(cfg.password !== undefined ? { password: cfg.password.secret } : {}),
    timeoutMs: cfg.timeout,
    insecure: cfg.insecure,
    ...(deps.log ? { log: deps.log } : {}),
  });
}
