/** Shutdown methods: what the registry and the CLI import. */
export type { ShutdownMethod, ShutdownOutcome, ShutdownRunOptions, ShutdownStep } from './method';
export { HttpRecipeMethod, checkRecipe, type HttpRecipeOptions, type Recipe, type RecipeStep } from './http-recipe';
export { httpShutdownSchema, createHttpShutdown, recipeOf, type HttpShutdownConfig } from './http-recipe-config';
export { BUILTIN_RECIPES, BUILTIN_RECIPE_NAMES } from './recipes';
export { CommandMethod, type CommandOptions } from './command';
export { commandShutdownSchema, createCommandShutdown, type CommandShutdownConfig } from './command-config';
