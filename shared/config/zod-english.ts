import { en } from 'zod/locales';
import { config } from 'zod/mini';

/**
 * zod/mini (functions and checks instead of methods: the bundles carry only what is used) registers no
 * locale, so every built-in message would read "Invalid input"; classic zod registers English on first
 * use unless a locale is set. Same here, for every module that imports this one beside zod/mini.
 */
if (!config().localeError) config(en());
