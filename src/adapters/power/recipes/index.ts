/** Built-in recipes, selected in config by `recipe: <name>`. */
import type { Recipe } from '../http-recipe';
import { terastation } from './terastation';

export const BUILTIN_RECIPES: Readonly<Record<string, Recipe>> = { terastation };

export const BUILTIN_RECIPE_NAMES = Object.keys(BUILTIN_RECIPES) as readonly string[];
