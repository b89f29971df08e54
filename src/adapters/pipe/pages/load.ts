/**
 * The pipe's HTML pages, loaded at the first request for one: an idle `burrow pipe serve` does not
 * hold their modules (about 1.3 MiB of RSS, bench/idle-memory.ts). A page then answers at once.
 */
import type { Page } from './page.js';

const LOADERS = {
  index: async () => (await import('./index-page.js')).indexPage,
  noscript: async () => (await import('./noscript-page.js')).noscriptPage,
  help: async () => (await import('./help-page.js')).helpPage,
  dashboard: async () => (await import('./dashboard-page.js')).dashboardPage,
  video: async () => (await import('./video-page.js')).videoPage,
} satisfies Record<string, () => Promise<Page>>;

export type PageName = keyof typeof LOADERS;

export function loadPage(name: PageName): Promise<Page> {
  return LOADERS[name]();
}
